package dev.keypool.server;

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
import dev.keypool.testing.CloseAfterEach;
import dev.keypool.testing.ManualClock;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The seed's admin API over HTTP, driven through the pool itself (reserve, commit, fail) with a
 * manual clock, so every number in the answers is known.
 */
class AdminApiTest {

    static final String KEY0 = "sk-proj-TEST.admin-test-0000-key0";
    static final String KEY1 = "sk-proj-TEST.admin-test-1111-key1";
    static final String KEY2 = "sk-proj-TEST.admin-test-2222-key2";
    static final String GEMINI0 = "AIza-admin-test-gemini-0000";

    private final ManualClock clock = ManualClock.atNoonish();
    @RegisterExtension
    final CloseAfterEach closing = new CloseAfterEach();
    private final TestGateway server = closing.add(TestGateway.start(KeypoolConfig.builder()
            .addKey(Provider.OPENAI, KEY0, "gpt-4o", WindowLimits.of(1000, 20_000))
            .addKey(Provider.OPENAI, KEY1, "gpt-4o", WindowLimits.of(1000, 20_000))
            .addKey(Provider.OPENAI, KEY2, "gpt-4o-mini", WindowLimits.NONE)
            .addKey(Provider.GEMINI, GEMINI0, "gemini-2.5-flash", WindowLimits.of(500, 5_000))
            .build(), clock));

    @ParameterizedTest
    @ValueSource(strings = {"/api/admin/api-key-status/", "/api/admin/api-key-status",
            "/api/admin/api-key-usage-report/", "/api/admin/api-key-usage-report", "/api/admin/info",
            "/api/admin/events"})
    void adminGet_withoutToken_is401InOpenAiShape(String path) {
        HttpResponse<String> response = server.get(path);

        assertThat(response.statusCode()).isEqualTo(401);
        JsonNode error = TestGateway.json(response).get("error");
        assertThat(error.get("type").asText()).isEqualTo("authentication_error");
        assertThat(error.get("code").asText()).isEqualTo("invalid_admin_token");
        assertThat(error.get("message").asText()).isNotBlank();
    }

    @ParameterizedTest
    @ValueSource(strings = {"Bearer wrong-token", "Bearer test-admin-token-012345678", "Basic dGVzdA==", "Bearer "})
    void adminGet_withWrongToken_is401(String authorization) {
        HttpResponse<String> response = server.send(HttpRequest.newBuilder(
                URI.create(server.url("/api/admin/api-key-status/"))).header("Authorization", authorization));

        assertThat(response.statusCode()).isEqualTo(401);
    }

    @Test
    void adminPost_withoutToken_is401AndResetsNothing() {
        server.gateway.manager().deactivate(KeyId.of(Provider.OPENAI, 0), "test");

        HttpResponse<String> response = server.send(HttpRequest.newBuilder(
                URI.create(server.url("/api/admin/api-key-reset/"))).POST(HttpRequest.BodyPublishers.noBody()));

        assertThat(response.statusCode()).isEqualTo(401);
        assertThat(server.status().at("/providers/openai/keys/0/status").asText()).isEqualTo("deactivated");
    }

