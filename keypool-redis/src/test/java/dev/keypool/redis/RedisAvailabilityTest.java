package dev.keypool.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.keypool.config.KeyId;
import dev.keypool.config.Provider;
import dev.keypool.config.WindowLimits;
import dev.keypool.redis.testing.RedisServer;
import dev.keypool.redis.testing.RedisServerExtension;
import dev.keypool.usage.DayWindow;
import dev.keypool.usage.DenialReason;
import dev.keypool.usage.KeyUsage;
import dev.keypool.usage.ReserveResult;
import dev.keypool.usage.Ticket;
import dev.keypool.usage.UsageStoreContract;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The store when Redis forgets its scripts, goes away and comes back: it says so at once with
 * {@link RedisUnavailableException}, and serves again by itself.
 */
class RedisAvailabilityTest {

    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();

    private static final AtomicInteger STORES = new AtomicInteger();
    private static final KeyId KEY = KeyId.of(Provider.OPENAI, 0);
    private static final long NOW = Instant.parse("2026-01-15T10:00:00Z").toEpochMilli();
    private static final DayWindow DAY = DayWindow.at(NOW, ZoneOffset.UTC);

    private static RedisStoreConfig config() {
        return RedisStoreConfig.custom().prefix("availability-" + STORES.incrementAndGet()).build();
    }

    private static RedisUsageStore registered(RedisUsageStore store) {
        store.register(UsageStoreContract.registeredKeys(KEY));
        return store;
    }

    private static ReserveResult reserve(RedisUsageStore store, long tokens) {
        return store.reserve(KEY, WindowLimits.of(1_000, 10_000), tokens, NOW, DAY, NOW + 60_000);
    }

    @Test
    void scripts_areSentInFull_whenRedisHasForgottenThem() {
        RedisClient client = RedisClient.create(REDIS.server().url());
        try (StatefulRedisConnection<String, String> admin = client.connect();
                RedisUsageStore store = registered(new RedisUsageStore(client, config()))) {
            Ticket ticket = ((ReserveResult.Granted) reserve(store, 100)).ticket();

            admin.sync().scriptFlush();

            assertThat(store.settle(ticket, 40, NOW, DAY)).isTrue();
            assertThat(reserve(store, 10)).isInstanceOf(ReserveResult.Granted.class);
            assertThat(store.usage(KEY, NOW, DAY).minuteTokens()).isEqualTo(50);
        } finally {
            client.shutdown();
        }
    }

    @Test
    void urlConstructor_connects_andServes() {
        try (RedisUsageStore store = registered(new RedisUsageStore(REDIS.server().url(), config()))) {
            assertThat(store.isConnected()).isTrue();
            assertThat(reserve(store, 100)).isInstanceOf(ReserveResult.Granted.class);
        }
    }

    @Test
    void redisStopped_everyCallFailsFastWithRedisUnavailable_andServesAgainOnceRedisIsBack() {
        try (RedisServer own = RedisServer.start();
                RedisUsageStore store = registered(new RedisUsageStore(own.url(), config()))) {
            assertThat(reserve(store, 100)).isInstanceOf(ReserveResult.Granted.class);

            own.stop();

            await().atMost(Duration.ofSeconds(5)).until(() -> !store.isConnected());
            // refused at once, not after the command timeout: the refusal says why, never "did not answer within"
            assertThatThrownBy(() -> reserve(store, 100)).isInstanceOf(RedisUnavailableException.class)
                    .hasMessageNotContaining("did not answer");
            assertThatThrownBy(() -> store.usage(KEY, NOW, DAY)).isInstanceOf(RedisUnavailableException.class)
                    .hasMessageNotContaining("did not answer");
            assertThatThrownBy(() -> store.releaseExpired(NOW, DAY)).isInstanceOf(RedisUnavailableException.class)
                    .hasMessageNotContaining("did not answer");

            own.restart();

            // A restarted Redis without persistence is empty: its scripts too, which EVAL puts back, and
            // the data, whose lost interval counts as spent: the minute is full for a minute.
            await().atMost(Duration.ofSeconds(10)).ignoreExceptionsInstanceOf(RedisUnavailableException.class)
                    .until(() -> reserve(store, 100) instanceof ReserveResult.Denied denied
                            && denied.reason() == DenialReason.MINUTE_LIMIT);
            KeyUsage usage = store.usage(KEY, NOW, DAY);
            assertThat(usage.minuteFullUntilMillis()).isGreaterThan(NOW);
            assertThat(usage.dayTokens()).as("the day restarts from what the store last saw").isEqualTo(100);
        }
    }

    /** Issue 11: Redis down at start-up made the gateway exit; the store now starts, and says Redis is away. */
    @Test
    void connectingToNothing_buildsTheStore_andCallsThrowRedisUnavailable_withoutEchoingThePassword() throws Exception {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = socket.getLocalPort();
        }

        try (RedisUsageStore store = new RedisUsageStore("redis://:s3cret-pass@127.0.0.1:" + closedPort, config())) {
            store.register(UsageStoreContract.registeredKeys(KEY));
            assertThat(store.isConnected()).isFalse();
            assertThat(store.fingerprint(KEY)).as("not named before Redis is reached").isNull();
            assertThatThrownBy(store::ping)
                    .isInstanceOf(RedisUnavailableException.class)
                    .hasMessageContaining("127.0.0.1:" + closedPort)
                    .hasMessageNotContaining("s3cret-pass");
            assertThatThrownBy(() -> reserve(store, 1)).isInstanceOf(RedisUnavailableException.class)
                    .hasMessageNotContaining("s3cret-pass");
        }
    }

    @Test
    void malformedUrl_isRefused_withoutEchoingIt() {
        assertThatThrownBy(() -> new RedisUsageStore("http://user:s3cret-pass@host", config()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("redisUrl")
                .hasMessageNotContaining("s3cret-pass");
        assertThatThrownBy(() -> new RedisUsageStore(" ", config()))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
