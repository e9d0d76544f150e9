package dev.keypool.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.config.WindowLimits;
import dev.keypool.providers.fake.FakeOpenAi;
import dev.keypool.redis.ResilientRedisUsageStore;
import dev.keypool.redis.testing.RedisServer;
import dev.keypool.testing.ManualClock;
import java.net.URI;
import java.net.http.HttpRequest;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.core.ThrowingRunnable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A gateway on a Redis of this test's own, which goes away in the middle of traffic and comes back
 * empty: requests keep being served, {@code /health} and the status say the instance is degraded,
 * it goes back to Redis by itself, and Redis's lost data counts as spent. And a gateway started
 * while Redis is down starts, degraded.
 *
 * <p>The gateway runs on a clock of the test's own (issue 13: on the system clock a run that crossed
 * UTC midnight found the day restarted). The store probes Redis at most once per
 * {@link ResilientRedisUsageStore#PROBE_MILLIS} of that clock, so the test moves it a probe interval
 * at a time while it waits for the store to come back, never as far as a minute.
 */
class RedisOutageTest {

    private RedisServer redis;
    private FakeOpenAi openAi;
    private TestGateway gateway;
    private final ManualClock clock = ManualClock.atNoonish();

    @BeforeEach
    void start() {
        redis = RedisServer.start();
        openAi = FakeOpenAi.start();
        gateway = TestGateway.start(TestGateway.openAiOnly(openAi)
                .addKey(Provider.OPENAI, "sk-proj-TEST.outage-test-aaaaaaaa-key0", "gpt-4o", WindowLimits.of(100_000, 1_000_000))
                .setting("KEYPOOL_REDIS_URL", redis.url())
                .build(), clock);
    }

    @AfterEach
    void stop() {
        gateway.close();
        openAi.close();
        redis.close();
    }

    @Test
    void redisGoingAway_degradesTheInstanceWithoutFailingRequests_andItComesBack() {
        assertThat(chat()).isEqualTo(200);

        redis.stop();
        for (int i = 0; i < 5; i++) {
            assertThat(chat()).isEqualTo(200);
        }
        JsonNode health = TestGateway.json(gateway.get("/health"));
        assertThat(health.path("status").asText()).isEqualTo("DEGRADED");
        assertThat(health.at("/checks/store/degraded").asBoolean()).isTrue();
        assertThat(gateway.status().at("/store/degraded").asBoolean()).isTrue();

        redis.restart();
        awaitProbing(() -> assertThat(gateway.status().at("/store/degraded").asBoolean()).isFalse());
        // Redis came back empty: the day restarts from what the instance last saw (the first call,
        // as reserved or as committed) and the outage's 5 calls of 18 tokens are added to it.
        assertThat(gateway.status().at("/providers/openai/keys/0/tokens_used_day").asLong())
                .isBetween(6L * 18, 6L * 18 + 18);
        // and the lost minute counts as spent: the window does not silently reopen.
        assertThat(chat()).isEqualTo(429);
        assertThat(gateway.status().at("/providers/openai/keys/0/minute_usage_percent").asDouble()).isEqualTo(100.0);
    }

    /** Issue 11: Redis down at start-up made the gateway exit, so a gateway restarted during an outage stayed down. */
    @Test
    void redisDownAtStartUp_theGatewayStartsDegraded_andJoinsRedisWhenItComesUp() {
        redis.stop();
        KeypoolConfig config = TestGateway.openAiOnly(openAi)
                .addKey(Provider.OPENAI, "sk-proj-TEST.outage-test-bbbbbbbb-key1", "gpt-4o", WindowLimits.of(100_000,
                        WindowLimits.UNLIMITED))
                .setting("KEYPOOL_REDIS_URL", redis.url())
                .build();
        try (TestGateway late = TestGateway.start(config, clock)) {
            JsonNode health = TestGateway.json(late.get("/health"));
            assertThat(health.path("status").asText()).isEqualTo("DEGRADED");
            assertThat(health.at("/checks/store/problem").asText()).contains("since it started");
            assertThat(late.status().at("/store/degraded").asBoolean()).isTrue();

            redis.restart();
            awaitProbing(() -> assertThat(TestGateway.json(late.get("/health")).path("status").asText()).isEqualTo("UP"));
            assertThat(late.status().at("/providers/openai/keys/0/key_id").asText()).hasSize(32);
        }
    }

    /**
     * Waits for {@code outcome}, moving the clock one probe interval per poll so the store may probe
     * again; at most 20 intervals (20 s of the gateway's time), so the minute never turns meanwhile.
     */
    private void awaitProbing(ThrowingRunnable outcome) {
        AtomicInteger probes = new AtomicInteger();
        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
            if (probes.getAndIncrement() < 20) {
                clock.advanceMillis(ResilientRedisUsageStore.PROBE_MILLIS);
            }
            outcome.run();
        });
    }

    private int chat() {
        return gateway.send(HttpRequest.newBuilder(URI.create(gateway.url("/v1/chat/completions")))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"gpt-4o\",\"max_tokens\":8,"
                        + "\"messages\":[{\"role\":\"user\",\"content\":\"Say this is a test!\"}]}"))).statusCode();
    }
}
