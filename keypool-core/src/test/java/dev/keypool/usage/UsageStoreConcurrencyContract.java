package dev.keypool.usage;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keypool.config.KeyId;
import dev.keypool.config.Provider;
import dev.keypool.config.WindowLimits;
import dev.keypool.testing.AdmissionLedger;
import dev.keypool.testing.ClockSteps;
import dev.keypool.testing.ManualClock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Many threads reserve and settle against a few keys with small limits while a driver moves a
 * shared {@link ManualClock} across minutes and a midnight. Afterwards {@link AdmissionLedger}
 * checks that no 60-second span and no day kept more than a key's limits, and that the store holds
 * exactly the committed usage still in its windows, with nothing pending.
 *
 * <p>The run is bounded by a number of operations, never by time, and asserts nothing about
 * timing. A store's test extends this class like {@link UsageStoreContract}.
 *
 * <p>An operation reads the clock and calls the store between the driver's {@link ClockSteps}: the
 * threads of a step share one "now", so none is a caller whose
 * clock lags another's (a store places such a caller's tokens in the newest bucket and day it has
 * seen, which the ledger cannot know; RedisSharedInstancesTest runs lagging clocks away from
 * midnight).
 */
public abstract class UsageStoreConcurrencyContract {

    private static final ZoneId UTC = ZoneOffset.UTC;
    private static final int THREADS = 8;
    /** Operations between two clock steps, over all threads. */
    private static final int OPERATIONS_PER_STEP = 5;
    private static final long STEP_MILLIS = 200;
    private static final long MAX_REQUEST = 250;
    private static final long ABANDONED_TICKET_LIFETIME = 2_000;
    private static final List<KeyId> KEYS = List.of(
            KeyId.of(Provider.OPENAI, 0), KeyId.of(Provider.OPENAI, 1), KeyId.of(Provider.OPENAI, 2));
    /**
     * Small limits, so that both windows refuse often: the day fills well before midnight, even
     * when threads that hold their tickets open keep the minute full for a while.
     */
    private static final Map<KeyId, WindowLimits> LIMITS = Map.of(
            KEYS.get(0), WindowLimits.of(1_000, 1_500),
            // A day barely above the minute: with tickets held open the minute is often full, and a
            // day only a little larger still fills (and refuses) before midnight however threads interleave.
            KEYS.get(1), WindowLimits.of(700, 800),
            KEYS.get(2), WindowLimits.of(1_500, 2_200).withRequests(2, 3));
    /**
     * A key whose request limits bind long before its token limits: many small reservations, so
     * that requests are what the store refuses on.
     */
    private static final KeyId REQUEST_BOUND = KEYS.get(2);

    private UsageStore store;
    private ManualClock clock;
    private AdmissionLedger ledger;
    private final ClockSteps clockSteps = new ClockSteps();

    protected abstract UsageStore createStore();

    /** The width of the store's minute buckets (see {@link UsageStoreContract#bucketMillis()}). */
    protected long bucketMillis() {
        return 1_000;
    }

    /** Operations per worker thread; a store with a network round trip may want fewer. */
    protected int operationsPerThread() {
        return 4_000;
    }

    @BeforeEach
    void setUp() {
        store = createStore();
        store.register(UsageStoreContract.registeredKeys(KEYS.toArray(KeyId[]::new)));
        // ten minutes before midnight: the run crosses into the next day
        clock = new ManualClock(Instant.parse("2026-01-15T23:50:00Z"));
        ledger = new AdmissionLedger();
    }

