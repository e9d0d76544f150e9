package dev.keypool.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 14: the packaged gateway, run as an operator runs it, reads its {@code ./.env} again on
 * {@code kill -HUP}: the key written there starts serving and the one taken out gets no further
 * request, as the fake provider's log shows; a file it would refuse at start-up leaves it serving.
 * Without a handler, SIGHUP would end the JVM: the process living on is part of the proof.
 */
class SighupReloadTest {

    private static final String KEY_A = "sk-proj-TEST.sighup-AAAAAAAAAAAA-0000";
    private static final String KEY_B = "sk-proj-TEST.sighup-BBBBBBBBBBBB-1111";

    @TempDir
    Path work;

    @Test
    void sighup_readsTheEnvFileAgain_andARefusedFileLeavesTheGatewayServing() throws Exception {
        try (FaultRun run = new FaultRun(work); HttpClient http = HttpClient.newHttpClient()) {
            Path cwd = run.directory("cwd-sighup");
            Map<String, String> environment = new HashMap<>(run.environment(Map.of(
                    "KEYPOOL_DATA_DIR", run.directory("data").toString())));
            // The keys come from the file only: a real environment variable would win over it.
            environment.keySet().removeIf(name -> name.startsWith("OPENAI_API_KEYS") || name.startsWith("OPENAI_MAX_"));
            Files.writeString(cwd.resolve(".env"), "OPENAI_API_KEYS=" + KEY_A + "\n");
            try (GatewayProcess gateway = GatewayProcess.start("sighup", environment, cwd)) {
                assertThat(Load.send(http, gateway, Load.chat(false))).isEqualTo("200");
                assertThat(run.openAi.keys()).containsExactly(KEY_A);

                Files.writeString(cwd.resolve(".env"), "OPENAI_API_KEYS=" + KEY_B + "\n");
                hangUp(gateway);
                await().atMost(Duration.ofSeconds(30))
                        .until(() -> "applied".equals(gateway.admin("/api/admin/api-key-status/")
                                .at("/last_reload/outcome").asText()));

                for (int i = 0; i < 3; i++) {
                    assertThat(Load.send(http, gateway, Load.chat(false))).isEqualTo("200");
                }
                assertThat(run.openAi.keys()).containsExactly(KEY_A, KEY_B, KEY_B, KEY_B);

                Files.writeString(cwd.resolve(".env"), "OPENAI_API_KEYS=" + KEY_A + "\nKEYPOOL_MAX_INFLIGHT=3\n");
                hangUp(gateway);
                await().atMost(Duration.ofSeconds(30))
                        .until(() -> "refused".equals(gateway.admin("/api/admin/api-key-status/")
                                .at("/last_reload/outcome").asText()));

                assertThat(gateway.alive()).isTrue();
                assertThat(Load.send(http, gateway, Load.chat(false))).isEqualTo("200");
                assertThat(run.openAi.keys()).last().isEqualTo(KEY_B);
                assertThat(gateway.admin("/api/admin/api-key-status/").at("/last_reload/errors/0").asText())
                        .contains("KEYPOOL_MAX_INFLIGHT");
                assertThat(gateway.output()).contains("Keys reloaded").contains("Reload refused")
                        .doesNotContain(KEY_A).doesNotContain(KEY_B);
            }
        }
    }

    private static void hangUp(GatewayProcess gateway) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder(List.of("kill", "-HUP", Long.toString(gateway.pid())))
                .redirectErrorStream(true).start();
        assertThat(kill.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(kill.exitValue()).as(new String(kill.getInputStream().readAllBytes())).isZero();
    }
}
