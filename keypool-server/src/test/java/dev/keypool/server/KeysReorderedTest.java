package dev.keypool.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.config.KeyId;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.config.WindowLimits;
import dev.keypool.providers.fake.FakeUpstream;
import dev.keypool.rotation.Reservation;
import dev.keypool.testing.ManualClock;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A gateway restarted on the same data directory with its keys listed in another order: each key
 * keeps its usage, its state and its {@code key_id}, the index is only where it is shown, and the
 * admin reset by index resets the key now at that index.
 */
class KeysReorderedTest {

    static final String KEY_X = "sk-proj-TEST.reordered-test-xxxxxxxx-keyX";
    static final String KEY_Y = "sk-proj-TEST.reordered-test-yyyyyyyy-keyY";

    @TempDir
    Path dataDir;

    private final ManualClock clock = ManualClock.atNoonish();

    private TestGateway start(String first, String second) {
        KeypoolConfig config = KeypoolConfig.builder()
                .baseUrl(Provider.OLLAMA, FakeUpstream.unreachableUrl())
                .addKey(Provider.OPENAI, first, "gpt-4o", WindowLimits.of(10_000, 100))
                .addKey(Provider.OPENAI, second, "gpt-4o", WindowLimits.of(10_000, 100))
                .build();
        return TestGateway.start(config, clock, TestGateway.settings(config, dataDir));
    }

    @Test
    void keysReorderedInEnv_keepTheirUsageStateAndKeyId_andTheAdminResetByIndexFollowsTheKey() {
        String keyIdOfX;
        try (TestGateway before = start(KEY_X, KEY_Y)) {
            try (Reservation onX = before.gateway.rotator().acquire(Provider.OPENAI, "gpt-4o", 90)) {
                assertThat(onX.apiKey()).isEqualTo(KEY_X);
                onX.commit(90);
            }
            before.gateway.manager().deactivate(KeyId.of(Provider.OPENAI, 0), "by the test");
            keyIdOfX = before.status().at("/providers/openai/keys/0/key_id").asText();
        }

        try (TestGateway after = start(KEY_Y, KEY_X)) {
            JsonNode x = after.status().at("/providers/openai/keys/1");
            JsonNode y = after.status().at("/providers/openai/keys/0");
            assertThat(x.get("key_id").asText()).isEqualTo(keyIdOfX);
            assertThat(x.get("tokens_used_day").asLong()).isEqualTo(90);
            assertThat(x.get("status").asText()).isEqualTo("deactivated");
            assertThat(y.get("tokens_used_day").asLong()).isZero();
            assertThat(y.get("status").asText()).isEqualTo("active");

            assertThat(after.adminPost("/api/admin/api-key-reset/", "{\"provider\": \"openai\", \"index\": 1}")
                    .statusCode()).isEqualTo(200);
            assertThat(after.status().at("/providers/openai/keys/1/status").asText()).isEqualTo("active");
            assertThat(after.status().at("/providers/openai/keys/1/key_id").asText()).isEqualTo(keyIdOfX);
        }
    }
}