    @AfterEach
    void tearDown() {
        store.close();
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void concurrentReserveAndSettle_neverOverAdmit_andLeaveExactlyTheCommittedUsage() throws Exception {
        run(false);

        assertRunCrossedMidnightAndRefusedOnBothWindows();
        ledger.assertNoOverAdmission(LIMITS, UTC);
        assertStoreHoldsExactlyTheLedger();
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void interleavedCommitsReleasesAndAbandonedTickets_neverOverAdmit_andLeakNothing() throws Exception {
        run(true);

        assertThat(expiredTickets.get()).as("tickets released by expiry").isPositive();
        ledger.assertNoOverAdmission(LIMITS, UTC);
        assertStoreHoldsExactlyTheLedger();
    }

    private final AtomicLong minuteDenials = new AtomicLong();
    private final AtomicLong dayDenials = new AtomicLong();
    private final AtomicLong requestMinuteDenials = new AtomicLong();
    private final AtomicLong requestDayDenials = new AtomicLong();
    private final AtomicLong expiredTickets = new AtomicLong();

    /**
     * @param interleave also release tickets, abandon some to expiry, and sweep expired ones
     *                   concurrently with the reserves
     */
    private void run(boolean interleave) throws Exception {
        int totalOperations = THREADS * operationsPerThread();
        Semaphore steps = new Semaphore(0);
        AtomicLong operations = new AtomicLong();
        ExecutorService pool = Executors.newFixedThreadPool(THREADS + 1);
        try {
            Future<?> driver = pool.submit(() -> {
                for (int step = 0; step < totalOperations / OPERATIONS_PER_STEP; step++) {
                    steps.acquire();
                    clockSteps.step(clock, STEP_MILLIS);
                    if (interleave && step % 10 == 0) {
                        clockSteps.runAt(clock::millis, now -> {
                            for (Ticket released : store.releaseExpired(now, DayWindow.at(now, UTC))) {
                                expiredTickets.incrementAndGet();
                                ledger.record(released, released.tokens(), now);
                            }
                        });
                    }
                }
                return null;
            });
            List<Future<?>> workers = new ArrayList<>();
            for (int thread = 0; thread < THREADS; thread++) {
                long seed = 0x5EED_0000L + thread;
                workers.add(pool.submit(worker(seed, interleave, operations, steps)));
            }
            for (Future<?> worker : workers) {
                worker.get();
            }
            driver.get();
        } finally {
            pool.shutdownNow();
        }
        // past the expiry of every abandoned ticket
        clock.advanceMillis(ABANDONED_TICKET_LIFETIME + 1);
        long now = clock.millis();
        for (Ticket released : store.releaseExpired(now, DayWindow.at(now, UTC))) {
            ledger.record(released, released.tokens(), now);
        }
    }

    private Callable<Void> worker(long seed, boolean interleave, AtomicLong operations, Semaphore steps) {
        return () -> {
            SplittableRandom random = new SplittableRandom(seed);
            Deque<Ticket> open = new ArrayDeque<>();
            for (int i = 0; i < operationsPerThread(); i++) {
                KeyId key = KEYS.get(random.nextInt(KEYS.size()));
                long tokens = key.equals(REQUEST_BOUND) ? 1 + random.nextLong(10) : 1 + random.nextLong(MAX_REQUEST);
                boolean abandon = interleave && random.nextInt(20) == 0;
                ReserveResult result = clockSteps.at(clock::millis, now -> {
                    // abandoned tickets expire quickly; the others long after the run, so none is settled late
                    long expires = now + (abandon ? ABANDONED_TICKET_LIFETIME : 3_600_000);
                    return store.reserve(key, LIMITS.get(key), tokens, now, DayWindow.at(now, UTC), expires);
                });
                switch (result) {
                    case ReserveResult.Granted granted -> {
                        if (!abandon) {
                            open.addLast(granted.ticket());
                        }
                    }
                    case ReserveResult.Denied denied -> {
                        if (denied.reason() == DenialReason.MINUTE_LIMIT) {
                            minuteDenials.incrementAndGet();
                        } else if (denied.reason() == DenialReason.DAY_LIMIT) {
                            dayDenials.incrementAndGet();
                        } else if (denied.reason() == DenialReason.REQUEST_MINUTE_LIMIT) {
                            requestMinuteDenials.incrementAndGet();
                        } else if (denied.reason() == DenialReason.REQUEST_DAY_LIMIT) {
                            requestDayDenials.incrementAndGet();
                        }
                    }
                }
                // hold a ticket or two open while time moves, then settle the oldest: held tokens count
                // in the minute until they are settled, so more would keep the minute full all the run
                while (open.size() > random.nextInt(3)) {
                    settle(open.removeFirst(), random, interleave);
                }
                if (operations.incrementAndGet() % OPERATIONS_PER_STEP == 0) {
                    steps.release();
                }
            }
            while (!open.isEmpty()) {
                settle(open.removeFirst(), random, interleave);
            }
            return null;
        };
    }

    private void settle(Ticket ticket, SplittableRandom random, boolean interleave) {
        long actual = interleave && random.nextInt(4) == 0 ? 0 : random.nextLong(ticket.tokens() + 1);
        clockSteps.runAt(clock::millis, now -> {
            boolean wasPending = store.settle(ticket, actual, now, DayWindow.at(now, UTC));
            assertThat(wasPending).as("a ticket settled before its expiry").isTrue();
            ledger.record(ticket, actual, now);
        });
    }

    private void assertRunCrossedMidnightAndRefusedOnBothWindows() {
        assertThat(clock.instant()).as("the clock crossed midnight").isAfter(Instant.parse("2026-01-16T00:05:00Z"));
        assertThat(minuteDenials.get()).as("minute refusals").isPositive();
        assertThat(dayDenials.get()).as("day refusals").isPositive();
        assertThat(requestMinuteDenials.get()).as("request minute refusals").isPositive();
        assertThat(requestDayDenials.get()).as("request day refusals (minute: %s, tokens %s/%s, requests granted %s)",
                requestMinuteDenials.get(), minuteDenials.get(), dayDenials.get(),
                ledger.where(g -> g.ticket().key().equals(REQUEST_BOUND)).size()).isPositive();
    }

    private void assertStoreHoldsExactlyTheLedger() {
        assertThat(store.pendingCount()).as("tickets pending").isZero();
        long now = clock.millis();
        DayWindow day = DayWindow.at(now, UTC);
        for (KeyId key : KEYS) {
            KeyUsage usage = store.usage(key, now, day);
            assertThat(usage.minuteTokens()).as("minute tokens of %s", key)
                    .isEqualTo(ledger.expectedMinuteTokens(key, now, bucketMillis()));
            assertThat(usage.dayTokens()).as("day tokens of %s", key)
                    .isEqualTo(ledger.expectedDayTokens(key, day));
            assertThat(usage.minuteRequests()).as("minute requests of %s", key)
                    .isEqualTo(ledger.expectedMinuteRequests(key, now, bucketMillis()));
            assertThat(usage.dayRequests()).as("day requests of %s", key)
                    .isEqualTo(ledger.expectedDayRequests(key, day));
        }
    }
}
