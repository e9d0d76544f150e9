package dev.keypool.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.providers.fake.FakeOpenAi;
import dev.keypool.providers.fake.Gate;
import dev.keypool.server.connection.ConnectionLimits;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Beyond its caps the gateway answers at once with 503 and {@code Retry-After} instead of taking
 * more work without bound (requests and connections piled up until the JVM ran out of memory).
 */
class OverloadTest {

    private static final String KEY = "sk-proj-TEST.overload-test-key-0000";
    private static final int MAX_IN_FLIGHT = 3;
    private static final int MAX_CONNECTIONS = 8;
    private static final long MAX_BODY_BYTES_IN_FLIGHT = 3000;

    private final Gate gate = new Gate();
    private final ExecutorService callers = Executors.newVirtualThreadPerTaskExecutor();
    private FakeOpenAi openAi;
    private TestGateway server;

    @BeforeEach
    void start() {
        openAi = FakeOpenAi.start();
        openAi.replyByDefault(exchange -> {
            exchange.await(gate);
            FakeOpenAi.completion("held", 5, 1).send(exchange);
        });
        KeypoolConfig config = TestGateway.openAiPool(KEY, openAi).build();
        ServerSettings settings = TestGateway.settings(config);
        settings = settings.withEdge(settings.edge().withMaxInFlight(MAX_IN_FLIGHT)
                .withMaxBodyBytesInFlight(MAX_BODY_BYTES_IN_FLIGHT).withConnections(new ConnectionLimits(
                MAX_CONNECTIONS, Duration.ofSeconds(30), Duration.ofSeconds(60), Duration.ofSeconds(1))));
        server = TestGateway.start(config, java.time.Clock.systemUTC(), settings);
    }

    @AfterEach
    void stop() {
        gate.open();
        callers.shutdownNow();
        server.close();
        openAi.close();
    }

    private CompletableFuture<HttpResponse<String>> chat() {
        return chat("hi");
    }

