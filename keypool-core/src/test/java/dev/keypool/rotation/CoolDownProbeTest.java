package dev.keypool.rotation;

import static dev.keypool.rotation.Pool.openAi;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keypool.config.KeyId;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.config.WindowLimits;
import dev.keypool.event.KeyEvent;
import dev.keypool.failure.Failure;
import dev.keypool.failure.FailureKind;
import dev.keypool.usage.KeyStatus;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 11: a key returning from a cool-down was hit by a herd of up to 20 requests at once. Now
 * the first request after the rest is the key's probe (half-open); the others skip the key until
 * the probe succeeds (or, if it fails, the key cools again). The herd is twenty threads let go
 * together at the moment the rest ends, on a manual clock.
 */
class CoolDownProbeTest {

    private static final int HERD = 20;

    private final Pool pool = new Pool(Pool.threeOpenAiKeys(WindowLimits.NONE).build());
    private final ExecutorService threads = Executors.newFixedThreadPool(HERD);

    @AfterEach
    void stop() {
        threads.shutdownNow();
    }

    /** Cools key 0 for 30 s and moves the clock to the end of its rest. */
    private void coolKeyZeroAndWaitItOut() {
        Reservation first = pool.rotator.acquire(Provider.OPENAI, null, 10);
        assertThat(first.keyId()).isEqualTo(openAi(0));
        first.fail(new Failure(FailureKind.RATE_LIMITED, Duration.ofSeconds(30), "429"));
        pool.clock.advance(Duration.ofSeconds(30));
    }

    /** Twenty requests at once, each holding its reservation; returns them (or null for a refusal). */
    private List<Reservation> herd() throws Exception {
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Reservation>> calls = new ArrayList<>();
        for (int i = 0; i < HERD; i++) {
            Callable<Reservation> call = () -> {
                go.await();
                try {
                    return pool.rotator.acquire(Provider.OPENAI, null, 10);
                } catch (NoAvailableKeyException e) {
                    return null;
                }
            };
            calls.add(threads.submit(call));
        }
        go.countDown();
        List<Reservation> reservations = new ArrayList<>();
        for (Future<Reservation> call : calls) {
            reservations.add(call.get(30, TimeUnit.SECONDS));
        }
        return reservations;
    }

    private static long on(List<Reservation> reservations, KeyId key) {
        return reservations.stream().filter(r -> r != null && r.keyId().equals(key)).count();
    }

    @Test
    @Timeout(60)
    void keyBackFromACoolDown_getsOneProbeOutOfAHerd_andEveryoneOnceTheProbeSucceeds() throws Exception {
        coolKeyZeroAndWaitItOut();

        List<Reservation> herd = herd();

        assertThat(on(herd, openAi(0))).as("requests sent on the key just back").isEqualTo(1);
        Reservation probe = herd.stream().filter(r -> r != null && r.keyId().equals(openAi(0))).findFirst()
                .orElseThrow();
        assertThat(probe.isProbe()).isTrue();
        assertThat(herd).filteredOn(r -> r != null && r != probe).allSatisfy(r -> assertThat(r.isProbe()).isFalse());
        herd.forEach(r -> {
            if (r != null && r != probe) {
                r.commit(10);
            }
        });

        probe.commit(10);

        assertThat(pool.manager.status(openAi(0)).status()).isEqualTo(KeyStatus.ACTIVE);
        assertThat(pool.events(KeyEvent.KeyReactivated.class)).singleElement()
                .satisfies(event -> assertThat(event.key()).isEqualTo(openAi(0)));
        List<Reservation> next = herd();
        assertThat(on(next, openAi(0))).as("back for everyone").isGreaterThan(1);
        assertThat(next).allSatisfy(r -> assertThat(r.isProbe()).isFalse());
    }

    @Test
    @Timeout(60)
    void probeThatFailsAgain_coolsTheKeyAgain_andTheHerdStillSkipsIt() throws Exception {
        coolKeyZeroAndWaitItOut();
        Reservation probe = pool.rotator.acquire(Provider.OPENAI, null, 10);
        assertThat(probe.keyId()).isEqualTo(openAi(0));
        assertThat(probe.isProbe()).isTrue();

        probe.fail(new Failure(FailureKind.RATE_LIMITED, Duration.ofSeconds(60), "429 again"));

        assertThat(pool.manager.status(openAi(0)).availableAtMillis()).isEqualTo(pool.now() + 60_000);
        assertThat(on(herd(), openAi(0))).isZero();
    }

    @Test
    void probeReleasedWithoutAnAnswer_letsTheNextRequestProbeAtOnce() {
        coolKeyZeroAndWaitItOut();
        Reservation probe = pool.rotator.acquire(Provider.OPENAI, null, 10);
        assertThat(probe.isProbe()).isTrue();

        probe.release();

        Reservation next = pool.rotator.acquire(Provider.OPENAI, null, 10);
        assertThat(next.keyId()).isEqualTo(openAi(0));
        assertThat(next.isProbe()).isTrue();
    }

    @Test
    void probeAnsweredWithAClientError_provesTheKeyWorks() {
        coolKeyZeroAndWaitItOut();
        Reservation probe = pool.rotator.acquire(Provider.OPENAI, null, 10);

        probe.fail(Failure.of(FailureKind.CLIENT_ERROR, "400 bad request"));

        assertThat(pool.manager.store().state(openAi(0)).status()).isEqualTo(KeyStatus.ACTIVE);
    }

    @Test
    void probeNobodySettles_keepsTheKeyForTheProbesLengthOnly() {
        KeypoolConfig one = KeypoolConfig.builder()
                .addKey(Provider.OPENAI, Pool.KEY_1, null, WindowLimits.NONE).build();
        Pool single = new Pool(one);
        single.rotator.acquire(Provider.OPENAI, null, 10)
                .fail(new Failure(FailureKind.SERVER_ERROR, Duration.ofSeconds(5), "503"));
        single.clock.advance(Duration.ofSeconds(5));
        Reservation abandoned = single.rotator.acquire(Provider.OPENAI, null, 10);
        assertThat(abandoned.isProbe()).isTrue();

        NoAvailableKeyException refused = org.assertj.core.api.Assertions.catchThrowableOfType(
                NoAvailableKeyException.class, () -> single.rotator.acquire(Provider.OPENAI, null, 10));
        assertThat(refused.reason()).isEqualTo(NoAvailableKeyException.Reason.ALL_COOLING_DOWN);

        single.clock.advance(Duration.ofMillis(dev.keypool.usage.UsageStore.PROBE_MILLIS));
        assertThat(single.rotator.acquire(Provider.OPENAI, null, 10).isProbe()).isTrue();
    }
}