    @Test
    void status_listsEveryKeyWithLimitsUsageAndPercents() {
        try (Reservation reservation = server.gateway.rotator().acquire(Provider.OPENAI, "gpt-4o", 450)) {
            reservation.commit(TokenUsage.of(300, 150));
        }

        JsonNode status = server.status();

        JsonNode openai = status.at("/providers/openai");
        assertThat(openai.get("total_keys").asInt()).isEqualTo(3);
        assertThat(openai.get("active_keys").asInt()).isEqualTo(3);
        assertThat(openai.get("tokens_today").asLong()).isEqualTo(450);
        assertThat(openai.get("requests").asLong()).isEqualTo(1);
        JsonNode used = openai.get("keys").findParents("tokens_used_minute").stream()
                .filter(key -> key.get("tokens_used_minute").asLong() > 0).findFirst().orElseThrow();
        assertThat(used.get("status").asText()).isEqualTo("active");
        assertThat(used.get("model").asText()).isEqualTo("gpt-4o");
        assertThat(used.get("tokens_used_minute").asLong()).isEqualTo(450);
        assertThat(used.get("max_tokens_per_minute").asLong()).isEqualTo(1000);
        assertThat(used.get("minute_usage_percent").asDouble()).isEqualTo(45.0);
        assertThat(used.get("tokens_used_day").asLong()).isEqualTo(450);
        assertThat(used.get("max_tokens_per_day").asLong()).isEqualTo(20_000);
        assertThat(used.get("day_usage_percent").asDouble()).isEqualTo(2.25);
        assertThat(used.get("reason").isNull()).isTrue();
        assertThat(used.get("available_at").isNull()).isTrue();
        assertThat(used.get("masked_key").asText()).matches("sk-p\u2026key[01]");

        JsonNode unlimited = openai.at("/keys/2");
        assertThat(unlimited.get("index").asInt()).isEqualTo(2);
        assertThat(unlimited.get("max_tokens_per_minute").isNull()).isTrue();
        assertThat(unlimited.get("minute_usage_percent").isNull()).isTrue();
        assertThat(unlimited.get("max_tokens_per_day").isNull()).isTrue();
        assertThat(unlimited.get("day_usage_percent").isNull()).isTrue();

        assertThat(status.at("/providers/gemini/total_keys").asInt()).isEqualTo(1);
        assertThat(status.at("/providers/serp/total_keys").asInt()).isZero();
        assertThat(status.at("/providers/ollama/available").isBoolean()).isTrue();
        assertThat(status.at("/providers/ollama/keys").isArray()).isTrue();
        assertThat(status.get("demo").asBoolean()).isFalse();
        assertThat(status.get("server_time_millis").asLong()).isEqualTo(clock.millis());
        assertThat(status.get("alerts").isArray()).isTrue();
    }

    @Test
    void status_showsEachKeysId_theFingerprintItsUsageIsStoredUnder_neverTheKey() {
        JsonNode keys = server.status().at("/providers/openai/keys");

        for (int index = 0; index < 3; index++) {
            String keyId = keys.get(index).get("key_id").asText();
            assertThat(keyId).hasSize(32).matches("[0-9a-f]+").doesNotContain("admin").doesNotContain("key" + index);
            assertThat(keyId).isEqualTo(server.gateway.manager().store().fingerprint(KeyId.of(Provider.OPENAI, index))
                    .value());
        }
        assertThat(keys.findValuesAsText("key_id")).doesNotHaveDuplicates();
    }

    @Test
    void status_showsCoolingKeyWithCountdownAndReason() {
        Reservation reservation = server.gateway.rotator().acquire(Provider.GEMINI, null, 10);
        reservation.fail(new Failure(FailureKind.RATE_LIMITED, Duration.ofSeconds(30), "429 slow down"));

        JsonNode key = server.status().at("/providers/gemini/keys/0");

        assertThat(key.get("status").asText()).isEqualTo("cooling_down");
        assertThat(key.get("failure_kind").asText()).isEqualTo("rate_limited");
        assertThat(key.get("reason").asText()).contains("429 slow down");
        assertThat(key.get("available_in_seconds").asLong()).isEqualTo(30);
        assertThat(key.get("available_at").asText()).isEqualTo(clock.instant().plusSeconds(30).toString());
    }

    @Test
    void alerts_flagKeysAbove80PercentDeactivatedKeysAndProvidersWithNoUsableKey() {
        try (Reservation reservation = server.gateway.rotator().acquire(Provider.GEMINI, null, 450)) {
            reservation.commit(450);
        }
        JsonNode alerts = server.status().get("alerts");
        assertThat(alerts.findValuesAsText("level")).containsExactly("warning");
        assertThat(alerts.get(0).get("provider").asText()).isEqualTo("gemini");
        assertThat(alerts.get(0).get("index").asInt()).isZero();
        assertThat(alerts.get(0).get("message").asText()).contains("90.0%").contains("per-minute");

        server.gateway.manager().deactivate(KeyId.of(Provider.GEMINI, 0), "billing problem");
        alerts = server.status().get("alerts");

        assertThat(alerts).anySatisfy(alert -> {
            assertThat(alert.get("level").asText()).isEqualTo("critical");
            assertThat(alert.get("index").isNull()).isTrue();
            assertThat(alert.get("message").asText()).contains("No usable gemini key");
        });
        assertThat(alerts).anySatisfy(alert -> {
            assertThat(alert.get("level").asText()).isEqualTo("critical");
            assertThat(alert.get("index").asInt()).isZero();
            assertThat(alert.get("message").asText()).contains("deactivated").contains("billing problem");
        });
        assertThat(alerts.get(0).get("level").asText()).isEqualTo("critical");
    }