    private CompletableFuture<HttpResponse<String>> chat(String content) {
        return CompletableFuture.supplyAsync(() -> server.send(HttpRequest.newBuilder(URI.create(server.url("/v1/chat/completions")))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"gpt-4o\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\","
                        + "\"content\":\"" + content + "\"}]}"))), callers);
    }

    @Test
    void requestsWhoseBodiesPassTheBodyBudget_get503WhileTheOthersAreHeld() throws Exception {
        CompletableFuture<HttpResponse<String>> held = chat("x".repeat(2000));
        await().atMost(Duration.ofSeconds(10)).until(() -> openAi.requests("/v1/chat/completions").size() == 1);

        HttpResponse<String> refused = chat("y".repeat(2000)).get(30, TimeUnit.SECONDS);

        assertThat(held).isNotDone();
        assertThat(refused.statusCode()).isEqualTo(503);
        assertThat(refused.headers().firstValue("Retry-After")).hasValue("1");
        assertThat(TestGateway.json(refused).at("/error/code").asText()).isEqualTo("overloaded_body_bytes");
        assertThat(TestGateway.json(refused).at("/error/message").asText()).contains("KEYPOOL_MAX_BODY_BYTES_IN_FLIGHT");
        // A small body still fits beside the held one.
        CompletableFuture<HttpResponse<String>> fits = chat("z");
        await().atMost(Duration.ofSeconds(10)).until(() -> openAi.requests("/v1/chat/completions").size() == 2);

        gate.open();
        assertThat(held.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        assertThat(fits.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
    }

    @Test
    void requestsBeyondMaxInFlight_get503WithRetryAfterWhileTheOthersAreHeld() throws Exception {
        List<CompletableFuture<HttpResponse<String>>> held = new ArrayList<>();
        for (int i = 0; i < MAX_IN_FLIGHT; i++) {
            held.add(chat());
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> openAi.requests("/v1/chat/completions").size() == MAX_IN_FLIGHT);

        HttpResponse<String> refused = chat().get(30, TimeUnit.SECONDS);

        // Answered while every admitted request is still held upstream: refused, not queued.
        assertThat(held).noneMatch(CompletableFuture::isDone);
        assertThat(refused.statusCode()).isEqualTo(503);
        assertThat(refused.headers().firstValue("Retry-After")).hasValue("1");
        JsonNode error = TestGateway.json(refused).get("error");
        assertThat(error.get("code").asText()).isEqualTo("overloaded_in_flight");
        assertThat(error.get("message").asText()).contains("KEYPOOL_MAX_IN_FLIGHT");
        assertThat(error.get("type").asText()).isEqualTo("service_unavailable");
        assertThat(openAi.requests("/v1/chat/completions")).hasSize(MAX_IN_FLIGHT);

        // Paths this gateway has no name for may be an API's: counted. Health, metrics, the admin API
        // and the dashboard's files are not.
        assertThat(server.get("/v1beta/models").statusCode()).isEqualTo(503);
        assertThat(server.get("/api/tags").statusCode()).isEqualTo(503);
        assertThat(server.get("/app.js").statusCode()).isEqualTo(200);
        assertThat(server.get("/").statusCode()).isEqualTo(200);
        assertThat(server.get("/health").statusCode()).isEqualTo(200);
        assertThat(server.get("/metrics").body()).contains("keypool_http_in_flight " + MAX_IN_FLIGHT + ".0")
                .contains("keypool_http_shed_total{reason=\"in_flight\"} 3.0");
        assertThat(server.adminGet("/api/admin/api-key-status/").statusCode()).isEqualTo(200);

        gate.open();
        for (CompletableFuture<HttpResponse<String>> request : held) {
            assertThat(request.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        }
        assertThat(chat().get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
    }

    /** {@code MAX_CONNECTIONS} connections, open and counted by the gateway. */
    private List<RawHttp> fillConnections() {
        List<RawHttp> open = new ArrayList<>();
        for (int i = 0; i < MAX_CONNECTIONS; i++) {
            open.add(RawHttp.connect(server.gateway.port()));
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> server.gateway.connections().open() == MAX_CONNECTIONS);
        return open;
    }

    @Test
    void connectionsBeyondMaxConnections_get503AndAreClosed() {
        List<RawHttp> open = fillConnections();
        try {

            try (RawHttp extra = RawHttp.connect(server.gateway.port())) {
                RawHttp.Answer answer = extra.send("GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").answer();

                assertThat(answer.status()).isEqualTo(503);
                assertThat(answer.header("Retry-After")).isEqualTo("1");
                assertThat(answer.header("Connection")).isEqualTo("close");
                assertThat(TestGateway.json(answer.body()).path("error").path("code").asText())
                        .isEqualTo("overloaded_connections");
                assertThat(extra.closedByServer()).isTrue();
            }

            // A health check or a scrape is still answered past the cap, alone on its connection.
            for (String path : List.of("/health", "/health/live", "/metrics")) {
                try (RawHttp probe = RawHttp.connect(server.gateway.port())) {
                    assertThat(probe.send("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").answer().status())
                            .as(path).isEqualTo(200);
                    assertThat(probe.closedByServer()).isTrue();
                }
            }

            // The connections within the cap are served.
            assertThat(open.getFirst().send("GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").answer().status())
                    .isEqualTo(200);

            // A connection that ends makes room for a new one.
            open.removeLast().close();
            await().atMost(Duration.ofSeconds(10)).until(() -> server.gateway.connections().open() == MAX_CONNECTIONS - 1);
            try (RawHttp next = RawHttp.connect(server.gateway.port())) {
                assertThat(next.send("GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").answer().status()).isEqualTo(200);
            }
        } finally {
            open.forEach(RawHttp::close);
        }
    }

    @Test
    void aRefusedConnectionsPostBody_doesNotResetTheAnswer() {
        List<RawHttp> open = fillConnections();
        try {
            String body = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"" + "x".repeat(2000) + "\"}]}";

            try (RawHttp extra = RawHttp.connect(server.gateway.port())) {
                RawHttp.Answer answer = extra.send("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        + "Content-Type: application/json\r\nContent-Length: " + body.length() + "\r\n\r\n" + body).answer();

                assertThat(answer.status()).isEqualTo(503);
            }
            assertThat(openAi.requests()).isEmpty();
        } finally {
            open.forEach(RawHttp::close);
        }
    }
}
