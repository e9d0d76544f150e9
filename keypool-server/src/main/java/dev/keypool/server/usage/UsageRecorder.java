package dev.keypool.server.usage;

import dev.keypool.config.KeyConfig;
import dev.keypool.config.Provider;
import dev.keypool.event.KeyEvent;
import dev.keypool.event.KeyEventListener;
import dev.keypool.failure.FailureKind;
import dev.keypool.redis.RedisCounters;
import dev.keypool.rotation.ApiKeyManager;
import dev.keypool.rotation.TokenUsage;
import dev.keypool.usage.DayWindow;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Counts what the pool did, per provider and key, from its events: requests (a key acquired for a
 * call), successes (usage committed), failures (by kind), prompt and completion tokens, requests
 * refused because every key was spent; over all time, per minute for the last
 * {@link #RETAINED_MINUTES} minutes and per day (in the pool's day zone) for the last
 * {@link #RETAINED_DAYS} days. Keyless Ollama's calls come as
 * {@link KeyEvent.KeylessCalled}.
 *
 * <h2>Design</h2>
 * Listeners run on the request's thread, so recording is three map lookups and a few
 * {@link LongAdder} increments into the counts not yet flushed. Once a second a background thread
 * moves them into the {@link UsageLedger}: the data directory's history file (so a restart
 * continues the history, losing at most that second), or Redis (so every instance's report shows
 * the whole cluster). When the ledger cannot take them (Redis away) they stay here and go with a
 * later flush. Reports read the ledger plus what is not flushed yet, under the flush's monitor, so
 * a count is never seen twice or missed; the status view reads a copy of the ledger's totals taken
 * at each flush plus the unflushed counts, without touching the ledger.
 *
 * <p>"Requests" counts attempts on keys: a request that fails over from key 0 to key 1 counts one
 * failed request on key 0 and one successful request on key 1, so a provider's numbers are
 * always the sum of its keys'.
 */
public final class UsageRecorder implements KeyEventListener, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(UsageRecorder.class);

    /** Minutes of per-minute history kept: a day, so a dashboard opened in the morning shows the night. */
    static final int RETAINED_MINUTES = 24 * 60;

    /** Days of per-day history kept: a quarter, for monthly comparisons. */
    static final int RETAINED_DAYS = 90;

    /** Minutes of history in a report. */
    public static final int REPORTED_MINUTES = 60;

    /** How often counts move to the ledger: the most of the history a crash can lose. */
    public static final Duration FLUSH_INTERVAL = Duration.ofSeconds(1);

    static final long MINUTE = 60_000;

    private final ApiKeyManager manager;
    private final Clock clock;
    private final ZoneId zone;
    private final UsageLedger ledger;
    private final Map<UsageCell, Counters> unflushed = new ConcurrentHashMap<>();
    /** Guards the hand-over from {@link #unflushed} to {@link #flushedView}. */
    private final ReadWriteLock view = new ReentrantReadWriteLock();
    /** The ledger's totals and today's rows as of the last flush, for the status view. */
    private Map<UsageCell, long[]> flushedView = new HashMap<>();
    private final ScheduledExecutorService flusher;
    private final AtomicBoolean ledgerFailing = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile DayWindow day;

    /** A recorder whose history ends with the process (demo mode, and tests). */
    public UsageRecorder(ApiKeyManager manager) {
        this(manager, LocalUsageLedger.inMemory());
    }

    private UsageRecorder(ApiKeyManager manager, UsageLedger ledger) {
        this.manager = manager;
        this.clock = manager.clock();
        this.zone = manager.config().dayZone();
        this.ledger = ledger;
        this.day = DayWindow.at(clock.millis(), zone);
        refreshView();
        this.flusher = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "keypool-usage-history");
            thread.setDaemon(true);
            return thread;
        });
        long millis = FLUSH_INTERVAL.toMillis();
        flusher.scheduleWithFixedDelay(this::flushQuietly, millis, millis, TimeUnit.MILLISECONDS);
    }

    /**
     * A recorder whose history is kept in {@code dataDir} and continues after a restart.
     *
     * @throws dev.keypool.usage.StoreCorruptedException when the saved history cannot be read back
     */
    public static UsageRecorder durable(ApiKeyManager manager, Path dataDir) {
        return new UsageRecorder(manager, LocalUsageLedger.open(dataDir));
    }

    /** A recorder whose history is shared by every instance on {@code counters}' Redis; it closes them. */
    public static UsageRecorder shared(ApiKeyManager manager, RedisCounters counters) {
        return new UsageRecorder(manager, new RedisUsageLedger(counters));
    }

    @Override
    public void onEvent(KeyEvent event) {
        switch (event) {
            case KeyEvent.KeyAcquired e -> record(e.provider(), e.key().index(), e.timeMillis(),
                    c -> c.add(UsageCell.REQUESTS, 1));
            case KeyEvent.UsageCommitted e -> record(e.provider(), e.key().index(), e.timeMillis(), c -> {
                c.add(UsageCell.SUCCESSES, 1);
                c.add(UsageCell.PROMPT_TOKENS, e.promptTokens());
                c.add(UsageCell.COMPLETION_TOKENS, e.completionTokens());
            });
            case KeyEvent.KeyFailed e -> record(e.provider(), e.key().index(), e.timeMillis(), c -> c.fail(e.kind()));
            case KeyEvent.PoolExhausted e -> record(e.provider(), UsageCell.POOL, e.timeMillis(),
                    c -> c.add(UsageCell.EXHAUSTED, 1));
            case KeyEvent.KeylessCalled e -> record(e.provider(), UsageCell.KEYLESS, e.timeMillis(), c -> {
                c.add(UsageCell.REQUESTS, 1);
                if (e.failure() != null) {
                    c.fail(e.failure());
                } else {
                    c.add(UsageCell.SUCCESSES, 1);
                    c.add(UsageCell.PROMPT_TOKENS, e.promptTokens());
                    c.add(UsageCell.COMPLETION_TOKENS, e.completionTokens());
                }
            });
            default -> {
                // Releases, cool-downs and reactivations change no counter.
            }
        }
    }

    /** One key's totals (the whole cluster's, as of the last flush, plus this instance's since). */
    public Totals keyTotals(Provider provider, int index) {
        UsageCell cell = new UsageCell(UsageCell.Scope.TOTAL, 0, provider, index);
        view.readLock().lock();
        try {
            long[] counts = new long[UsageCell.FIELDS];
            addTo(counts, flushedView.get(cell));
            Counters local = unflushed.get(cell);
            if (local != null) {
                addTo(counts, local.sums());
            }
            return Totals.of(counts);
        } finally {
            view.readLock().unlock();
        }
    }

    /** A provider's totals (its keys' sums), for the status view. */
    public Totals totals(Provider provider) {
        return Totals.of(viewSum(provider, UsageCell.Scope.TOTAL, 0));
    }

    /** Tokens a provider used today, in the pool's day zone. */
    public long tokensToday(Provider provider) {
        Totals today = Totals.of(viewSum(provider, UsageCell.Scope.DAY, day(clock.millis())));
        return today.totalTokens();
    }

    /** The usage report of the admin API. */
    public synchronized UsageReport report() {
        long now = clock.millis();
        long currentMinute = minute(now);
        long firstMinute = currentMinute - (REPORTED_MINUTES - 1) * MINUTE;
        long today = day(now);
        NavigableMap<UsageCell, long[]> totals = read(UsageCell.Scope.TOTAL, 0, 0);
        NavigableMap<UsageCell, long[]> minutes = read(UsageCell.Scope.MINUTE, firstMinute, currentMinute);
        NavigableMap<UsageCell, long[]> days = read(UsageCell.Scope.DAY, today - RETAINED_DAYS + 1, today);

        Map<String, UsageReport.ProviderUsage> providers = new LinkedHashMap<>();
        List<Provider> inUse = new ArrayList<>();
        for (Provider provider : Provider.values()) {
            List<UsageReport.KeyUsage> keys = new ArrayList<>();
            for (KeyConfig key : manager.keys(provider)) {
                Totals keyTotals = Totals.of(totals.get(new UsageCell(UsageCell.Scope.TOTAL, 0, provider, key.index())));
                keys.add(new UsageReport.KeyUsage(key.index(), key.maskedKey(), key.model(), keyTotals.requests(),
                        keyTotals.successes(), keyTotals.failures(), keyTotals.promptTokens(),
                        keyTotals.completionTokens(), keyTotals.totalTokens(), keyTotals.failuresByKind()));
            }
            long[] sum = sum(totals, provider, UsageCell.Scope.TOTAL, 0);
            Totals providerTotals = Totals.of(sum);
            providers.put(provider.id(), new UsageReport.ProviderUsage(providerTotals.requests(),
                    providerTotals.successes(), providerTotals.failures(), providerTotals.promptTokens(),
                    providerTotals.completionTokens(), providerTotals.totalTokens(), providerTotals.failuresByKind(),
                    sum[UsageCell.EXHAUSTED], keys));
            if (!manager.keys(provider).isEmpty() || totals.keySet().stream().anyMatch(c -> c.provider() == provider)) {
                inUse.add(provider);
            }
        }
        List<UsageReport.MinuteUsage> history = new ArrayList<>();
        for (long minute = firstMinute; minute <= currentMinute; minute += MINUTE) {
            String at = Instant.ofEpochMilli(minute).toString();
            for (Provider provider : inUse) {
                Totals t = Totals.of(sum(minutes, provider, UsageCell.Scope.MINUTE, minute));
                history.add(new UsageReport.MinuteUsage(at, provider.id(), t.requests(), t.successes(), t.failures(),
                        t.promptTokens(), t.completionTokens(), t.totalTokens()));
            }
        }
        List<UsageReport.DayUsage> daily = new ArrayList<>();
        for (long epochDay = today - RETAINED_DAYS + 1; epochDay <= today; epochDay++) {
            for (Provider provider : inUse) {
                long[] counts = sum(days, provider, UsageCell.Scope.DAY, epochDay);
                if (counts[UsageCell.REQUESTS] == 0 && counts[UsageCell.EXHAUSTED] == 0) {
                    continue;
                }
                Totals t = Totals.of(counts);
                daily.add(new UsageReport.DayUsage(LocalDate.ofEpochDay(epochDay).toString(), provider.id(),
                        t.requests(), t.successes(), t.failures(), t.promptTokens(), t.completionTokens(),
                        t.totalTokens()));
            }
        }
        return new UsageReport(providers, history, daily, Instant.ofEpochMilli(now).toString());
    }

    /**
     * Moves the counts recorded since the last flush into the ledger, and refreshes the status
     * view from it. When the ledger cannot take them, they stay for the next flush.
     */
    public synchronized void flush() {
        long now = clock.millis();
        long staleMinute = minute(now) - 2 * MINUTE;
        long staleDay = day(now) - 1;
        Map<UsageCell, long[]> batch = new HashMap<>();
        view.writeLock().lock();
        try {
            for (Map.Entry<UsageCell, Counters> entry : unflushed.entrySet()) {
                long[] delta = entry.getValue().drain();
                if (nonZero(delta)) {
                    batch.put(entry.getKey(), delta);
                    if (entry.getKey().scope() == UsageCell.Scope.TOTAL || entry.getKey().scope() == UsageCell.Scope.DAY) {
                        addTo(flushedView.computeIfAbsent(entry.getKey(), c -> new long[UsageCell.FIELDS]), delta);
                    }
                } else if (stale(entry.getKey(), staleMinute, staleDay)) {
                    // Recording only ever reaches the current minute and day, so nothing counts here any more.
                    unflushed.remove(entry.getKey(), entry.getValue());
                }
            }
        } finally {
            view.writeLock().unlock();
        }
        try {
            ledger.add(batch, now);
        } catch (RuntimeException e) {
            view.writeLock().lock();
            try {
                batch.forEach((cell, delta) -> {
                    unflushed.computeIfAbsent(cell, c -> new Counters()).addAll(delta);
                    long[] shown = flushedView.get(cell);
                    if (shown != null) {
                        for (int i = 0; i < shown.length; i++) {
                            shown[i] -= delta[i];
                        }
                    }
                });
            } finally {
                view.writeLock().unlock();
            }
            if (ledgerFailing.compareAndSet(false, true)) {
                LOG.warn("Cannot write the usage history ({}); keeping the counts and retrying every {} s",
                        e.getMessage(), FLUSH_INTERVAL.toSeconds());
            }
            return;
        }
        if (ledgerFailing.compareAndSet(true, false)) {
            LOG.info("The usage history is written again");
        }
        ledger.persist();
        refreshView();
    }

    /** Stops the background flushing, and flushes what is left. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        flusher.shutdownNow();
        flushQuietly();
        ledger.close();
    }

    // ---- internals --------------------------------------------------------------------------------

    private void record(Provider provider, int index, long timeMillis, Consumer<Counters> change) {
        change.accept(counters(new UsageCell(UsageCell.Scope.TOTAL, 0, provider, index)));
        change.accept(counters(new UsageCell(UsageCell.Scope.MINUTE, minute(timeMillis), provider, index)));
        change.accept(counters(new UsageCell(UsageCell.Scope.DAY, day(timeMillis), provider, index)));
    }

    private Counters counters(UsageCell cell) {
        Counters counters = unflushed.get(cell);
        return counters != null ? counters : unflushed.computeIfAbsent(cell, c -> new Counters());
    }

    /** The ledger's cells plus the unflushed ones; a ledger that cannot answer counts as the status view. */
    private NavigableMap<UsageCell, long[]> read(UsageCell.Scope scope, long from, long to) {
        NavigableMap<UsageCell, long[]> cells;
        try {
            cells = ledger.read(scope, from, to);
        } catch (RuntimeException e) {
            LOG.debug("Cannot read the usage history; reporting what this instance knows", e);
            cells = new TreeMap<>();
            view.readLock().lock();
            try {
                for (Map.Entry<UsageCell, long[]> entry : flushedView.entrySet()) {
                    if (entry.getKey().scope() == scope && entry.getKey().start() >= from && entry.getKey().start() <= to) {
                        cells.put(entry.getKey(), entry.getValue().clone());
                    }
                }
            } finally {
                view.readLock().unlock();
            }
        }
        for (Map.Entry<UsageCell, Counters> entry : unflushed.entrySet()) {
            UsageCell cell = entry.getKey();
            if (cell.scope() == scope && cell.start() >= from && cell.start() <= to) {
                addTo(cells.computeIfAbsent(cell, c -> new long[UsageCell.FIELDS]), entry.getValue().sums());
            }
        }
        return cells;
    }

    /** Totals and today's rows from the ledger, which in a cluster holds every instance's counts. */
    private void refreshView() {
        long today = day(clock.millis());
        Map<UsageCell, long[]> fresh;
        try {
            fresh = new HashMap<>(ledger.read(UsageCell.Scope.TOTAL, 0, 0));
            fresh.putAll(ledger.read(UsageCell.Scope.DAY, today, today));
        } catch (RuntimeException e) {
            LOG.debug("Cannot read the usage history; the status view keeps its last copy", e);
            return;
        }
        view.writeLock().lock();
        try {
            flushedView = fresh;
        } finally {
            view.writeLock().unlock();
        }
    }

    private long[] viewSum(Provider provider, UsageCell.Scope scope, long start) {
        long[] counts = new long[UsageCell.FIELDS];
        view.readLock().lock();
        try {
            flushedView.forEach((cell, values) -> {
                if (cell.provider() == provider && cell.scope() == scope && cell.start() == start) {
                    addTo(counts, values);
                }
            });
            unflushed.forEach((cell, local) -> {
                if (cell.provider() == provider && cell.scope() == scope && cell.start() == start) {
                    addTo(counts, local.sums());
                }
            });
        } finally {
            view.readLock().unlock();
        }
        return counts;
    }

    private static long[] sum(NavigableMap<UsageCell, long[]> cells, Provider provider, UsageCell.Scope scope,
            long start) {
        long[] counts = new long[UsageCell.FIELDS];
        cells.subMap(new UsageCell(scope, start, provider, Integer.MIN_VALUE), true,
                new UsageCell(scope, start, provider, Integer.MAX_VALUE), true).values().forEach(v -> addTo(counts, v));
        return counts;
    }

    private void flushQuietly() {
        try {
            flush();
        } catch (RuntimeException e) {
            LOG.warn("Flushing the usage history failed", e);
        }
    }

    private long day(long millis) {
        DayWindow current = day;
        if (!current.contains(millis)) {
            current = DayWindow.at(millis, zone);
            if (current.epochDay() > day.epochDay()) {
                day = current;
            }
        }
        return current.epochDay();
    }

    static long minute(long millis) {
        return Math.floorDiv(millis, MINUTE) * MINUTE;
    }

    private static boolean stale(UsageCell cell, long staleMinute, long staleDay) {
        return switch (cell.scope()) {
            case TOTAL -> false;
            case MINUTE -> cell.start() < staleMinute;
            case DAY -> cell.start() < staleDay;
        };
    }

    private static void addTo(long[] into, long[] values) {
        if (values != null) {
            for (int i = 0; i < into.length; i++) {
                into[i] += values[i];
            }
        }
    }

    private static boolean nonZero(long[] values) {
        for (long value : values) {
            if (value != 0) {
                return true;
            }
        }
        return false;
    }

    /** A snapshot of counters. */
    public record Totals(long requests, long successes, long failures, long promptTokens, long completionTokens,
            Map<String, Long> failuresByKind) {

        static final Totals ZERO = new Totals(0, 0, 0, 0, 0, Map.of());

        static Totals of(long[] counts) {
            if (counts == null) {
                return ZERO;
            }
            Map<String, Long> kinds = new LinkedHashMap<>();
            for (FailureKind kind : FailureKind.values()) {
                long count = counts[UsageCell.failed(kind)];
                if (count != 0) {
                    kinds.put(kind.id(), count);
                }
            }
            return new Totals(counts[UsageCell.REQUESTS], counts[UsageCell.SUCCESSES], counts[UsageCell.FAILURES],
                    counts[UsageCell.PROMPT_TOKENS], counts[UsageCell.COMPLETION_TOKENS], kinds);
        }

        public long totalTokens() {
            return promptTokens + completionTokens;
        }

        /** Failures per request, 0 when there were none. */
        public double errorRate() {
            return requests == 0 ? 0.0 : Math.min(1.0, (double) failures / requests);
        }
    }

    /** The counts of one cell not yet flushed. */
    private static final class Counters {
        final LongAdder[] counts = new LongAdder[UsageCell.FIELDS];

        Counters() {
            for (int i = 0; i < counts.length; i++) {
                counts[i] = new LongAdder();
            }
        }

        void add(int field, long amount) {
            if (amount != 0) {
                counts[field].add(amount);
            }
        }

        void fail(FailureKind kind) {
            counts[UsageCell.FAILURES].increment();
            counts[UsageCell.failed(kind)].increment();
        }

        void addAll(long[] amounts) {
            for (int i = 0; i < amounts.length; i++) {
                add(i, amounts[i]);
            }
        }

        long[] sums() {
            long[] sums = new long[counts.length];
            for (int i = 0; i < sums.length; i++) {
                sums[i] = counts[i].sum();
            }
            return sums;
        }

        /** The sums, leaving zero; an increment racing with it is in this drain or the next. */
        long[] drain() {
            long[] sums = new long[counts.length];
            for (int i = 0; i < sums.length; i++) {
                sums[i] = counts[i].sumThenReset();
            }
            return sums;
        }
    }
}
