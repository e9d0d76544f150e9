package dev.keypool.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keypool.adapter.RelayClient;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.providers.ChatMessage;
import dev.keypool.providers.ChatRequest;
import dev.keypool.providers.LlmService;
import dev.keypool.providers.SearchService;
import dev.keypool.providers.fake.FakeOpenAi;
import dev.keypool.rotation.ApiKeyManager;
import dev.keypool.rotation.ApiKeyRotator;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.context.annotation.Bean;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * An application with only the starter and properties: the pool's beans, its health and metrics,
 * and {@link WithApiKeyRotation} failing over on a 429, against the fake OpenAI.
 */
@SpringBootTest(classes = StarterApplicationTest.App.class)
class StarterApplicationTest {

    static final String KEY_A = "sk-proj-TEST.Ab3dEf6hIj9kLm2nOp5qRs8tUv1wX-aaaa";
    static final String KEY_B = "sk-proj-TEST.Zy9xWv8uTs7rQp6oNm5lKj4iHg3fE-bbbb";
    static final FakeOpenAi OPENAI = FakeOpenAi.start();

    @DynamicPropertySource
    static void properties(DynamicPropertyRegistry registry) {
        registry.add("keypool.openai-api-keys", () -> KEY_A + "," + KEY_B);
        registry.add("keypool.openai-base-url", OPENAI::baseUrl);
        registry.add("keypool.openai-max-tokens-per-minute-1", () -> "90000");
        registry.add("keypool.selection-strategy", () -> "fill-first");
        registry.add("keypool.ollama-host", () -> "http://127.0.0.1:9");
    }

    @AfterAll
    static void stop() {
        OPENAI.close();
    }

    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class App {

        @Bean
        Completions completions() {
            return new Completions();
        }
    }

    /** Calls OpenAI itself, with whatever key it is given, and fails as an SDK would on a 429. */
    static class Completions {

        private final HttpClient http = HttpClient.newHttpClient();

        @WithApiKeyRotation(provider = "openai", tokensNeeded = 100)
        public String complete(@PooledKey String apiKey, String prompt) throws IOException, InterruptedException {
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(OPENAI.baseUrl()
                            + "/chat/completions")).header("Authorization", "Bearer " + apiKey)
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":"
                            + "\"user\",\"content\":\"" + prompt + "\"}]}")).build(), HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                throw new IllegalStateException("OpenAI answered " + response.statusCode() + ": " + response.body());
            }
            return response.body();
        }
    }

    @Autowired KeypoolConfig config;
    @Autowired ApiKeyManager manager;
    @Autowired ApiKeyRotator rotator;
    @Autowired LlmService llm;
    @Autowired SearchService search;
    @Autowired RelayClient relayClient;
    @Autowired KeypoolHealthIndicator health;
    @Autowired MeterRegistry meters;
    @Autowired Completions completions;

    @Test
    void theBeansExist_configuredFromTheProperties() {
        assertThat(config.keys(Provider.OPENAI)).hasSize(2);
        assertThat(config.keys(Provider.OPENAI).get(1).limits().perMinute()).isEqualTo(90000);
        assertThat(rotator.manager()).isSameAs(manager);
        assertThat(List.of(llm, search, relayClient)).doesNotContainNull();
    }

    @Test
    void theAnnotation_putsAPooledKeyInAndFailsOverOnA429() throws Exception {
        OPENAI.reset();
        OPENAI.enqueue(KEY_A, FakeOpenAi.rateLimitedTokens("20s"));

        String answer = completions.complete("not a key", "Say this is a test!");

        assertThat(answer).contains("This is a test!");
        assertThat(OPENAI.keys()).containsExactly(KEY_A, KEY_B);
        manager.activate(manager.keys(Provider.OPENAI).get(0).id());
    }

    @Test
    void theHealthIndicatorAndTheMetrics_showTheKeys() {
        Health shown = health.health(true);

        assertThat(shown.getStatus()).isEqualTo(Status.UP);
        assertThat(shown.getDetails().get("openai")).isEqualTo(Map.of("configured", 2, "usable", 2));
        assertThat(shown.getDetails().get("store")).isEqualTo(Map.of("kind", "InMemoryUsageStore", "degraded", false));
        assertThat(meters.get("keypool_keys_configured").tag("provider", "openai").gauge().value()).isEqualTo(2);
        assertThat(meters.get("keypool_key_available").tags("provider", "openai", "key_index", "1").gauge().value())
                .isEqualTo(1);
    }

    @Test
    void theLlmService_servesThroughTheSameRelay_andTheTokensShowInTheMetrics() {
        OPENAI.reset();

        llm.chat(new ChatRequest("gpt-4o-mini", List.of(ChatMessage.user("Say this is a test!")), null, 16, Map.of()));

        assertThat(meters.get("keypool_tokens_total").tags("provider", "openai", "type", "completion").counters())
                .isNotEmpty();
    }
}
