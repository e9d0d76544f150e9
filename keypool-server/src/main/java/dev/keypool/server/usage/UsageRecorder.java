package dev.keypool.server.usage;

import dev.keypool.config.Provider;
import dev.keypool.event.KeyEvent;
import dev.keypool.event.KeyEventListener;
import dev.keypool.redis.RedisCounters;
import dev.keypool.rotation.ApiKeyManager;
import dev.keypool.usage.DayWindow;
import dev.keypool.usage.Periodic;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneId;
import java.util.HashMap;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
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
    private final Periodic flusher;
    private final AtomicBoolean ledgerFailing = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile DayWindow day;

    /** A recorder whose history ends with the process (demo mode, and tests). */
    public UsageRecorder(ApiKeyManager manager) {
        this(manager, LocalUsageLedger.inMemory(), null);
    }

    /** A recorder whose history ends with the process, flushing on {@code scheduler} (the process's one). */
    public static UsageRecorder inMemory(ApiKeyManager manager, ScheduledExecutorService scheduler) {
        return new UsageRecorder(manager, LocalUsageLedger.inMemory(), scheduler);
    }

    /** @param scheduler the process's one scheduler, or {@code null} for a thread of the recorder's own */
    private UsageRecorder(ApiKeyManager manager, UsageLedger ledger, ScheduledExecutorService scheduler) {
        this.manager = manager;
        this.clock = manager.clock();
        this.zone = manager.config().dayZone();
        this.ledger = ledger;
        this.day = DayWindow.at(clock.millis(), zone);
        refreshView();
        this.flusher = Periodic.every(FLUSH_INTERVAL, "keypool-usage-history", scheduler, this::flushQuietly);
    }

    /**
     * A recorder whose history is kept in {@code dataDir} and continues after a restart.
     *
     * @throws dev.keypool.usage.StoreCorruptedException when the saved history cannot be read back
     */
    public static UsageRecorder durable(ApiKeyManager manager, Path dataDir, ScheduledExecutorService scheduler) {
        return new UsageRecorder(manager, LocalUsageLedger.open(dataDir), scheduler);
    }

    /** A recorder whose history is shared by every instance on {@code counters}' Redis; it closes them. */
    public static UsageRecorder shared(ApiKeyManager manager, RedisCounters counters,
            ScheduledExecutorService scheduler) {
        return new UsageRecorder(manager, new RedisUsageLedger(counters), scheduler);
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
    public UsageTotals keyTotals(Provider provider, int index) {
        UsageCell cell = new UsageCell(UsageCell.Scope.TOTAL, 0, provider, index);
        view.readLock().lock();
        try {
            long[] counts = new long[UsageCell.FIELDS];
            Counters.addTo(counts, flushedView.get(cell));
            Counters local = unflushed.get(cell);
            if (local != null) {
                Counters.addTo(counts, local.sums());
            }
            return UsageTotals.of(counts);
        } finally {
            view.readLock().unlock();
        }
    }

    /** A provider's totals (its keys' sums), for the status view. */
    public UsageTotals totals(Provider provider) {
        return UsageTotals.of(viewSum(provider, UsageCell.Scope.TOTAL, 0));
    }

    /** Tokens a provider used today, in the pool's day zone. */
    public long tokensToday(Provider provider) {
        UsageTotals today = UsageTotals.of(viewSum(provider, UsageCell.Scope.DAY, day(clock.millis())));
        return today.totalTokens();
    }

    /** The usage report of the admin API. */
    public synchronized UsageReport report() {
        long now = clock.millis();
        long currentMinute = minute(now);
        long firstMinute = currentMinute - (REPORTED_MINUTES - 1) * MINUTE;
        long today = day(now);
        return UsageReports.assemble(manager, now, firstMinute, today,
                read(UsageCell.Scope.TOTAL, 0, 0),
                read(UsageCell.Scope.MINUTE, firstMinute, currentMinute),
                read(UsageCell.Scope.DAY, today - RETAINED_DAYS + 1, today));
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
                if (Counters.nonZero(delta)) {
                    batch.put(entry.getKey(), delta);
                    if (entry.getKey().scope() == UsageCell.Scope.TOTAL || entry.getKey().scope() == UsageCell.Scope.DAY) {
                        Counters.addTo(flushedView.computeIfAbsent(entry.getKey(), c -> new long[UsageCell.FIELDS]), delta);
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
        flusher.close();
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
                Counters.addTo(cells.computeIfAbsent(cell, c -> new long[UsageCell.FIELDS]), entry.getValue().sums());
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
                    Counters.addTo(counts, values);
                }
            });
            unflushed.forEach((cell, local) -> {
                if (cell.provider() == provider && cell.scope() == scope && cell.start() == start) {
                    Counters.addTo(counts, local.sums());
                }
            });
        } finally {
            view.readLock().unlock();
        }
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
}
