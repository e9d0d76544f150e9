package dev.keypool.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.config.WindowLimits;
import dev.keypool.providers.fake.FakeOpenAi;
import dev.keypool.server.alerts.WebhookReceiver;
import java.net.URI;
import java.net.http.HttpRequest;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The seed's promised alerts reach someone: a key the provider rejects is deactivated, the webhook
 * hears of it once with the reason and without the key (the fake echoes the full key in its
 * error), and hears that it is back when the operator reactivates it.
 */
class AlertWebhooksGatewayTest {

    private static final String KEY0 = "sk-proj-TEST.alert.key0";
    private static final String KEY1 = "sk-proj-TEST.alert.key1";

    @Test
    void deactivatedKey_reachesTheWebhookOnceWithoutItsSecret_andItsReturnToo() throws Exception {
        try (FakeOpenAi openAi = FakeOpenAi.start(); WebhookReceiver receiver = WebhookReceiver.start(200)) {
            KeypoolConfig config = TestGateway.openAiOnly(openAi)
                    .addKey(Provider.OPENAI, KEY0, "gpt-4o", WindowLimits.NONE)
                    .addKey(Provider.OPENAI, KEY1, "gpt-4o", WindowLimits.NONE)
                    .build();
            ServerSettings settings = TestGateway.settings(config).withAlertWebhooks(List.of(receiver.url()));
            try (TestGateway server = TestGateway.start(config, Clock.systemUTC(), settings)) {
                openAi.enqueue(KEY0, FakeOpenAi.invalidApiKeyEchoingFullKey());
                openAi.enqueue(KEY1, FakeOpenAi.completion("served by key 1", 9, 3));

                assertThat(server.send(HttpRequest.newBuilder(URI.create(server.url("/v1/chat/completions")))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\","
                                + "\"content\":\"hi\"}]}"))).statusCode()).isEqualTo(200);
                server.gateway.alerts().check();
                server.gateway.alerts().check();

                await().atMost(Duration.ofSeconds(10)).until(() -> receiver.bodies().size() == 1);
                JsonNode firing = TestGateway.json(receiver.bodies().getFirst());
                assertThat(firing.path("keypool").path("state").asText()).isEqualTo("firing");
                assertThat(firing.path("keypool").path("kind").asText()).isEqualTo("key_deactivated");
                assertThat(firing.path("keypool").path("key_index").asInt()).isZero();
                assertThat(firing.path("keypool").path("key_id").asText())
                        .isEqualTo(server.gateway.manager().status(server.gateway.manager().keys(Provider.OPENAI)
                                .getFirst().id()).keyId());
                assertThat(firing.path("text").asText()).startsWith("[keypool 127.0.0.1:").contains("CRITICAL: openai key 0")
                        .contains("is deactivated");
                assertThat(receiver.bodies().getFirst()).doesNotContain(KEY0).doesNotContain(KEY1);

                server.activate("openai", 0);
                server.gateway.alerts().check();

                await().atMost(Duration.ofSeconds(10)).until(() -> receiver.bodies().size() == 2);
                JsonNode resolved = TestGateway.json(receiver.bodies().get(1));
                assertThat(resolved.path("keypool").path("state").asText()).isEqualTo("resolved");
                assertThat(resolved.path("text").asText()).endsWith("RESOLVED: openai key 0 is back in the pool");
            }
        }
    }

    @Test
    void statusApi_namesEachAlertsKindAndKey() {
        try (FakeOpenAi openAi = FakeOpenAi.start();
                TestGateway server = TestGateway.start(TestGateway.openAiPool(KEY0, openAi).build())) {
            server.deactivate("openai", 0);

            JsonNode alerts = TestGateway.json(server.adminGet("/api/admin/api-key-status/")).path("alerts");

            assertThat(alerts).extracting(alert -> alert.path("kind").asText())
                    .containsExactlyInAnyOrder("key_deactivated", "no_usable_key");
            assertThat(alerts).filteredOn(alert -> alert.path("kind").asText().equals("key_deactivated"))
                    .singleElement().satisfies(alert -> assertThat(alert.path("key_id").asText()).hasSize(32));
        }
    }
}
