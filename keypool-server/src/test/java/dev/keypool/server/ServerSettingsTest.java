package dev.keypool.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.keypool.config.ConfigException;
import dev.keypool.config.EnvConfigLoader;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Where the gateway listens, its tokens and its Redis: the server's and the Redis store's own
 * variables, read from the environment by their modules (core's configuration only keeps them as
 * given).
 */
class ServerSettingsTest {

    private static ServerSettings resolve(String... nameValues) {
        Map<String, String> variables = new HashMap<>();
        for (int i = 0; i < nameValues.length; i += 2) {
            variables.put(nameValues[i], nameValues[i + 1]);
        }
        return ServerSettings.resolve(EnvConfigLoader.fromVariables(variables), CommandLine.parse());
    }

    @Test
    void withNothingSet_listensOnLoopback8080_withAGeneratedAdminToken_andNoClientTokens() {
        ServerSettings settings = resolve();

        assertThat(settings.host()).isEqualTo("127.0.0.1");
        assertThat(settings.port()).isEqualTo(8080);
        assertThat(settings.adminTokenGenerated()).isTrue();
        assertThat(settings.adminToken()).startsWith("kpa-");
        assertThat(settings.clientTokens()).isEmpty();
    }

    @Test
    void readsTheListenAddressAndTokens() {
        ServerSettings settings = resolve("KEYPOOL_HOST", " 0.0.0.0 ", "KEYPOOL_PORT", "9090",
                "KEYPOOL_ADMIN_TOKEN", "admin-secret", "KEYPOOL_CLIENT_TOKENS", "a, b",
                "KEYPOOL_REDIS_URL", "redis://localhost:6379");

        assertThat(settings.host()).isEqualTo("0.0.0.0");
        assertThat(settings.port()).isEqualTo(9090);
        assertThat(settings.adminToken()).isEqualTo("admin-secret");
        assertThat(settings.adminTokenGenerated()).isFalse();
        assertThat(settings.clientTokens()).containsExactly("a", "b");
    }

    @Test
    void theCommandLine_winsOverTheVariables() {
        ServerSettings settings = ServerSettings.resolve(EnvConfigLoader.fromVariables(
                Map.of("KEYPOOL_HOST", "0.0.0.0", "KEYPOOL_PORT", "9090")), CommandLine.parse("--host", "::1",
                "--port", "0"));

        assertThat(settings.host()).isEqualTo("::1");
        assertThat(settings.port()).isZero();
    }

    @ParameterizedTest
    @ValueSource(strings = {"abc", "80.5", "-1", "65536", "99999999999"})
    void aBadPort_isRefusedNamingTheVariable(String port) {
        ConfigException refusal = catchThrowableOfType(ConfigException.class, () -> resolve("KEYPOOL_PORT", port));

        assertThat(refusal.variable()).isEqualTo("KEYPOOL_PORT");
        assertThat(refusal).hasMessageContaining(port);
    }

    @ParameterizedTest(name = "{0}={1}")
    @CsvSource({
            "KEYPOOL_REDIS_URL, http://localhost:6379",
            "KEYPOOL_CLIENT_TOKENS, 'a,,b'",
            "KEYPOOL_INSTANCES, 0",
            "KEYPOOL_ALLOW_PUBLIC, maybe"})
    void otherBadValues_areRefusedNamingTheVariable(String variable, String value) {
        ConfigException refusal = catchThrowableOfType(ConfigException.class, () -> resolve(variable, value));

        assertThat(refusal.variable()).isEqualTo(variable);
        assertThat(refusal).hasMessageStartingWith(variable + ": ");
    }
}
