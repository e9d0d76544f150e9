package dev.keypool.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.config.WindowLimits;
import dev.keypool.providers.fake.FakeUpstream;
import dev.keypool.rotation.Reservation;
import dev.keypool.testing.ManualClock;
import dev.keypool.usage.DurableUsageStore;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 11: with the disk full the gateway kept serving while nothing reached the data directory,
 * {@code /health} said UP and nothing was logged or shown. Now the store says it is degraded on
 * {@code /health}, in the status's store section and alerts (which the dashboard shows), and once
 * in the log.
 */
class DataDirectoryUnwritableTest {

    @TempDir
    Path dataDir;

    @Test
    void unwritableDataDirectory_isDegradedOnHealthStatusAndAlerts_andLoggedOnce() throws IOException {
        ManualClock clock = ManualClock.atNoonish();
        KeypoolConfig config = KeypoolConfig.builder()
                .baseUrl(Provider.OLLAMA, FakeUpstream.unreachableUrl())
                .addKey(Provider.OPENAI, "sk-proj-TEST.disk-full-test-aaaaaaaa-key0", "gpt-4o", WindowLimits.of(10_000, 1_000_000))
                .build();
        try (LogCapture log = new LogCapture(); TestGateway server = TestGateway.start(config, clock,
                TestGateway.settings(config, dataDir))) {
            DurableUsageStore store = (DurableUsageStore) server.gateway.manager().store();
            assertThat(TestGateway.json(server.get("/health")).path("status").asText()).isEqualTo("UP");
            // As good as a full disk: the snapshot can no longer be replaced.
            Files.createDirectories(dataDir.resolve(DurableUsageStore.FILE_NAME + ".tmp"));

            for (int i = 0; i < 3; i++) {
                try (Reservation reservation = server.gateway.rotator().acquire(Provider.OPENAI, "gpt-4o", 100)) {
                    reservation.commit(80);
                }
                try {
                    store.flush();
                } catch (IOException expected) {
                    // what the background writer meets every second
                }
            }

            HttpResponse<String> response = server.get("/health");
            JsonNode health = TestGateway.json(response);
            assertThat(response.statusCode()).as("it still serves").isEqualTo(200);
            assertThat(health.path("status").asText()).isEqualTo("DEGRADED");
            assertThat(health.at("/checks/store/degraded").asBoolean()).isTrue();
            assertThat(health.at("/checks/store/problem").asText()).contains(dataDir.toAbsolutePath().toString());
            JsonNode status = server.status();
            assertThat(status.at("/store/degraded").asBoolean()).isTrue();
            assertThat(status.at("/store/problem").asText()).contains("cannot be written");
            assertThat(status.get("alerts").get(0).get("level").asText()).isEqualTo("critical");
            assertThat(status.get("alerts").get(0).get("message").asText()).contains("cannot be written")
                    .contains("a crash would lose it");
            assertThat(log.text().lines().filter(line -> line.contains("Cannot write the usage snapshot")))
                    .as("logged once, not once per write").hasSize(1);

            Files.delete(dataDir.resolve(DurableUsageStore.FILE_NAME + ".tmp"));
            store.flush();
            assertThat(TestGateway.json(server.get("/health")).path("status").asText()).isEqualTo("UP");
            assertThat(server.status().at("/store/degraded").asBoolean()).isFalse();
        }
    }
}
