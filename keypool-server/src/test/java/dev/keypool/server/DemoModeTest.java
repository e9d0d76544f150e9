package dev.keypool.server;

import dev.keypool.providers.internal.Json;
import dev.keypool.server.demo.DemoTraffic;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --demo}: simulated upstreams and traffic, labelled as a demo, moving real pool numbers. */
class DemoModeTest {

    @TempDir
    Path dir;

    @Test
    void demo_servesSimulatedTrafficThroughThePoolAndSaysItIsADemo() throws Exception {
        Map<String, String> environment = Map.of("KEYPOOL_ADMIN_TOKEN", "demo-test-admin",
                "KEYPOOL_DATA_DIR", dir.resolve("data").toString(),
                // A real key in the environment is ignored in demo mode.
                "OPENAI_API_KEYS", "sk-proj-TEST.demo-test-real-key-0000");
        Main.Started started = Main.start(new String[] {"--demo", "--port", "0", "--env-file",
                java.nio.file.Files.writeString(dir.resolve("demo.env"), "").toString()},
                environment, new PrintStream(PrintStream.nullOutputStream()), System.err);
        Gateway gateway = started.gateway();
        try (HttpClient http = HttpClient.newHttpClient()) {
            assertThat(gateway).as("demo start-up, exit code %d", started.exitCode()).isNotNull();
            JsonNode status = get(http, gateway, "/api/admin/api-key-status/");
            assertThat(status.get("demo").asBoolean()).isTrue();
            assertThat(status.at("/providers/openai/total_keys").asInt()).isEqualTo(3);
            assertThat(status.at("/providers/openai/keys/0/masked_key").asText()).startsWith("sk-d");
            assertThat(status.at("/providers/serp/total_keys").asInt()).isEqualTo(2);
            assertThat(get(http, gateway, "/api/admin/info").get("demo").asBoolean()).isTrue();

            // The demo's own caller, driven one request at a time with a fixed seed: what it sends
            // goes through the pool to the simulated providers and shows in the usage report (the
            // background traffic can only add to it).
            long before = successes(get(http, gateway, "/api/admin/api-key-usage-report/"));
            List<Integer> statuses = new ArrayList<>();
            try (DemoTraffic caller = DemoTraffic.idle(gateway.baseUrl(), "demo-test-admin", null)) {
                Random random = new Random(14); // a chat on gpt-4o-mini, a search, three chats on auto
                for (int i = 0; i < 5; i++) {
                    statuses.add(caller.sendOne(random));
                }
            }
            assertThat(statuses).containsOnly(200);
            assertThat(successes(get(http, gateway, "/api/admin/api-key-usage-report/")) - before)
                    .isGreaterThanOrEqualTo(5);
            assertThat(get(http, gateway, "/api/admin/api-key-status/").at("/providers/ollama/available").asBoolean())
                    .as("the simulated Ollama answers").isTrue();
        } finally {
            if (gateway != null) {
                gateway.close();
            }
        }
    }

    private static long successes(JsonNode report) {
        long successes = 0;
        for (JsonNode provider : report.get("providers")) {
            successes += provider.path("successes").asLong();
        }
        return successes;
    }

    private static JsonNode get(HttpClient http, Gateway gateway, String path) throws Exception {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(gateway.baseUrl() + path))
                .header("Authorization", "Bearer demo-test-admin").timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return Json.readTree(response.body());
    }
}
