package dev.keypool.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.config.Provider;
import dev.keypool.config.SelectionStrategy;
import dev.keypool.config.WindowLimits;
import dev.keypool.providers.fake.FakeOpenAi;
import dev.keypool.testing.CloseAfterEach;
import dev.keypool.testing.ManualClock;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 14 through the gateway: a key with {@code OPENAI_MAX_REQUESTS_PER_MINUTE_i=2} serves two
 * requests, then the pool fails over to the next key; with every key at its request limit the
 * answer is a 429 whose {@code Retry-After} is when the oldest request leaves the minute. Which key
 * served is judged from the fake provider's log; time moves on the injected clock.
 */
class RequestLimitGatewayTest {

    private static final List<String> KEYS = List.of("sk-proj-TEST.requests-aaaaaaaa-key0",
            "sk-proj-TEST.requests-bbbbbbbb-key1");
    private static final String BODY = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
            + "\"max_tokens\":16}";

    private final ManualClock clock = ManualClock.atNoonish();
    @RegisterExtension
    final CloseAfterEach closing = new CloseAfterEach();
    private final FakeOpenAi openAi = closing.add(FakeOpenAi.start());
    // Tokens to spare on both keys: only the request limits bind.
    private final TestGateway server = closing.add(TestGateway.start(TestGateway.openAiOnly(openAi)
            .selectionStrategy(SelectionStrategy.FILL_FIRST)
            .addKey(Provider.OPENAI, KEYS.get(0), "gpt-4o", WindowLimits.of(100_000, 1_000_000).withRequests(2, 100))
            .addKey(Provider.OPENAI, KEYS.get(1), "gpt-4o", WindowLimits.of(100_000, 1_000_000).withRequests(1, 3))
            .build(), clock));

    private HttpResponse<String> chat() {
        return server.send(HttpRequest.newBuilder(URI.create(server.url("/v1/chat/completions")))
                .header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.ofString(BODY)));
    }

    private List<String> keysTheProviderSaw() {
        return openAi.requests("/v1/chat/completions").stream()
                .map(request -> request.header("authorization").substring("Bearer ".length())).toList();
    }

    @Test
    void aKeyAtItsRequestsPerMinute_isSkipped_thenEveryKeyFull_isA429UntilTheOldestRequestLeavesTheMinute() {
        for (int i = 0; i < 3; i++) {
            assertThat(chat().statusCode()).isEqualTo(200);
            clock.advance(Duration.ofSeconds(1));
        }
        assertThat(keysTheProviderSaw()).as("two on key 0, then key 1 for the third")
                .containsExactly(KEYS.get(0), KEYS.get(0), KEYS.get(1));

        HttpResponse<String> refused = chat();

        assertThat(refused.statusCode()).isEqualTo(429);
        assertThat(refused.body()).contains("\"error\"");
        // Key 0's first request settled at the start and counts for 60 s and at most one bucket
        // more; 3 s of the clock have passed since.
        long retryAfter = Long.parseLong(refused.headers().firstValue("retry-after").orElseThrow());
        assertThat(retryAfter).isBetween(57L, 58L);
        assertThat(keysTheProviderSaw()).as("the refused request reached no provider").hasSize(3);

        JsonNode key0 = server.keyStatus("openai", 0);
        assertThat(key0.path("requests_used_minute").asLong()).isEqualTo(2);
        assertThat(key0.path("max_requests_per_minute").asLong()).isEqualTo(2);
        assertThat(key0.path("request_minute_usage_percent").asDouble()).isEqualTo(100.0);
        assertThat(key0.path("requests_used_day").asLong()).isEqualTo(2);
        assertThat(key0.path("max_requests_per_day").asLong()).isEqualTo(100);
        assertThat(key0.path("tokens_used_minute").asLong()).as("the token fields stay").isPositive();
        JsonNode alerts = server.status().path("alerts");
        assertThat(alerts.findValuesAsText("kind")).contains("request_minute_usage");
        assertThat(server.get("/metrics").body())
                .contains("keypool_key_window_requests{key_index=\"0\",provider=\"openai\",window=\"minute\"} 2.0")
                .contains("keypool_key_window_request_limit{key_index=\"0\",provider=\"openai\",window=\"minute\"} 2.0")
                .contains("keypool_key_window_request_usage_ratio{key_index=\"0\",provider=\"openai\",window=\"minute\"} 1.0");

        // Once the oldest request has left the minute, key 0 serves again.
        clock.advance(Duration.ofSeconds(retryAfter));
        assertThat(chat().statusCode()).isEqualTo(200);
        assertThat(keysTheProviderSaw()).containsExactly(KEYS.get(0), KEYS.get(0), KEYS.get(1), KEYS.get(0));
    }

    @Test
    void aKeyAtItsRequestsPerDay_waitsForTheNextDay() {
        server.deactivate("openai", 0);
        for (int i = 0; i < 3; i++) {
            assertThat(chat().statusCode()).isEqualTo(200);
            clock.advance(Duration.ofMinutes(2));
        }

        HttpResponse<String> refused = chat();

        assertThat(refused.statusCode()).isEqualTo(429);
        long retryAfter = Long.parseLong(refused.headers().firstValue("retry-after").orElseThrow());
        long untilMidnight = Duration.between(clock.instant(),
                clock.instant().atZone(java.time.ZoneOffset.UTC).toLocalDate().plusDays(1)
                        .atStartOfDay(java.time.ZoneOffset.UTC).toInstant()).toSeconds();
        assertThat(retryAfter).isBetween(untilMidnight, untilMidnight + 1);
        assertThat(keysTheProviderSaw()).containsExactly(KEYS.get(1), KEYS.get(1), KEYS.get(1));
        assertThat(server.keyStatus("openai", 1).path("request_day_usage_percent").asDouble()).isEqualTo(100.0);
        assertThat(server.status().path("alerts").findValuesAsText("kind")).contains("request_day_usage");
    }
}
