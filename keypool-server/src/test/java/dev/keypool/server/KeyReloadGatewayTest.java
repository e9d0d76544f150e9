package dev.keypool.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.config.KeyMask;
import dev.keypool.providers.fake.FakeOpenAi;
import dev.keypool.providers.fake.Gate;
import dev.keypool.testing.ManualClock;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 14: keys that change while the gateway runs, over real HTTP. The test rewrites the
 * gateway's {@code --env-file} and calls {@code POST /api/admin/reload}; which key served is judged
 * from the fake provider's own log of the keys it saw.
 */
class KeyReloadGatewayTest {

    private static final String KEY_A = "sk-proj-TEST.reload-AAAAAAAAAAAA-0000";
    private static final String KEY_B = "sk-proj-TEST.reload-BBBBBBBBBBBB-1111";
    private static final String KEY_C = "sk-proj-TEST.reload-CCCCCCCCCCCC-2222";
    private static final String BODY = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
            + "\"max_tokens\":16}";

    @TempDir
    Path dir;

    private FakeOpenAi openAi;
    private Path envFile;
    private TestGateway server;
    private final HttpClient http = HttpClient.newHttpClient();

    @BeforeEach
    void start() throws IOException {
        openAi = FakeOpenAi.start();
        envFile = dir.resolve("test.env");
        writeEnv("OPENAI_API_KEYS=" + KEY_A + "," + KEY_B);
        ConfigReload.Source source = new ConfigReload.Source(Map.of(), envFile, true, CommandLine.parse());
        var config = source.loadChecked();
        server = TestGateway.start(config, ManualClock.atNoonish(), TestGateway.settings(config, dir.resolve("data")),
                source);
    }

    @AfterEach
    void stop() {
        server.close();
        openAi.close();
        http.close();
    }

    /** The .env of the test: the fake provider, no Ollama, round-robin, and {@code lines}. */
    private void writeEnv(String... lines) throws IOException {
        List<String> all = new ArrayList<>(List.of("OPENAI_BASE_URL=" + openAi.baseUrl(), "OLLAMA_HOST=http://127.0.0.1:9",
                "KEYPOOL_PROVIDER_PRIORITY=openai", "KEYPOOL_SELECTION_STRATEGY=round-robin"));
        all.addAll(List.of(lines));
        Files.write(envFile, all);
    }

