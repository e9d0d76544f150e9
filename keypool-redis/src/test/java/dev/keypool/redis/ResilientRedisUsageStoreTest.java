package dev.keypool.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.keypool.config.KeyId;
import dev.keypool.config.Provider;
import dev.keypool.config.WindowLimits;
import dev.keypool.failure.FailureKind;
import dev.keypool.redis.testing.RedisServer;
import dev.keypool.testing.ManualClock;
import dev.keypool.usage.UsageStoreContract;
import dev.keypool.usage.DayWindow;
import dev.keypool.usage.DenialReason;
import dev.keypool.usage.KeyState;
import dev.keypool.usage.ReserveResult;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Two instances' stores on a Redis of this test's own, which it stops in the middle of traffic and
 * starts again (empty, as a Redis without persistence comes back): no call fails for lack of Redis,
 * each instance admits at most its share meanwhile, and Redis gets the outage's usage afterwards.
 */
class ResilientRedisUsageStoreTest {

    static final KeyId KEY = KeyId.of(Provider.OPENAI, 0);
    static final WindowLimits LIMITS = WindowLimits.of(1_000, 10_000);

    private final ManualClock clock = ManualClock.atNoonish();
    private RedisServer server;
    private ResilientRedisUsageStore a;
    private ResilientRedisUsageStore b;

    @BeforeEach
    void start() {
        server = RedisServer.start();
        a = instance();
        b = instance();
    }

    @AfterEach
    void stop() {
        a.close();
        b.close();
        server.close();
    }

    private ResilientRedisUsageStore instance() {
        ResilientRedisUsageStore store = new ResilientRedisUsageStore(new RedisUsageStore(server.url(),
                RedisStoreConfig.custom().clock(clock).commandTimeout(Duration.ofMillis(500)).build()), 2);
        store.register(UsageStoreContract.registeredKeys(KEY));
        return store;
    }

    private DayWindow day() {
        return DayWindow.at(clock.millis(), ZoneOffset.UTC);
    }

    private ReserveResult reserve(ResilientRedisUsageStore store, long tokens) {
        return store.reserve(KEY, LIMITS, tokens, clock.millis(), day(), clock.millis() + 60_000);
    }

    /** Reserves and settles {@code tokens} at a time until refused; returns the tokens admitted. */
    private long spend(ResilientRedisUsageStore store, long tokens) {
        long admitted = 0;
        for (int i = 0; i < 100; i++) {
            ReserveResult result = reserve(store, tokens);
            if (!(result instanceof ReserveResult.Granted granted)) {
                assertThat(((ReserveResult.Denied) result).reason()).isEqualTo(DenialReason.MINUTE_LIMIT);
                return admitted;
            }
            store.settle(granted.ticket(), tokens, clock.millis(), day());
            admitted += tokens;
        }
        throw new AssertionError("never refused");
    }

    @Test
    void redisStoppedMidTraffic_eachInstanceSpendsOnlyItsShare_andRedisGetsTheOutagesUsage() {
        // Before the outage: 300 tokens through Redis, which both instances have seen.
        for (ResilientRedisUsageStore store : List.of(a, b, a)) {
            ReserveResult.Granted granted = (ReserveResult.Granted) reserve(store, 100);
            store.settle(granted.ticket(), 100, clock.millis(), day());
        }
        assertThat(a.usage(KEY, clock.millis(), day()).dayTokens()).isEqualTo(300);
        assertThat(b.usage(KEY, clock.millis(), day()).dayTokens()).isEqualTo(300);

        server.stop();

        // Each instance takes half of what was left of the minute, and no call throws.
        long spentByA = spend(a, 50);
        long spentByB = spend(b, 50);
        assertThat(a.degraded()).isTrue();
        assertThat(b.degraded()).isTrue();
        assertThat(spentByA).isEqualTo((1_000 - 300) / 2 / 50 * 50);
        assertThat(spentByB).isEqualTo((1_000 - 300) / 2 / 50 * 50);
        assertThat(300 + spentByA + spentByB).isLessThanOrEqualTo(LIMITS.perMinute());
        assertThat(a.pendingCount()).isZero();

        server.restart();
        clock.advance(Duration.ofMillis(ResilientRedisUsageStore.PROBE_MILLIS));

        // The next calls find Redis again, after handing it the outage's usage.
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            a.usage(KEY, clock.millis(), day());
            b.usage(KEY, clock.millis(), day());
            clock.advance(Duration.ofMillis(ResilientRedisUsageStore.PROBE_MILLIS));
            return !a.degraded() && !b.degraded();
        });
        // Redis came back empty: it has what was spent during the outage, not what it lost itself.
        assertThat(a.redis().usage(KEY, clock.millis(), day()).dayTokens()).isEqualTo(spentByA + spentByB);
        assertThat(b.usage(KEY, clock.millis(), day()).dayTokens()).isEqualTo(spentByA + spentByB);
    }

    @Test
    void settlementOfARedisTicketDuringTheOutage_doesNotFailAndIsReplayedWhenRedisReturns() {
        ReserveResult.Granted granted = (ReserveResult.Granted) reserve(a, 400);
        server.stop();
        assertThat(a.settle(granted.ticket(), 150, clock.millis(), day())).isTrue();
        assertThat(a.degraded()).isTrue();
        assertThat(a.usage(KEY, clock.millis(), day()).dayTokens()).isZero();

        server.restart();
        clock.advance(Duration.ofMillis(ResilientRedisUsageStore.PROBE_MILLIS));
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            a.usage(KEY, clock.millis(), day());
            clock.advance(Duration.ofMillis(ResilientRedisUsageStore.PROBE_MILLIS));
            return !a.degraded();
        });

        // The ticket and its day went with Redis's data: the replayed settlement has nothing to adjust,
        // and a new reservation counts from zero (Redis loses what it lost, no more).
        assertThat(a.pendingCount()).isZero();
        ReserveResult.Granted next = (ReserveResult.Granted) reserve(a, 100);
        a.settle(next.ticket(), 100, clock.millis(), day());
        assertThat(a.usage(KEY, clock.millis(), day()).dayTokens()).isEqualTo(100);
    }

    @Test
    void keyDeactivatedInRedis_staysOutDuringTheOutage() {
        a.setState(KEY, KeyState.deactivated(FailureKind.INVALID_KEY, "invalid", KeyState.NEVER));
        assertThat(a.usage(KEY, clock.millis(), day()).state().status()).isEqualTo(dev.keypool.usage.KeyStatus.DEACTIVATED);
        server.stop();

        ReserveResult result = reserve(a, 10);

        assertThat(a.degraded()).isTrue();
        assertThat(result).isInstanceOfSatisfying(ReserveResult.Denied.class,
                denied -> assertThat(denied.reason()).isEqualTo(DenialReason.DEACTIVATED));
    }
}