    @Test
    void reset_withProviderAndIndex_reactivatesThatKey() {
        Reservation reservation = server.gateway.rotator().acquire(Provider.OPENAI, "gpt-4o-mini", 10);
        reservation.fail(Failure.of(FailureKind.INVALID_KEY, "401 invalid_api_key"));
        assertThat(server.status().at("/providers/openai/keys/2/status").asText()).isEqualTo("deactivated");

        HttpResponse<String> response = server.adminPost("/api/admin/api-key-reset/", "{\"provider\":\"openai\",\"index\":2}");

        assertThat(response.statusCode()).isEqualTo(200);
        JsonNode reset = TestGateway.json(response).get("reset");
        assertThat(reset).hasSize(1);
        assertThat(reset.get(0).get("provider").asText()).isEqualTo("openai");
        assertThat(reset.get(0).get("index").asInt()).isEqualTo(2);
        assertThat(server.status().at("/providers/openai/keys/2/status").asText()).isEqualTo("active");
    }

    @Test
    void reset_withEmptyBody_reactivatesEveryRestingKeyAndOnlyThose() {
        server.gateway.manager().deactivate(KeyId.of(Provider.OPENAI, 1), null);
        server.gateway.rotator().acquire(Provider.GEMINI, null, 1)
                .fail(new Failure(FailureKind.SERVER_ERROR, Duration.ofSeconds(5), "503"));

        HttpResponse<String> response = server.adminPost("/api/admin/api-key-reset", null);

        assertThat(response.statusCode()).isEqualTo(200);
        JsonNode reset = TestGateway.json(response).get("reset");
        assertThat(reset).hasSize(2);
        assertThat(reset.findValuesAsText("provider")).containsExactlyInAnyOrder("openai", "gemini");
        assertThat(server.status().at("/providers/openai/active_keys").asInt()).isEqualTo(3);
        assertThat(server.status().at("/providers/gemini/active_keys").asInt()).isEqualTo(1);
    }

    @Test
    void reset_withProviderOnly_leavesOtherProvidersAlone() {
        server.gateway.manager().deactivate(KeyId.of(Provider.OPENAI, 0), null);
        server.gateway.manager().deactivate(KeyId.of(Provider.GEMINI, 0), null);

        JsonNode reset = TestGateway.json(server.adminPost("/api/admin/api-key-reset/", "{\"provider\":\"openai\"}"))
                .get("reset");

        assertThat(reset.findValuesAsText("provider")).containsExactly("openai");
        assertThat(server.status().at("/providers/gemini/keys/0/status").asText()).isEqualTo("deactivated");
    }

    @Test
    void reset_unknownProviderOrIndex_is404AndMalformedBodyIs400() {
        assertThat(server.adminPost("/api/admin/api-key-reset/", "{\"provider\":\"mistral\"}").statusCode()).isEqualTo(404);
        HttpResponse<String> noKey = server.adminPost("/api/admin/api-key-reset/", "{\"provider\":\"openai\",\"index\":7}");
        assertThat(noKey.statusCode()).isEqualTo(404);
        assertThat(TestGateway.json(noKey).at("/error/code").asText()).isEqualTo("unknown_key");
        assertThat(server.adminPost("/api/admin/api-key-reset/", "{\"provider\":").statusCode()).isEqualTo(400);
        assertThat(server.adminPost("/api/admin/api-key-reset/", "{\"index\":0}").statusCode()).isEqualTo(400);
    }

    @Test
    void deactivateAndActivate_changeTheKeyAndAnswerItsStatus() {
        HttpResponse<String> deactivated = server.adminPost("/api/admin/keys/openai/1/deactivate",
                "{\"reason\":\"rotating this key\"}");

        assertThat(deactivated.statusCode()).isEqualTo(200);
        JsonNode key = TestGateway.json(deactivated);
        assertThat(key.get("index").asInt()).isEqualTo(1);
        assertThat(key.get("status").asText()).isEqualTo("deactivated");
        assertThat(key.get("reason").asText()).isEqualTo("rotating this key");
        assertThat(server.gateway.manager().isAvailable(KeyId.of(Provider.OPENAI, 1), 1)).isFalse();

        JsonNode activated = TestGateway.json(server.adminPost("/api/admin/keys/openai/1/activate", null));

        assertThat(activated.get("status").asText()).isEqualTo("active");
        assertThat(server.gateway.manager().isAvailable(KeyId.of(Provider.OPENAI, 1), 1)).isTrue();
        assertThat(server.adminPost("/api/admin/keys/serp/0/activate", null).statusCode()).isEqualTo(404);
        assertThat(server.adminPost("/api/admin/keys/openai/x/activate", null).statusCode()).isEqualTo(404);
    }