    private HttpRequest.Builder chat() {
        return HttpRequest.newBuilder(URI.create(server.url("/v1/chat/completions")))
                .header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.ofString(BODY));
    }

    /** Sends {@code count} chat requests, each answered 200, and returns the keys the provider saw for them. */
    private List<String> serve(int count) {
        int before = openAi.keys().size();
        for (int i = 0; i < count; i++) {
            assertThat(server.send(chat()).statusCode()).isEqualTo(200);
        }
        List<String> keys = openAi.keys();
        return keys.subList(before, keys.size());
    }

    private HttpResponse<String> reload() {
        return server.adminPost("/api/admin/reload", null);
    }

    @Test
    void reload_afterTheEnvChanged_removedKeyGetsNoFurtherRequest_addedKeyServes_andTheAnswerSaysWhatChanged()
            throws IOException {
        assertThat(serve(2)).containsExactly(KEY_A, KEY_B);
        writeEnv("OPENAI_API_KEYS=" + KEY_B + "," + KEY_C);

        HttpResponse<String> answer = reload();

        assertThat(answer.statusCode()).isEqualTo(200);
        assertThat(answer.body()).doesNotContain(KEY_A, KEY_B, KEY_C);
        JsonNode openai = TestGateway.json(answer).at("/providers/openai");
        assertThat(TestGateway.json(answer).path("outcome").asText()).isEqualTo("applied");
        assertThat(openai.at("/removed/0/masked_key").asText()).isEqualTo(KeyMask.mask(KEY_A));
        assertThat(openai.at("/removed/0/index").asInt()).isZero();
        assertThat(openai.at("/added/0/masked_key").asText()).isEqualTo(KeyMask.mask(KEY_C));
        assertThat(openai.at("/added/0/index").asInt()).isEqualTo(2);
        assertThat(openai.at("/kept/0/masked_key").asText()).isEqualTo(KeyMask.mask(KEY_B));
        assertThat(openai.at("/kept/0/changed").toString()).isEqualTo("[\"position\"]");
        assertThat(TestGateway.json(answer).path("restart_required").isEmpty()).isTrue();

        List<String> after = serve(4);
        assertThat(after).doesNotContain(KEY_A).contains(KEY_C).containsOnly(KEY_B, KEY_C);

        JsonNode status = server.status();
        assertThat(status.at("/providers/openai/keys").findValuesAsText("masked_key"))
                .containsExactly(KeyMask.mask(KEY_B), KeyMask.mask(KEY_C));
        assertThat(status.at("/providers/openai/total_keys").asInt()).isEqualTo(2);
        assertThat(status.at("/last_reload/outcome").asText()).isEqualTo("applied");
        assertThat(status.at("/last_reload/changes/providers/openai/added/0/index").asInt()).isEqualTo(2);
        assertThat(TestGateway.json(server.adminGet("/api/admin/info")).at("/last_reload/outcome").asText())
                .isEqualTo("applied");
        assertThat(server.get("/metrics").body()).contains("keypool_reloads_total{outcome=\"applied\"} 1.0")
                .contains("keypool_key_available{key_index=\"2\",provider=\"openai\"} 1.0")
                .doesNotContain("keypool_key_available{key_index=\"0\",provider=\"openai\"}");
    }

    @Test
    void reload_ofAKeyWithARequestInFlight_takesItOutOfTheSelection_andItsRequestStillSettlesOnIt() throws Exception {
        Gate gate = new Gate();
        openAi.enqueue(KEY_A, exchange -> {
            exchange.await(gate);
            FakeOpenAi.completion("held", 5, 1).send(exchange);
        });
        CompletableFuture<HttpResponse<String>> held = http.sendAsync(chat().build(), HttpResponse.BodyHandlers.ofString());
        await().atMost(Duration.ofSeconds(15))
                .until(() -> server.keyStatus("openai", 0).path("requests_in_flight").asInt() == 1);
        try {
            writeEnv("OPENAI_API_KEYS=" + KEY_B);
            assertThat(reload().statusCode()).isEqualTo(200);

            JsonNode leaving = server.status().at("/providers/openai/leaving_keys");
            assertThat(leaving.findValuesAsText("masked_key")).containsExactly(KeyMask.mask(KEY_A));
            assertThat(leaving.at("/0/requests_in_flight").asInt()).isEqualTo(1);
            assertThat(serve(3)).containsOnly(KEY_B);
        } finally {
            gate.open();
        }
        HttpResponse<String> heldAnswer = held.get(30, TimeUnit.SECONDS);
        assertThat(heldAnswer.statusCode()).as(heldAnswer.body()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(15))
                .until(() -> server.status().at("/providers/openai/leaving_keys").isEmpty());

        // Back in .env, the key returns with what its settled request used: it was counted on it.
        writeEnv("OPENAI_API_KEYS=" + KEY_B + "," + KEY_A);
        assertThat(reload().statusCode()).isEqualTo(200);
        JsonNode back = server.keyStatus("openai", 1);
        assertThat(back.path("masked_key").asText()).isEqualTo(KeyMask.mask(KEY_A));
        assertThat(back.path("index").asInt()).isZero();
        assertThat(back.path("tokens_used_day").asLong()).isEqualTo(6);
    }

    @Test
    void reload_ofAnEnvStartUpWouldRefuse_isRefusedWhole_withStartUpsMessage_andThePoolServesOn() throws IOException {
        writeEnv("OPENAI_API_KEYS=" + KEY_C, "KEYPOOL_MAX_INFLIGHT=10");
        ByteArrayOutputStream startUpErrors = new ByteArrayOutputStream();
        Main.Started refusedAtStartUp = Main.start(new String[] {"--env-file", envFile.toString()}, Map.of(),
                new java.io.PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                new java.io.PrintStream(startUpErrors, true, StandardCharsets.UTF_8));
        assertThat(refusedAtStartUp.exitCode()).isEqualTo(Main.EXIT_CONFIG);
        String startUpMessage = startUpErrors.toString(StandardCharsets.UTF_8).strip()
                .replace("keypool: configuration error: ", "");

        HttpResponse<String> answer = reload();

        assertThat(answer.statusCode()).isEqualTo(422);
        JsonNode error = TestGateway.json(answer).path("error");
        assertThat(error.path("code").asText()).isEqualTo("invalid_configuration");
        assertThat(error.path("param").asText()).isEqualTo("KEYPOOL_MAX_INFLIGHT");
        assertThat(error.path("message").asText()).contains(startUpMessage)
                .contains("did you mean KEYPOOL_MAX_IN_FLIGHT?");
        assertThat(serve(2)).containsExactly(KEY_A, KEY_B);
        JsonNode status = server.status();
        assertThat(status.at("/providers/openai/keys").findValuesAsText("masked_key"))
                .containsExactly(KeyMask.mask(KEY_A), KeyMask.mask(KEY_B));
        assertThat(status.at("/last_reload/outcome").asText()).isEqualTo("refused");
        assertThat(status.at("/last_reload/errors/0").asText()).contains(startUpMessage);
        assertThat(server.get("/metrics").body()).contains("keypool_reloads_total{outcome=\"refused\"} 1.0");

        writeEnv("OPENAI_API_KEYS=" + KEY_A + "," + KEY_C, "OPENAI_MAX_TOKENS_PER_MINUTE_1=plenty");
        HttpResponse<String> badLimit = reload();
        assertThat(badLimit.statusCode()).isEqualTo(422);
        assertThat(TestGateway.json(badLimit).at("/error/param").asText()).isEqualTo("OPENAI_MAX_TOKENS_PER_MINUTE_1");
        assertThat(serve(2)).containsExactly(KEY_A, KEY_B);
    }

    @Test
    void reload_ofASettingOnlyARestartApplies_appliesTheKeys_andNamesTheSetting() throws IOException {
        writeEnv("OPENAI_API_KEYS=" + KEY_A + "," + KEY_B + "," + KEY_C, "KEYPOOL_PORT=9999");

        HttpResponse<String> answer = reload();

        assertThat(answer.statusCode()).isEqualTo(200);
        assertThat(TestGateway.json(answer).path("restart_required").toString()).isEqualTo("[\"KEYPOOL_PORT\"]");
        assertThat(serve(3)).containsExactlyInAnyOrder(KEY_A, KEY_B, KEY_C);
    }

    @Test
    void reload_needsTheAdminToken() {
        HttpResponse<String> anonymous = server.send(HttpRequest.newBuilder(URI.create(server.url("/api/admin/reload")))
                .POST(HttpRequest.BodyPublishers.noBody()));

        assertThat(anonymous.statusCode()).isEqualTo(401);
        assertThat(server.status().path("last_reload").isNull()).isTrue();
    }
}
