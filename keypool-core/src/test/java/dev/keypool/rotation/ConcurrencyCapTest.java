package dev.keypool.rotation;

import static dev.keypool.rotation.Pool.openAi;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.keypool.config.KeyConfig;
import dev.keypool.config.KeyId;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.config.SelectionStrategy;
import dev.keypool.config.WindowLimits;
import dev.keypool.event.KeyEvent;
import dev.keypool.failure.Failure;
import dev.keypool.failure.FailureKind;
import dev.keypool.usage.DayWindow;
import dev.keypool.usage.DenialReason;
import java.time.ZoneOffset;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Issue 14: {@code {P}_MAX_CONCURRENT_i}, a per-key cap on requests in flight. */
class ConcurrencyCapTest {

    private static Pool pool(int cap0, int cap1, SelectionStrategy strategy) {
        return new Pool(KeypoolConfig.builder()
                .addKey(Provider.OPENAI, Pool.KEY_1, null, WindowLimits.NONE, cap0, 1)
                .addKey(Provider.OPENAI, Pool.KEY_2, null, WindowLimits.NONE, cap1, 1)
                .selectionStrategy(strategy)
                .build());
    }

    @ParameterizedTest
    @EnumSource(SelectionStrategy.class)
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void manyThreads_neverHoldMoreThanTheCapInFlight_andGiveEverySlotBack(SelectionStrategy strategy) throws Exception {
        Pool pool = pool(3, 3, strategy);
        int threads = 32;
        int rounds = 300;
        Map<KeyId, AtomicInteger> ledger = new ConcurrentHashMap<>();
        Map<KeyId, AtomicInteger> maxSeen = new ConcurrentHashMap<>();
        for (int i = 0; i < 2; i++) {
            ledger.put(openAi(i), new AtomicInteger());
            maxSeen.put(openAi(i), new AtomicInteger());
        }
        AtomicLong served = new AtomicLong();
        AtomicLong refusedAtCap = new AtomicLong();
        CyclicBarrier start = new CyclicBarrier(threads);
        ExecutorService executor = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int worker = t;
                futures.add(executor.submit(() -> {
                    start.await();
                    for (int round = 0; round < rounds; round++) {
                        Reservation reservation;
                        try {
                            reservation = pool.rotator.acquire(Provider.OPENAI, null, 10);
                        } catch (NoAvailableKeyException refused) {
                            assertThat(refused.reason()).isEqualTo(NoAvailableKeyException.Reason.NO_HEADROOM);
                            refusedAtCap.incrementAndGet();
                            Thread.onSpinWait();
                            continue;
                        }
                        AtomicInteger held = ledger.get(reservation.keyId());
                        int now = held.incrementAndGet();
                        maxSeen.get(reservation.keyId()).accumulateAndGet(now, Math::max);
                        Thread.yield();
                        held.decrementAndGet();
                        switch ((worker + round) % 4) {
                            case 0 -> reservation.commit(10);
                            case 1 -> reservation.release();
                            case 2 -> reservation.fail(new Failure(FailureKind.CLIENT_ERROR, null, "client error"));
                            default -> reservation.close();
                        }
                        served.incrementAndGet();
                    }
                    return null;
                }));
            }
            for (Future<?> future : futures) {
                future.get(50, TimeUnit.SECONDS);
            }
        } finally {
            executor.shutdownNow();
        }

        assertThat(maxSeen.get(openAi(0)).get()).as("key 0's most in flight").isBetween(1, 3);
        assertThat(maxSeen.get(openAi(1)).get()).as("key 1's most in flight").isBetween(1, 3);
        assertThat(served.get() + refusedAtCap.get()).isEqualTo((long) threads * rounds);
        assertThat(pool.manager.requestsInFlight(openAi(0))).as("every slot back").isZero();
        assertThat(pool.manager.requestsInFlight(openAi(1))).as("every slot back").isZero();
        assertThat(pool.manager.store().pendingCount()).isZero();
    }

    @Test
    void aKeyAtItsCap_isSkipped_andTheNextKeyServes() {
        Pool pool = pool(1, 1, SelectionStrategy.FILL_FIRST);

        Reservation first = pool.rotator.acquire(Provider.OPENAI, null, 10);
        Reservation second = pool.rotator.acquire(Provider.OPENAI, null, 10);

        assertThat(first.keyId()).isEqualTo(openAi(0));
        assertThat(second.keyId()).as("key 0 is at its cap").isEqualTo(openAi(1));
        assertThat(pool.manager.status(openAi(0)).requestsInFlight()).isEqualTo(1);
        assertThat(pool.manager.status(openAi(0)).maxConcurrent()).isEqualTo(1);

        first.commit(10);
        assertThat(pool.rotator.acquire(Provider.OPENAI, null, 10).keyId()).as("its slot is free again")
                .isEqualTo(openAi(0));
    }

    @Test
    void everyKeyAtItsCap_isRefusedWithAShortRetry_sayingWhy() {
        Pool pool = pool(1, 2, SelectionStrategy.LEAST_USED);
        for (int i = 0; i < 3; i++) {
            pool.rotator.acquire(Provider.OPENAI, null, 10);
        }

        NoAvailableKeyException refusal = catchThrowableOfType(NoAvailableKeyException.class,
                () -> pool.rotator.acquire(Provider.OPENAI, null, 10));

        assertThat(refusal.reason()).isEqualTo(NoAvailableKeyException.Reason.NO_HEADROOM);
        assertThat(refusal.retryAtMillis()).isEqualTo(pool.now() + 1_000);
        assertThat(refusal).hasMessageContaining("2 at concurrency cap");
        assertThat(pool.events(KeyEvent.PoolExhausted.class)).singleElement()
                .extracting(KeyEvent.PoolExhausted::reason).isEqualTo(DenialReason.AT_CONCURRENCY_CAP);
        assertThat(pool.manager.requestsInFlight(openAi(0))).isEqualTo(1);
        assertThat(pool.manager.requestsInFlight(openAi(1))).isEqualTo(2);
    }

    @Test
    void aKeyWithoutACap_countsItsRequestsInFlight_andIsNeverRefusedForThem() {
        Pool pool = new Pool(Pool.threeOpenAiKeys(WindowLimits.NONE).selectionStrategy(SelectionStrategy.FILL_FIRST)
                .build());
        List<Reservation> held = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            held.add(pool.rotator.acquire(Provider.OPENAI, null, 1));
        }
        assertThat(held).extracting(Reservation::keyId).containsOnly(openAi(0));
        assertThat(pool.manager.status(openAi(0)).requestsInFlight()).isEqualTo(50);
        assertThat(pool.manager.status(openAi(0)).maxConcurrent()).as("uncapped").isNull();
        held.forEach(Reservation::release);
        assertThat(pool.manager.requestsInFlight(openAi(0))).isZero();
    }

    @Test
    void aSlotTheStoreRefusesTokensFor_isGivenBack() {
        Pool pool = new Pool(KeypoolConfig.builder()
                .addKey(Provider.OPENAI, Pool.KEY_1, null, WindowLimits.of(100, 1_000), 1, 1)
                .build());

        catchThrowableOfType(NoAvailableKeyException.class, () -> pool.rotator.acquire(Provider.OPENAI, null, 500));

        assertThat(pool.manager.requestsInFlight(openAi(0))).isZero();
        assertThat(pool.rotator.acquire(Provider.OPENAI, null, 50).keyId()).isEqualTo(openAi(0));
    }

    // ---- every settle path frees the slot exactly once ------------------------------------------

    @Test
    void commit_freesTheSlotOnce() {
        Pool pool = pool(1, 1, SelectionStrategy.FILL_FIRST);
        Reservation reservation = pool.rotator.acquire(Provider.OPENAI, null, 10);
        reservation.commit(10);
        reservation.commit(10);
        reservation.release();
        assertThat(pool.manager.requestsInFlight(openAi(0))).isZero();
    }

    @Test
    void release_freesTheSlotOnce() {
        Pool pool = pool(1, 1, SelectionStrategy.FILL_FIRST);
        Reservation reservation = pool.rotator.acquire(Provider.OPENAI, null, 10);
        reservation.release();
        reservation.close();
        assertThat(pool.manager.requestsInFlight(openAi(0))).isZero();
    }

    @Test
    void fail_freesTheSlotOnce() {
        Pool pool = pool(1, 1, SelectionStrategy.FILL_FIRST);
        Reservation reservation = pool.rotator.acquire(Provider.OPENAI, null, 10);
        reservation.fail(new Failure(FailureKind.RATE_LIMITED, null, "slow down"));
        reservation.fail(new Failure(FailureKind.RATE_LIMITED, null, "slow down"));
        assertThat(pool.manager.requestsInFlight(openAi(0))).isZero();
    }

    @Test
    void anErrorInExecuteWithFallback_freesTheSlot() {
        Pool pool = pool(1, 1, SelectionStrategy.FILL_FIRST);
        catchThrowableOfType(AssertionError.class, () -> pool.rotator.executeWithFallback("openai", reservation -> {
            throw new AssertionError("the operation broke");
        }, 10, null));
        assertThat(pool.manager.requestsInFlight(openAi(0))).isZero();
        assertThat(pool.manager.requestsInFlight(openAi(1))).isZero();
    }

    @Test
    void aFailoverInExecuteWithFallback_freesEachKeysSlot() {
        Pool pool = pool(1, 1, SelectionStrategy.FILL_FIRST);
        String answer = pool.rotator.executeWithFallback("openai", reservation -> {
            assertThat(pool.manager.requestsInFlight(reservation.keyId())).isEqualTo(1);
            if (reservation.index() == 0) {
                throw new RuntimeException("HTTP 429 Too Many Requests: rate limit");
            }
            return "ok";
        }, 10, null);
        assertThat(answer).isEqualTo("ok");
        assertThat(pool.manager.requestsInFlight(openAi(0))).isZero();
        assertThat(pool.manager.requestsInFlight(openAi(1))).isZero();
    }

    @Test
    void anExpiredReservation_freesItsSlot_andItsLateSettlingFreesNothingMore() {
        Pool pool = new Pool(KeypoolConfig.builder()
                .addKey(Provider.OPENAI, Pool.KEY_1, null, WindowLimits.NONE, 1, 1)
                .reservationTimeout(Duration.ofSeconds(30))
                .build());
        Reservation abandoned = pool.rotator.acquire(Provider.OPENAI, null, 10);

        pool.clock.advance(Duration.ofSeconds(31));
        pool.manager.maintain();

        assertThat(pool.manager.requestsInFlight(openAi(0))).isZero();
        Reservation next = pool.rotator.acquire(Provider.OPENAI, null, 10);
        abandoned.commit(10);
        assertThat(pool.manager.requestsInFlight(openAi(0))).as("the late commit frees no one else's slot")
                .isEqualTo(1);
        next.release();
        assertThat(pool.manager.requestsInFlight(openAi(0))).isZero();
    }

    @Test
    void anExpiredReservationTheStoreReleasedElsewhere_stillFreesItsSlotHere() {
        Pool pool = new Pool(KeypoolConfig.builder()
                .addKey(Provider.OPENAI, Pool.KEY_1, null, WindowLimits.NONE, 1, 1)
                .reservationTimeout(Duration.ofSeconds(30))
                .build());
        pool.rotator.acquire(Provider.OPENAI, null, 10);
        pool.clock.advance(Duration.ofSeconds(31));
        // As another instance sharing a Redis would: its sweep hands this process nothing back.
        assertThat(pool.manager.store().releaseExpired(pool.now(), DayWindow.at(pool.now(), ZoneOffset.UTC))).hasSize(1);

        pool.manager.maintain();

        assertThat(pool.manager.requestsInFlight(openAi(0))).isZero();
        assertThat(pool.rotator.acquire(Provider.OPENAI, null, 10).keyId()).isEqualTo(openAi(0));
    }

    @Test
    void keyConfig_refusesANegativeCapAndANonPositiveWeight() {
        assertThat(catchThrowableOfType(IllegalArgumentException.class,
                () -> new KeyConfig(openAi(0), "sk-x", null, WindowLimits.NONE, -1, 1))).isNotNull();
        assertThat(catchThrowableOfType(IllegalArgumentException.class,
                () -> new KeyConfig(openAi(0), "sk-x", null, WindowLimits.NONE, 0, 0))).isNotNull();
    }
}
