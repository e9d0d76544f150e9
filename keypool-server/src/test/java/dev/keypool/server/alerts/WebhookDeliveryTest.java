package dev.keypool.server.alerts;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.keypool.config.ConfigException;
import dev.keypool.server.logging.SecretScrubber;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Delivery to a real receiver on loopback over the production HTTP transport: retried on what may
 * pass, given up on what will not, and never carrying a secret. The waits between retries are
 * zero here; their lengths are {@link WebhookDelivery#BACKOFF}'s.
 */
class WebhookDeliveryTest {

    private static final List<Duration> NO_WAIT = List.of(Duration.ZERO, Duration.ZERO, Duration.ZERO);

    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();

    @AfterEach
    void tearDown() {
        timer.shutdownNow();
    }

    @Test
    void receiverThatFailsTwice_getsTheMessageOnTheThirdAttempt() throws Exception {
        try (WebhookReceiver receiver = WebhookReceiver.start(503, 500, 200)) {
            WebhookDelivery delivery = WebhookDelivery.overHttp(List.of(receiver.url()), timer, NO_WAIT);

            delivery.send(Map.of("text", "hello"));

            await().atMost(Duration.ofSeconds(10)).until(() -> delivery.delivered() == 1);
            assertThat(receiver.bodies()).hasSize(3).allSatisfy(body -> assertThat(body).isEqualTo("{\"text\":\"hello\"}"));
            assertThat(receiver.contentTypes()).containsOnly("application/json");
            assertThat(delivery.failed()).isZero();
        }
    }

    @Test
    void receiverThatRefusesTheMessage_isNotAskedAgain() throws Exception {
        try (WebhookReceiver receiver = WebhookReceiver.start(400, 200)) {
            WebhookDelivery delivery = WebhookDelivery.overHttp(List.of(receiver.url()), timer, NO_WAIT);

            delivery.send(Map.of("text", "hello"));

            await().atMost(Duration.ofSeconds(10)).until(() -> delivery.failed() == 1);
            assertThat(receiver.bodies()).hasSize(1);
            assertThat(delivery.delivered()).isZero();
        }
    }

    @Test
    void receiverThatIsDown_isTriedOncePerWaitThenGivenUp() throws Exception {
        URI gone;
        try (WebhookReceiver receiver = WebhookReceiver.start(200)) {
            gone = receiver.url();
        }
        WebhookDelivery delivery = WebhookDelivery.overHttp(List.of(gone), timer, NO_WAIT);

        delivery.send(Map.of("text", "hello"));

        await().atMost(Duration.ofSeconds(20)).until(() -> delivery.failed() == 1);
        assertThat(delivery.delivered()).isZero();
    }

    @Test
    void everyReceiverGetsTheMessage_oneDownDelaysNoOther() throws Exception {
        try (WebhookReceiver slowToRecover = WebhookReceiver.start(503, 503, 200);
                WebhookReceiver healthy = WebhookReceiver.start(200)) {
            WebhookDelivery delivery = WebhookDelivery.overHttp(List.of(slowToRecover.url(), healthy.url()), timer,
                    List.of(Duration.ofHours(1)));

            delivery.send(Map.of("text", "hello"));

            await().atMost(Duration.ofSeconds(10)).until(() -> delivery.delivered() == 1);
            assertThat(healthy.bodies()).hasSize(1);
            assertThat(slowToRecover.bodies()).hasSize(1);
        }
    }

    @Test
    void aKeyInTheMessage_isMaskedBeforeItLeaves() throws Exception {
        String key = "sk-proj-TEST.webhook.key1";
        SecretScrubber.register(List.of(key));
        try (WebhookReceiver receiver = WebhookReceiver.start(200)) {
            WebhookDelivery delivery = WebhookDelivery.overHttp(List.of(receiver.url()), timer, NO_WAIT);

            delivery.send(Map.of("text", "upstream said: Incorrect API key provided: " + key));

            await().atMost(Duration.ofSeconds(10)).until(() -> delivery.delivered() == 1);
            assertThat(receiver.bodies().getFirst()).doesNotContain(key).contains("Incorrect API key provided: sk-p");
        }
    }

    @Test
    void settingValue_isOneOrMoreHttpUrls_andABadOneIsNamedByPositionNotEchoed() {
        assertThat(WebhookDelivery.targets(null)).isEmpty();
        assertThat(WebhookDelivery.targets(" https://hooks.example.com/services/T0/B0/secret , http://127.0.0.1:9/x"))
                .containsExactly(URI.create("https://hooks.example.com/services/T0/B0/secret"),
                        URI.create("http://127.0.0.1:9/x"));

        assertThatThrownBy(() -> WebhookDelivery.targets("https://ok.example.com/a,ftp://files.example.com/secret-token"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("KEYPOOL_ALERT_WEBHOOK_URL")
                .hasMessageContaining("URL 2 is not an http:// or https:// URL")
                .message().doesNotContain("secret-token");
    }
}
