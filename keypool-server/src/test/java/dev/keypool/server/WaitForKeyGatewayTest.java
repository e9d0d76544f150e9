package dev.keypool.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.config.Provider;
import dev.keypool.config.WindowLimits;
import dev.keypool.providers.fake.FakeOpenAi;
import dev.keypool.providers.fake.Gate;
import dev.keypool.testing.CloseAfterEach;
import dev.keypool.testing.ManualClock;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 14 through the gateway: with {@code KEYPOOL_MAX_WAIT_SECONDS} above 0, a request that
 * finds the only key at its {@code OPENAI_MAX_CONCURRENT_i} waits instead of getting a 429, and
 * reaches the provider once the request ahead of it is answered. What the fake provider received,
 * and when, is the judge; the status and the metrics show the queue.
 */
class WaitForKeyGatewayTest {

    private static final String KEY = "sk-proj-TEST.TEST-wait-aaaaaaaa-key0";
    private static final String BODY = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
            + "\"max_tokens\":16}";

    @RegisterExtension
    final CloseAfterEach closing = new CloseAfterEach();
    private final FakeOpenAi openAi = closing.add(FakeOpenAi.start());
    private final HttpClient http = closing.add(HttpClient.newHttpClient());
    private TestGateway server;

    private void start(Duration maxWait, int maxQueue) {
        server = closing.add(TestGateway.start(TestGateway.openAiOnly(openAi)
                .addKey(Provider.OPENAI, KEY, "gpt-4o", WindowLimits.NONE, 1, 1)
                .maxWait(maxWait)
                .maxQueue(maxQueue)
                .build(), ManualClock.atNoonish()));
    }

    private HttpRequest chat() {
        return HttpRequest.newBuilder(URI.create(server.url("/v1/chat/completions")))
                .header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.ofString(BODY))
                .build();
    }

    /** Sends a request the fake holds until {@code gate} opens; returns once it is in flight on the key. */
    private CompletableFuture<HttpResponse<String>> holdTheKey(Gate gate) {
        openAi.enqueue(KEY, exchange -> {
            exchange.await(gate);
            FakeOpenAi.completion("first", 5, 1).send(exchange);
        });
        CompletableFuture<HttpResponse<String>> held = http.sendAsync(chat(), HttpResponse.BodyHandlers.ofString());
        await().atMost(Duration.ofSeconds(15)).until(() -> openAi.requests("/v1/chat/completions").size() == 1);
        return held;
    }

    /** Sends a request behind the one that holds the key; returns once it waits in the queue. */
    private CompletableFuture<HttpResponse<String>> queueBehindIt() {
        CompletableFuture<HttpResponse<String>> queued = http.sendAsync(chat(), HttpResponse.BodyHandlers.ofString());
        await().atMost(Duration.ofSeconds(15)).until(() -> waiting().path("queue_length").asInt() == 1);
        return queued;
    }

    private JsonNode waiting() {
        return server.status().at("/providers/openai/waiting");
    }

    @Test
    void aRequestAtTheKeysCap_waits_andIsServedOnceTheRequestAheadIsAnswered() throws Exception {
        start(Duration.ofSeconds(30), 10);
        Gate gate = new Gate();
        CompletableFuture<HttpResponse<String>> first = holdTheKey(gate);

        CompletableFuture<HttpResponse<String>> second = queueBehindIt();

        assertThat(second).as("waiting, not refused").isNotDone();
        assertThat(openAi.requests("/v1/chat/completions")).as("the provider has seen only the first").hasSize(1);
        assertThat(waiting().path("max_queue").asInt()).isEqualTo(10);
        assertThat(waiting().path("max_wait_seconds").asInt()).isEqualTo(30);
        assertThat(server.get("/metrics").body()).contains("keypool_wait_queue_length{provider=\"openai\"} 1.0");

        gate.open();

        assertThat(first.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        HttpResponse<String> served = second.get(30, TimeUnit.SECONDS);
        assertThat(served.statusCode()).isEqualTo(200);
        assertThat(openAi.requests("/v1/chat/completions")).extracting(request -> request.header("authorization"))
                .containsExactly("Bearer " + KEY, "Bearer " + KEY);
        assertThat(waiting().path("queue_length").asInt()).isZero();
        assertThat(waiting().path("recent_waits_millis")).hasSize(1);
        assertThat(server.get("/metrics").body())
                .contains("keypool_wait_seconds_count{outcome=\"served\",provider=\"openai\"} 1");
    }

    @Test
    void aFullQueue_isAnswered429WithRetryAfterAtOnce_andNeverReachesTheProvider() throws Exception {
        start(Duration.ofSeconds(30), 1);
        Gate gate = new Gate();
        CompletableFuture<HttpResponse<String>> first = holdTheKey(gate);
        CompletableFuture<HttpResponse<String>> second = queueBehindIt();
        try {

            HttpResponse<String> third = server.postJson("/v1/chat/completions", BODY);

            assertThat(third.statusCode()).isEqualTo(429);
            assertThat(third.headers().firstValue("retry-after")).isPresent();
            assertThat(TestGateway.json(third).at("/error/message").asText()).contains("KEYPOOL_MAX_QUEUE");
            assertThat(openAi.requests("/v1/chat/completions")).hasSize(1);
        } finally {
            gate.open();
        }
        assertThat(first.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        assertThat(second.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        assertThat(openAi.requests("/v1/chat/completions")).hasSize(2);
    }

    @Test
    void withoutAMaximumWait_theStatusHasNoQueue_andTheRequestIsRefusedAsBefore() throws Exception {
        start(Duration.ZERO, 10);
        Gate gate = new Gate();
        CompletableFuture<HttpResponse<String>> first = holdTheKey(gate);
        try {

            HttpResponse<String> refused = http.send(chat(), HttpResponse.BodyHandlers.ofString());

            assertThat(refused.statusCode()).isEqualTo(429);
            assertThat(refused.headers().firstValue("retry-after")).isPresent();
            assertThat(waiting().isNull()).as("present, null when nothing waits").isTrue();
        } finally {
            gate.open();
        }
        assertThat(first.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
    }
}