    @Test
    void usageReport_totalsAreTheSumsOfWhatProvidersReported() {
        server.served(Provider.OPENAI, "gpt-4o", 200, TokenUsage.of(120, 30));
        server.served(Provider.OPENAI, "gpt-4o", 200, TokenUsage.of(70, 11));
        server.failed(Provider.OPENAI, "gpt-4o-mini", 50, new Failure(FailureKind.RATE_LIMITED, Duration.ofSeconds(3), "429"));

        HttpResponse<String> response = server.adminGet("/api/admin/api-key-usage-report/");

        assertThat(response.statusCode()).isEqualTo(200);
        JsonNode openai = TestGateway.json(response).at("/providers/openai");
        assertThat(openai.get("requests").asLong()).isEqualTo(3);
        assertThat(openai.get("successes").asLong()).isEqualTo(2);
        assertThat(openai.get("failures").asLong()).isEqualTo(1);
        assertThat(openai.get("prompt_tokens").asLong()).isEqualTo(190);
        assertThat(openai.get("completion_tokens").asLong()).isEqualTo(41);
        assertThat(openai.get("total_tokens").asLong()).isEqualTo(231);
        assertThat(openai.at("/failures_by_kind/rate_limited").asLong()).isEqualTo(1);
        JsonNode keys = openai.get("keys");
        assertThat(keys).hasSize(3);
        long keyTotal = 0;
        for (JsonNode key : keys) {
            keyTotal += key.get("total_tokens").asLong();
        }
        assertThat(keyTotal).isEqualTo(231);
        assertThat(keys.get(2).at("/failures_by_kind/rate_limited").asLong()).isEqualTo(1);

        JsonNode history = TestGateway.json(response).get("history");
        JsonNode now = history.get(history.size() - 1);
        assertThat(history).hasSizeGreaterThanOrEqualTo(60);
        JsonNode openaiNow = history.findParents("provider").stream()
                .filter(minute -> minute.get("provider").asText().equals("openai"))
                .reduce((a, b) -> b).orElseThrow();
        assertThat(openaiNow.get("minute").asText()).isEqualTo("2026-01-15T10:00:00Z");
        assertThat(openaiNow.get("requests").asLong()).isEqualTo(3);
        assertThat(openaiNow.get("total_tokens").asLong()).isEqualTo(231);
        assertThat(openaiNow.get("failures").asLong()).isEqualTo(1);
        assertThat(now.get("minute").asText()).isEqualTo("2026-01-15T10:00:00Z");
    }

    @Test
    void usageReport_historyMovesWithTheClock() {
        server.served(Provider.GEMINI, null, 10, TokenUsage.of(5, 5));
        clock.advance(Duration.ofMinutes(3));
        server.served(Provider.GEMINI, null, 10, TokenUsage.of(1, 2));

        JsonNode history = TestGateway.json(server.adminGet("/api/admin/api-key-usage-report")).get("history");

        var gemini = history.findParents("provider").stream()
                .filter(minute -> minute.get("provider").asText().equals("gemini")
                        && minute.get("requests").asLong() > 0)
                .toList();
        assertThat(gemini).extracting(minute -> minute.get("minute").asText())
                .containsExactly("2026-01-15T10:00:00Z", "2026-01-15T10:03:00Z");
        assertThat(gemini).extracting(minute -> minute.get("total_tokens").asLong()).containsExactly(10L, 3L);
    }

    @Test
    void info_saysVersionDemoProvidersAndHowToAddKeys() {
        JsonNode info = TestGateway.json(server.adminGet("/api/admin/info"));

        assertThat(info.get("version").asText()).isNotBlank();
        assertThat(info.get("demo").asBoolean()).isFalse();
        assertThat(info.get("providers_configured").findValuesAsText("x")).isEmpty();
        assertThat(info.get("providers_configured").toString()).isEqualTo("[\"openai\",\"gemini\"]");
        assertThat(info.get("setup_hint").asText()).contains("OPENAI_API_KEYS");
    }

    @Test
    void unknownAdminPath_is404InOpenAiShape() {
        HttpResponse<String> response = server.adminGet("/api/admin/nothing-here");

        assertThat(response.statusCode()).isEqualTo(404);
        assertThat(TestGateway.json(response).at("/error/type").asText()).isEqualTo("invalid_request_error");
    }
}
