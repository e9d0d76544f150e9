package dev.keypool.server.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.turbo.TurboFilter;
import ch.qos.logback.core.spi.FilterReply;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Marker;
import org.slf4j.MarkerFactory;
import org.slf4j.helpers.MessageFormatter;

/**
 * Repeated warnings, aggregated: the first WARN or ERROR of a kind is logged as it comes; the next
 * ones within the period are counted, and once the period is over one line says how many there were
 * and shows the last: {@code 10234 more like this in the last 10 s; the last: No openai key can take
 * …}. At most one line per kind per period follows the first, however fast they come: a flood of
 * refused requests (each a {@code pool_exhausted} warning) wrote a million lines in 90 seconds.
 *
 * <p>A kind is the logger, the message's pattern and its first argument (the key or the provider in
 * keypool's own messages, so that two keys failing are two kinds); in a message without arguments
 * (what libraries log through the platform logger) runs of digits count as one, so that socket ids
 * do not make every line a kind of its own. Past {@value #MAX_KINDS} kinds the first argument is left
 * out. Lines below WARN are never held back.
 *
 * <p>Configured in {@code logback.xml}; its timer ({@link #flush()} every second) writes the count of
 * a run that stopped. Time comes from a ticker, which tests replace.
 */
public final class RepeatedWarningFilter extends TurboFilter {

    /** The summaries' own marker: they pass untouched. */
    static final Marker SUMMARY = MarkerFactory.getMarker("KEYPOOL_REPEATED");

    /** Kinds tracked with their first argument; beyond, kinds are logger and pattern only. */
    static final int MAX_KINDS = 1024;

    /** What {@link Run#offer} returns for an occurrence held back. */
    private static final Summary HELD_BACK = new Summary(null, null, 0, 0, null);

    private final LongSupplier ticker;
    private final boolean timed;
    private final Map<Kind, Run> runs = new ConcurrentHashMap<>();
    private volatile long periodNanos = TimeUnit.SECONDS.toNanos(10);
    private ScheduledExecutorService timer;

    /** What {@code logback.xml} creates: real time, and a timer once started. */
    public RepeatedWarningFilter() {
        this(System::nanoTime, true);
    }

    /** With the given ticker (nanoseconds) and no timer: the caller calls {@link #flush()}. */
    public RepeatedWarningFilter(LongSupplier ticker) {
        this(ticker, false);
    }

    private RepeatedWarningFilter(LongSupplier ticker, boolean timed) {
        this.ticker = ticker;
        this.timed = timed;
    }

    /** The period ({@code <periodSeconds>} in {@code logback.xml}); 10 by default. */
    public void setPeriodSeconds(int seconds) {
        if (seconds <= 0) {
            throw new IllegalArgumentException("periodSeconds must be positive, was " + seconds);
        }
        this.periodNanos = TimeUnit.SECONDS.toNanos(seconds);
    }

