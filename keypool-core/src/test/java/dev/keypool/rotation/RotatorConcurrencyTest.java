package dev.keypool.rotation;

import static dev.keypool.rotation.Pool.openAi;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keypool.config.KeyId;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.config.SecretDigest;
import dev.keypool.config.SelectionStrategy;
import dev.keypool.config.WindowLimits;
import dev.keypool.event.KeyEvent;
import dev.keypool.failure.Failure;
import dev.keypool.failure.FailureKind;
import dev.keypool.testing.AdmissionLedger;
import dev.keypool.testing.ManualClock;
import dev.keypool.usage.DayWindow;
import dev.keypool.usage.InMemoryUsageStore;
import dev.keypool.usage.KeyFingerprint;
import dev.keypool.usage.KeyState;
import dev.keypool.usage.KeyUsage;
import dev.keypool.usage.ReserveResult;
import dev.keypool.usage.Ticket;
import dev.keypool.usage.UsageStore;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Eight threads acquire, commit, release, fail, abandon and fail over through the rotator against
 * three keys with small limits, while maintenance and admin resets run among them and the clock
 * crosses midnight. Every grant is recorded where the store makes it, and the checker proves no
 * over-admission and no leak.
 *
 * <p>Workers move in phases: after each phase a barrier moves the clock one step, and a worker
 * settles what it acquired in an earlier phase before the next step. So a held reservation is at
 * most one step old when it is settled, far inside its timeout, and only the abandoned ones expire,
 * however the threads are scheduled. The run is bounded by a number of operations and asserts
 * nothing about timing.
 */
class RotatorConcurrencyTest {

    private static final int WORKERS = 8;
    private static final int PHASES = 200;
    private static final int OPERATIONS_PER_PHASE = 12;
    private static final Duration STEP = Duration.ofMillis(1_500);
    private static final Duration RESERVATION_TIMEOUT = Duration.ofSeconds(10);
    private static final long MAX_REQUEST = 250;
    private static final Map<KeyId, WindowLimits> LIMITS = Map.of(
            openAi(0), WindowLimits.of(1_000, 2_500),
            openAi(1), WindowLimits.of(700, 1_800),
            openAi(2), WindowLimits.of(1_500, 3_500));

    private final AdmissionLedger ledger = new AdmissionLedger();
    private final Queue<String> anomalies = new ConcurrentLinkedQueue<>();
    private final Map<NoAvailableKeyException.Reason, AtomicLong> refusals = new java.util.concurrent.ConcurrentHashMap<>();
    private final AtomicLong abandoned = new AtomicLong();

    @ParameterizedTest
    @EnumSource(SelectionStrategy.class)
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void interleavedAcquiresCommitsReleasesFailuresAndExpiries_neverOverAdmit_andLeakNothing(
            SelectionStrategy strategy) throws Exception {
        // Given three small keys, and a clock 200 s before midnight
        KeypoolConfig.Builder config = KeypoolConfig.builder()
                .selectionStrategy(strategy)
                .reservationTimeout(RESERVATION_TIMEOUT)
                .rateLimitCooldown(Duration.ofSeconds(2))
                .serverErrorCooldown(Duration.ofSeconds(1));
        for (int i = 0; i < 3; i++) {
            config.addKey(Provider.OPENAI, "sk-proj-TEST.concurrent-key" + i, i == 0 ? "gpt-4o" : null, LIMITS.get(openAi(i)));
        }
        ManualClock clock = new ManualClock(Instant.parse("2026-01-15T23:56:40Z"));
        UsageStore store = new RecordingStore(new InMemoryUsageStore());
        Pool pool = new Pool(config.build(), store, clock);

        // When the workers run
        run(pool);
        // and every abandoned reservation has passed its timeout
        clock.advance(RESERVATION_TIMEOUT);
        pool.manager.maintain();

        // Then the run did what it was meant to
        assertThat(anomalies).isEmpty();
        assertThat(clock.instant()).isAfter(Instant.parse("2026-01-16T00:00:00Z"));
        assertThat(abandoned.get()).as("abandoned reservations").isPositive();
        assertThat(refusals).containsKeys(NoAvailableKeyException.Reason.NO_HEADROOM);
        assertThat(pool.events(KeyEvent.KeyCooledDown.class)).isNotEmpty();
        assertThat(pool.events(KeyEvent.ReservationReleased.class)).anyMatch(KeyEvent.ReservationReleased::expired);
        // no 60 s span and no day kept more than a key's limits
        ledger.assertNoOverAdmission(LIMITS, ZoneOffset.UTC);
        // every reservation was settled exactly once
        assertThat(store.pendingCount()).isZero();
        assertThat(pool.events(KeyEvent.KeyAcquired.class)).hasSize(ledger.size());
        assertThat(pool.events(KeyEvent.UsageCommitted.class).size()
                + pool.events(KeyEvent.ReservationReleased.class).size()).isEqualTo(ledger.size());
        // and the windows hold exactly the committed usage: nothing leaked
        long now = clock.millis();
        DayWindow day = DayWindow.at(now, ZoneOffset.UTC);
        for (KeyId key : LIMITS.keySet()) {
            KeyUsage usage = store.usage(key, now, day);
            assertThat(usage.minuteTokens()).as("minute of %s", key)
                    .isEqualTo(ledger.expectedMinuteTokens(key, now, InMemoryUsageStore.DEFAULT_BUCKET_MILLIS));
            assertThat(usage.dayTokens()).as("day of %s", key).isEqualTo(ledger.expectedDayTokens(key, day));
        }
    }

