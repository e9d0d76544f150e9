package dev.keypool.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.config.WindowLimits;
import dev.keypool.providers.fake.FakeOpenAi;
import dev.keypool.providers.fake.FakeUpstream;
import dev.keypool.redis.testing.RedisServer;
import java.net.URI;
import java.net.http.HttpRequest;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A gateway on a Redis of this test's own, which goes away in the middle of traffic and comes back:
 * requests keep being served, {@code /health} and the status say the instance is degraded, and it
 * goes back to Redis by itself.
 */
class RedisOutageTest {

    private RedisServer redis;
    private FakeOpenAi openAi;
    private TestGateway gateway;

    @BeforeEach
    void start() {
        redis = RedisServer.start();
        openAi = FakeOpenAi.start();
        gateway = TestGateway.start(KeypoolConfig.builder()
                .baseUrl(Provider.OPENAI, openAi.baseUrl())
                .baseUrl(Provider.OLLAMA, FakeUpstream.unreachableUrl())
                .providerPriority(List.of(Provider.OPENAI))
                .addKey(Provider.OPENAI, "sk-proj-outage-test-aaaaaaaa-key0", "gpt-4o", WindowLimits.of(100_000, 1_000_000))
                .redisUrl(redis.url())
                .build());
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
        await().atMost(Duration.ofSeconds(15)).untilAsserted(
                () -> assertThat(gateway.status().at("/store/degraded").asBoolean()).isFalse());
        // The outage's 5 calls of 18 tokens were handed to the restarted (empty) Redis.
        assertThat(gateway.status().at("/providers/openai/keys/0/tokens_used_day").asLong()).isEqualTo(5 * 18);
        assertThat(chat()).isEqualTo(200);
    }

    private int chat() {
        return gateway.send(HttpRequest.newBuilder(URI.create(gateway.url("/v1/chat/completions")))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"gpt-4o\",\"max_tokens\":8,"
                        + "\"messages\":[{\"role\":\"user\",\"content\":\"Say this is a test!\"}]}"))).statusCode();
    }
}
