package dev.keypool.server;

import dev.keypool.providers.internal.Json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.config.KeyId;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.config.WindowLimits;
import dev.keypool.failure.Failure;
import dev.keypool.failure.FailureKind;
import dev.keypool.rotation.Reservation;
import dev.keypool.rotation.TokenUsage;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code GET /api/admin/events}: status on connect, every key event, the end on shutdown. */
class EventStreamTest {

    private TestGateway server;

    @BeforeEach
    void start() {
        server = TestGateway.start(KeypoolConfig.builder()
                .addKey(Provider.OPENAI, "sk-proj-TEST.event-stream-key-0000", "gpt-4o", WindowLimits.of(10_000, 100_000))
                .addKey(Provider.OPENAI, "sk-proj-TEST.event-stream-key-1111", "gpt-4o", WindowLimits.of(10_000, 100_000))
                .build());
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void stream_sendsStatusFirstThenKeyEventsAsTheyHappen() throws Exception {
        try (SseClient feed = new SseClient(server.url("/api/admin/events"), "Bearer " + TestGateway.ADMIN_TOKEN)) {
            assertThat(feed.status()).isEqualTo(200);
            assertThat(feed.response().headers().firstValue("content-type")).hasValueSatisfying(
                    type -> assertThat(type).startsWith("text/event-stream"));
            JsonNode status = Json.readTree(feed.await("status").data());
            assertThat(status.at("/providers/openai/total_keys").asInt()).isEqualTo(2);

            Reservation reservation = server.gateway.rotator().acquire(Provider.OPENAI, "gpt-4o", 120);
            JsonNode acquired = Json.readTree(feed.await("key_acquired").data());
            assertThat(acquired.get("type").asText()).isEqualTo("key_acquired");
            assertThat(acquired.get("provider").asText()).isEqualTo("openai");
            assertThat(acquired.get("index").asInt()).isEqualTo(reservation.index());
            assertThat(acquired.get("masked_key").asText()).isEqualTo(reservation.maskedKey());
            assertThat(acquired.get("tokens").asLong()).isEqualTo(120);
            assertThat(acquired.get("model").asText()).isEqualTo("gpt-4o");
            assertThat(acquired.get("time").asText()).endsWith("Z");

            reservation.commit(TokenUsage.of(40, 60));
            JsonNode committed = Json.readTree(feed.await("usage_committed").data());
            assertThat(committed.get("prompt_tokens").asLong()).isEqualTo(40);
            assertThat(committed.get("completion_tokens").asLong()).isEqualTo(60);
            assertThat(committed.get("total_tokens").asLong()).isEqualTo(100);

            server.gateway.rotator().acquire(Provider.OPENAI, "gpt-4o", 1)
                    .fail(new Failure(FailureKind.RATE_LIMITED, Duration.ofSeconds(20), "429 too many"));
            JsonNode failed = Json.readTree(feed.await("key_failed").data());
            assertThat(failed.get("kind").asText()).isEqualTo("rate_limited");
            JsonNode cooled = Json.readTree(feed.await("key_cooled_down").data());
            assertThat(cooled.get("until").asText()).endsWith("Z");

            JsonNode pushed = Json.readTree(feed.await(event -> event.name().equals("status")
                    && event.data().contains("cooling_down")).data());
            assertThat(pushed.at("/providers/openai/active_keys").asInt()).isEqualTo(1);

            server.adminPost("/api/admin/api-key-reset/", null);
            JsonNode reactivated = Json.readTree(feed.await("key_reactivated").data());
            assertThat(reactivated.get("by_admin").asBoolean()).isTrue();

            server.gateway.manager().deactivate(KeyId.of(Provider.OPENAI, 1), "by hand");
            JsonNode deactivated = Json.readTree(feed.await("key_deactivated").data());
            assertThat(deactivated.get("reason").asText()).isEqualTo("by hand");
            assertThat(deactivated.get("until").isNull()).isTrue();
        }
    }

    @Test
    void stream_acceptsTheTokenAsQueryParameterForEventSource() throws Exception {
        try (SseClient feed = new SseClient(server.url("/api/admin/events?access_token=" + TestGateway.ADMIN_TOKEN), null)) {
            assertThat(feed.status()).isEqualTo(200);
            assertThat(feed.await("status").data()).contains("\"providers\"");
        }
        try (SseClient refused = new SseClient(server.url("/api/admin/events?access_token=nope"), null)) {
            assertThat(refused.status()).isEqualTo(401);
        }
    }

    @Test
    void stream_replaysRecentEventsToANewSubscriber() throws Exception {
        server.gateway.rotator().acquire(Provider.OPENAI, "gpt-4o", 7).release();

        try (SseClient feed = new SseClient(server.url("/api/admin/events/"), "Bearer " + TestGateway.ADMIN_TOKEN)) {
            assertThat(feed.await("key_acquired").data()).contains("\"tokens\":7");
            assertThat(feed.await("reservation_released").data()).contains("\"expired\":false");
        }
    }

    @Test
    void stream_endsWhenTheGatewayShutsDown() throws Exception {
        try (SseClient feed = new SseClient(server.url("/api/admin/events"), "Bearer " + TestGateway.ADMIN_TOKEN)) {
            feed.await("status");

            server.gateway.close();

            assertThat(feed.await(event -> event.name().startsWith("<")).name()).isEqualTo("<end>");
        }
    }
}
