package dev.keypool.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.config.WindowLimits;
import dev.keypool.failure.Failure;
import dev.keypool.failure.FailureKind;
import dev.keypool.failure.UpstreamException;
import dev.keypool.rotation.TokenUsage;
import dev.keypool.testing.CloseAfterEach;
import dev.keypool.testing.ManualClock;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class MetricsAndHealthTest {

    static final String KEY0 = "sk-proj-TEST.metrics-test-key-0000";
    static final String KEY1 = "sk-proj-TEST.metrics-test-key-1111";

    @RegisterExtension
    final CloseAfterEach closing = new CloseAfterEach();
    private final TestGateway server = closing.add(TestGateway.start(KeypoolConfig.builder()
            .addKey(Provider.OPENAI, KEY0, "gpt-4o", WindowLimits.of(1000, 10_000))
            .addKey(Provider.OPENAI, KEY1, "gpt-4o-mini", WindowLimits.NONE)
            .build(), ManualClock.atNoonish()));

    @Test
    void metrics_countRequestsTokensFailoversAndWindowsPerProviderAndKeyIndex() {
        server.served(Provider.OPENAI, "gpt-4o", 500, TokenUsage.of(200, 50));
        server.failed(Provider.OPENAI, "gpt-4o-mini", 10, new Failure(FailureKind.RATE_LIMITED, Duration.ofSeconds(10), "429"));

        HttpResponse<String> response = server.get("/metrics");

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("content-type")).hasValueSatisfying(
                type -> assertThat(type).startsWith("text/plain"));
        String metrics = response.body();
        assertThat(metrics)
                .contains("keypool_tokens_total{key_index=\"0\",provider=\"openai\",type=\"prompt\"} 200.0")
                .contains("keypool_tokens_total{key_index=\"0\",provider=\"openai\",type=\"completion\"} 50.0")
                .contains("keypool_key_requests_total{key_index=\"0\",outcome=\"success\",provider=\"openai\"} 1.0")
                .contains("keypool_key_failures_total{key_index=\"1\",kind=\"rate_limited\",provider=\"openai\"} 1.0")
                .as("settled by hand: keypool tried no other key, so no failover")
                .doesNotContain("keypool_failovers_total{key_index=\"1\"")
                .contains("keypool_reservations_total{key_index=\"0\",provider=\"openai\",result=\"committed\"} 1.0")
                .contains("keypool_key_window_tokens{key_index=\"0\",provider=\"openai\",window=\"minute\"} 250.0")
                .contains("keypool_key_window_usage_ratio{key_index=\"0\",provider=\"openai\",window=\"minute\"} 0.25")
                .contains("keypool_key_cooling_down{key_index=\"1\",provider=\"openai\"} 1.0")
                .contains("keypool_keys_active{provider=\"openai\"} 1.0")
                .contains("keypool_upstream_duration_seconds_bucket{outcome=\"success\",provider=\"openai\"")
                .contains("jvm_memory_used_bytes")
                .doesNotContain(KEY0, KEY1);
    }

    @Test
    void issue13_failovers_countOnlyFailuresAfterWhichAnotherKeyWasTried() {
        int[] failed = {-1};
        server.gateway.rotator().executeWithFallback(Provider.OPENAI, reservation -> {
            if (failed[0] < 0) {
                failed[0] = reservation.index();
                throw new UpstreamException(new Failure(FailureKind.RATE_LIMITED, Duration.ofSeconds(10), "429"), 429);
            }
            return null;
        }, 10, null);
        int other = 1 - failed[0];
        // the key that served fails next, and the other still cools: nothing to hand over to
        catchThrowable(() -> server.gateway.rotator().executeWithFallback(Provider.OPENAI, reservation -> {
            throw new UpstreamException(Failure.of(FailureKind.SERVER_ERROR, "503"), 503);
        }, 10, null));

        String metrics = server.get("/metrics").body();

        assertThat(metrics)
                .contains("keypool_failovers_total{key_index=\"" + failed[0]
                        + "\",kind=\"rate_limited\",provider=\"openai\"} 1.0")
                .as("the last key's failure handed over to nothing")
                .doesNotContain("keypool_failovers_total{key_index=\"" + other + "\",kind=\"server_error\"")
                .contains("keypool_key_failures_total{key_index=\"" + other
                        + "\",kind=\"server_error\",provider=\"openai\"} 1.0");
    }

    @Test
    void health_isUpWithKeyCountsAndLiveAnswers() {
        HttpResponse<String> response = server.get("/health");

        assertThat(response.statusCode()).isEqualTo(200);
        JsonNode health = TestGateway.json(response);
        assertThat(health.get("status").asText()).isEqualTo("UP");
        assertThat(health.at("/checks/openai/keys").asInt()).isEqualTo(2);
        assertThat(health.at("/checks/openai/usable_keys").asInt()).isEqualTo(2);
        assertThat(health.at("/checks/store/kind").asText()).as("as the store says it").isEqualTo("data-dir");
        assertThat(health.at("/checks/store/connected").asBoolean()).isTrue();
        assertThat(server.get("/health/live").statusCode()).isEqualTo(200);
        assertThat(server.get("/health/ready").statusCode()).isEqualTo(200);
    }

    @Test
    void gatewayEndpoints_areCountedByEndpointAndStatus() {
        server.get("/api/admin/api-key-status/");

        assertThat(server.get("/metrics").body())
                .contains("keypool_http_requests_total{endpoint=\"admin\",status=\"401\"} 1.0");
    }
}