    @Override
    public void start() {
        if (!timed || timer != null) {
            super.start();
            return;
        }
        timer = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "keypool-log-repeats");
            thread.setDaemon(true);
            return thread;
        });
        timer.scheduleWithFixedDelay(this::flush, 1, 1, TimeUnit.SECONDS);
        super.start();
    }

    @Override
    public void stop() {
        if (timer != null) {
            timer.shutdownNow();
            timer = null;
        }
        flush();
        super.stop();
    }

    @Override
    public FilterReply decide(Marker marker, Logger logger, Level level, String format, Object[] params, Throwable t) {
        if (level == null || !level.isGreaterOrEqual(Level.WARN) || marker == SUMMARY || format == null
                || !logger.isEnabledFor(level)) {
            return FilterReply.NEUTRAL;
        }
        Object first = params == null || params.length == 0 ? null : params[0];
        Kind kind = new Kind(logger.getName(), first == null ? numbersFolded(format) : format,
                runs.size() < MAX_KINDS && first != null ? String.valueOf(first) : null);
        Run run = runs.computeIfAbsent(kind, k -> new Run(logger, level));
        Summary summary = run.offer(ticker.getAsLong(), periodNanos, format, params);
        if (summary == null) {
            return FilterReply.NEUTRAL;
        }
        summary.log();
        return FilterReply.DENY;
    }

    /**
     * Writes what is held back and forgets every run, so that the next warning of each kind is
     * logged as it comes: what a reconfiguration wants, and a test that must not inherit the window
     * an earlier one opened in the same process.
     */
    public void forget() {
        long now = ticker.getAsLong();
        List<Summary> held = new ArrayList<>();
        runs.values().forEach(run -> {
            Summary summary = run.closeIfDue(now, 0);
            if (summary != null) {
                held.add(summary);
            }
        });
        runs.clear();
        held.forEach(Summary::log);
    }

    /**
     * Writes the count of every run whose period is over, and forgets runs that have been quiet for
     * two periods.
     */
    public void flush() {
        long now = ticker.getAsLong();
        List<Summary> due = new ArrayList<>();
        runs.entrySet().removeIf(entry -> {
            Run run = entry.getValue();
            Summary summary = run.closeIfDue(now, periodNanos);
            if (summary != null && summary.count() > 0) {
                due.add(summary);
            }
            return run.quietSince(now, 2 * periodNanos);
        });
        due.forEach(Summary::log);
    }

    /**
     * A message without arguments, its numbers folded ({@code 0x2298b461} and {@code 8080} both
     * become {@code #}), so that socket ids and counts inside it do not split a kind.
     */
    static String numbersFolded(String message) {
        StringBuilder folded = new StringBuilder(message.length());
        int i = 0;
        while (i < message.length()) {
            char c = message.charAt(i);
            if (!isDigit(c)) {
                folded.append(c);
                i++;
                continue;
            }
            boolean hex = c == '0' && i + 2 < message.length() && (message.charAt(i + 1) | 0x20) == 'x'
                    && isHexDigit(message.charAt(i + 2));
            i += hex ? 2 : 1;
            while (i < message.length() && (hex ? isHexDigit(message.charAt(i)) : isDigit(message.charAt(i)))) {
                i++;
            }
            folded.append('#');
        }
        return folded.toString();
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private static boolean isHexDigit(char c) {
        return isDigit(c) || (c | 0x20) >= 'a' && (c | 0x20) <= 'f';
    }

    private record Kind(String logger, String pattern, String firstArgument) {
    }

    /** What one line says about the occurrences held back. */
    private record Summary(Logger logger, Level level, long count, long seconds, String last) {

        void log() {
            if (count == 0) {
                return;
            }
            String message = "{} more like this in the last {} s; the last: {}";
            if (level.isGreaterOrEqual(Level.ERROR)) {
                logger.error(SUMMARY, message, count, seconds, last);
            } else {
                logger.warn(SUMMARY, message, count, seconds, last);
            }
        }
    }

    /**
     * One kind's occurrences since its window opened: the window opens with an occurrence that is
     * logged, and holds back the others until it is a period old.
     */
    private static final class Run {

        private static final long NEVER = Long.MIN_VALUE;

        private final Logger logger;
        private final Level level;
        private long windowStart = NEVER;
        private long heldBack;
        private String lastFormat;
        private Object[] lastParams;

        Run(Logger logger, Level level) {
            this.logger = logger;
            this.level = level;
        }

        /**
         * Takes one occurrence: {@code null} when it is to be logged, else a summary to log instead
         * (empty while the window is open).
         */
        synchronized Summary offer(long now, long period, String format, Object[] params) {
            if (windowStart == NEVER || heldBack == 0 && now - windowStart >= period) {
                windowStart = now;
                return null;
            }
            Summary due = now - windowStart >= period ? close(now) : null;
            heldBack++;
            lastFormat = format;
            lastParams = params;
            return due != null ? due : HELD_BACK;
        }

        synchronized Summary closeIfDue(long now, long period) {
            return heldBack > 0 && now - windowStart >= period ? close(now) : null;
        }

        synchronized boolean quietSince(long now, long quiet) {
            return heldBack == 0 && windowStart != NEVER && now - windowStart >= quiet;
        }

        private Summary close(long now) {
            Summary summary = new Summary(logger, level, heldBack, Math.max(1, TimeUnit.NANOSECONDS.toSeconds(now - windowStart)),
                    MessageFormatter.arrayFormat(lastFormat, lastParams).getMessage());
            windowStart = now;
            heldBack = 0;
            lastFormat = null;
            lastParams = null;
            return summary;
        }
    }
}
