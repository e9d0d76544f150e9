package dev.keypool.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.config.Provider;
import dev.keypool.config.SelectionStrategy;
import dev.keypool.config.WindowLimits;
import dev.keypool.providers.fake.FakeOpenAi;
import dev.keypool.providers.fake.Gate;
import dev.keypool.testing.ManualClock;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 14 through the gateway: a key at its {@code OPENAI_MAX_CONCURRENT_i} is skipped while its
 * request is held open at the provider, and the status shows each key's requests in flight, cap
 * and weight. Which key served is judged from the fake provider's own log.
 */
class ConcurrencyCapGatewayTest {

    private static final List<String> KEYS = List.of("sk-proj-TEST.cap-test-aaaaaaaa-key0", "sk-proj-TEST.cap-test-bbbbbbbb-key1");
    private static final String BODY = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
            + "\"max_tokens\":16}";

    private FakeOpenAi openAi;
    private TestGateway server;
    private final HttpClient http = HttpClient.newHttpClient();

    @BeforeEach
    void start() {
        openAi = FakeOpenAi.start();
        server = TestGateway.start(TestGateway.openAiOnly(openAi)
                .selectionStrategy(SelectionStrategy.FILL_FIRST)
                .addKey(Provider.OPENAI, KEYS.get(0), "gpt-4o", WindowLimits.of(100_000, 1_000_000), 1, 3)
                .addKey(Provider.OPENAI, KEYS.get(1), "gpt-4o", WindowLimits.of(100_000, 1_000_000), 0, 1)
                .build(), ManualClock.atNoonish());
    }

    @AfterEach
    void stop() {
        server.close();
        openAi.close();
        http.close();
    }

    private HttpRequest.Builder chat() {
        return HttpRequest.newBuilder(URI.create(server.url("/v1/chat/completions")))
                .header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.ofString(BODY));
    }

    /** Sends a request that key 0 serves and the fake holds until {@code gate} opens; returns once it is in flight. */
    private CompletableFuture<HttpResponse<String>> holdOnKey0(Gate gate) {
        openAi.enqueue(KEYS.get(0), exchange -> {
            exchange.await(gate);
            FakeOpenAi.completion("held", 5, 1).send(exchange);
        });
        CompletableFuture<HttpResponse<String>> held = http.sendAsync(chat().build(), HttpResponse.BodyHandlers.ofString());
        await().atMost(Duration.ofSeconds(15))
                .until(() -> server.keyStatus("openai", 0).path("requests_in_flight").asInt() == 1);
        return held;
    }

    @Test
    void aSecondRequestWhileKey0sOnlySlotIsHeld_goesToKey1_andTheStatusShowsTheLoad() throws Exception {
        Gate gate = new Gate();
        CompletableFuture<HttpResponse<String>> held = holdOnKey0(gate);
        try {

            JsonNode key0 = server.keyStatus("openai", 0);
            JsonNode key1 = server.keyStatus("openai", 1);
            assertThat(key0.path("max_concurrent").asInt()).isEqualTo(1);
            assertThat(key0.path("weight").asInt()).isEqualTo(3);
            assertThat(key1.path("requests_in_flight").asInt()).isZero();
            assertThat(key1.has("max_concurrent")).as("present, null when uncapped").isTrue();
            assertThat(key1.path("max_concurrent").isNull()).isTrue();
            assertThat(key1.path("weight").asInt()).isEqualTo(1);
            assertThat(server.get("/metrics").body())
                    .contains("keypool_key_requests_in_flight{key_index=\"0\",provider=\"openai\"} 1.0");

            HttpResponse<String> second = server.send(chat());

            assertThat(second.statusCode()).isEqualTo(200);
            assertThat(second.headers().firstValue("x-keypool-key-index")).hasValue("1");
        } finally {
            gate.open();
        }
        assertThat(held.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        assertThat(openAi.requests("/v1/chat/completions")).extracting(request -> request.header("authorization"))
                .as("the provider saw key 1 for the request key 0 had no slot for")
                .containsExactlyInAnyOrder("Bearer " + KEYS.get(0), "Bearer " + KEYS.get(1));
        await().atMost(Duration.ofSeconds(15))
                .until(() -> server.keyStatus("openai", 0).path("requests_in_flight").asInt() == 0);
        assertThat(server.keyStatus("openai", 1).path("requests_in_flight").asInt()).isZero();
    }

    @Test
    void everyKeyAtItsCap_isRefusedWith429AndAShortRetryAfter() throws Exception {
        server.deactivate("openai", 1);
        Gate gate = new Gate();
        CompletableFuture<HttpResponse<String>> held = holdOnKey0(gate);
        try {

            HttpResponse<String> refused = server.send(chat());

            assertThat(refused.statusCode()).isEqualTo(429);
            assertThat(refused.headers().firstValue("retry-after")).hasValue("1");
        } finally {
            gate.open();
        }
        assertThat(held.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        assertThat(openAi.requests("/v1/chat/completions")).hasSize(1);
    }
}