    private void run(Pool pool) throws Exception {
        CyclicBarrier phases = new CyclicBarrier(WORKERS, () -> pool.clock.advance(STEP));
        ExecutorService executor = Executors.newFixedThreadPool(WORKERS);
        try {
            List<Future<?>> workers = new ArrayList<>();
            for (int w = 0; w < WORKERS; w++) {
                long seed = 0xC0FFEEL * (w + 1);
                workers.add(executor.submit(() -> {
                    work(pool, new SplittableRandom(seed), phases);
                    return null;
                }));
            }
            for (Future<?> worker : workers) {
                worker.get();
            }
        } finally {
            executor.shutdownNow();
        }
    }

    /** A reservation a worker holds, and the phase it was acquired in. */
    private record Held(Reservation reservation, int phase) {
    }

    private void work(Pool pool, SplittableRandom random, CyclicBarrier phases) throws Exception {
        Deque<Held> held = new ArrayDeque<>();
        for (int phase = 0; phase < PHASES; phase++) {
            for (int op = 0; op < OPERATIONS_PER_PHASE; op++) {
                operate(pool, random, held, phase);
                if (!held.isEmpty() && random.nextInt(3) == 0) {
                    settle(held.removeFirst().reservation(), random);
                }
            }
            // what was acquired in an earlier phase is settled before the clock moves again, so a
            // held reservation lives at most one step, far inside its timeout
            while (!held.isEmpty() && held.peekFirst().phase() < phase) {
                settle(held.removeFirst().reservation(), random);
            }
            phases.await();
        }
        while (!held.isEmpty()) {
            settle(held.removeFirst().reservation(), random);
        }
    }

    private void operate(Pool pool, SplittableRandom random, Deque<Held> held, int phase) {
        int dice = random.nextInt(1_000);
        if (dice < 20) {
            pool.manager.maintain();
            return;
        }
        if (dice < 22) {
            pool.manager.resetAll();
            return;
        }
        long tokens = 1 + random.nextLong(MAX_REQUEST);
        String model = random.nextInt(4) == 0 ? "gpt-4o" : null;
        try {
            if (dice < 200) {
                pool.rotator.executeWithFallback(Provider.OPENAI, reservation -> {
                    if (random.nextInt(10) == 0) {
                        throw new RuntimeException("429 Too Many Requests, try again in 1.5s");
                    }
                    long used = random.nextLong(reservation.tokens() + 1);
                    reservation.reportUsage(TokenUsage.of(used / 2, used - used / 2));
                    return null;
                }, tokens, model);
                return;
            }
            Reservation reservation = pool.rotator.acquire(Provider.OPENAI, model, tokens);
            if (random.nextInt(40) == 0) {
                abandoned.incrementAndGet(); // a caller that crashed: only the timeout brings these back
                return;
            }
            held.addLast(new Held(reservation, phase));
        } catch (NoAvailableKeyException e) {
            refusals.computeIfAbsent(e.reason(), r -> new AtomicLong()).incrementAndGet();
        }
    }

    private static void settle(Reservation reservation, SplittableRandom random) {
        int dice = random.nextInt(100);
        if (dice < 70) {
            long used = random.nextLong(reservation.tokens() + 1);
            reservation.commit(TokenUsage.of(used / 3, used - used / 3));
        } else if (dice < 85) {
            reservation.release();
        } else if (dice < 97) {
            reservation.fail(random.nextBoolean()
                    ? new Failure(FailureKind.RATE_LIMITED, Duration.ofMillis(500 + random.nextInt(2_500)), "429")
                    : Failure.of(FailureKind.SERVER_ERROR, "503"));
        } else {
            reservation.fail(Failure.of(FailureKind.QUOTA_EXHAUSTED, "insufficient_quota"));
        }
    }

    /** The in-memory store, noting every grant and the tokens it finally kept. */
    private final class RecordingStore implements UsageStore {

        private final UsageStore delegate;

        RecordingStore(UsageStore delegate) {
            this.delegate = delegate;
        }

        @Override
        public void register(Map<KeyId, SecretDigest> keys) {
            delegate.register(keys);
        }

        @Override
        public KeyFingerprint fingerprint(KeyId key) {
            return delegate.fingerprint(key);
        }

        @Override
        public ReserveResult reserve(KeyId key, WindowLimits limits, long tokens, long nowMillis, DayWindow day,
                long expiresMillis) {
            return delegate.reserve(key, limits, tokens, nowMillis, day, expiresMillis);
        }

        @Override
        public boolean settle(Ticket ticket, long actualTokens, long nowMillis, DayWindow day) {
            boolean pending = delegate.settle(ticket, actualTokens, nowMillis, day);
            if (pending) {
                ledger.record(ticket, actualTokens, nowMillis);
            } else {
                anomalies.add("settled after it expired: " + ticket);
            }
            return pending;
        }

        @Override
        public KeyUsage usage(KeyId key, long nowMillis, DayWindow day) {
            return delegate.usage(key, nowMillis, day);
        }

        @Override
        public List<KeyUsage> usages(List<KeyId> keys, long nowMillis, DayWindow day) {
            return delegate.usages(keys, nowMillis, day);
        }

        @Override
        public KeyState state(KeyId key) {
            return delegate.state(key);
        }

        @Override
        public void setState(KeyId key, KeyState state) {
            delegate.setState(key, state);
        }

        @Override
        public boolean compareAndSetState(KeyId key, KeyState expected, KeyState next) {
            return delegate.compareAndSetState(key, expected, next);
        }

        @Override
        public List<Ticket> releaseExpired(long nowMillis, DayWindow day) {
            List<Ticket> released = delegate.releaseExpired(nowMillis, day);
            released.forEach(ticket -> ledger.record(ticket, ticket.tokens(), nowMillis));
            return released;
        }

        @Override
        public int pendingCount() {
            return delegate.pendingCount();
        }
    }
}
