package dev.keypool.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keypool.config.ConfigException;
import dev.keypool.config.KeypoolConfig;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The edge's settings: defaults, refused values naming their variable, and caps fitted to the file limit. */
class EdgeSettingsTest {

    private static ServerSettings.Edge edge(String... nameValues) {
        KeypoolConfig.Builder config = KeypoolConfig.builder();
        for (int i = 0; i < nameValues.length; i += 2) {
            config.setting(nameValues[i], nameValues[i + 1]);
        }
        return ServerSettings.resolve(config.build(), CommandLine.parse()).edge();
    }

    @Test
    void defaults_holdTenThousandConnectionsAndFiveThousandRequests() {
        ServerSettings.Edge edge = edge();

        assertThat(edge.connections().maxConnections()).isEqualTo(10_000);
        assertThat(edge.maxInFlight()).isEqualTo(5_000);
        assertThat(edge.maxBodyBytesInFlight()).isEqualTo(32L * 1024 * 1024);
        assertThat(edge.connections().headerTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(edge.connections().idleTimeout()).isEqualTo(Duration.ofSeconds(60));
        assertThat(edge.allowedHosts()).isEmpty();
        assertThat(edge.corsOrigins()).isEmpty();
    }

    @Test
    void settings_areRead() {
        ServerSettings.Edge edge = edge("KEYPOOL_MAX_CONNECTIONS", "20000", "KEYPOOL_MAX_IN_FLIGHT", "800",
                "KEYPOOL_MAX_BODY_BYTES_IN_FLIGHT", "1048576", "KEYPOOL_HEADER_TIMEOUT_SECONDS", "5",
                "KEYPOOL_IDLE_TIMEOUT_SECONDS", "30", "KEYPOOL_ALLOWED_HOSTS", "Keypool.Internal, tunnel:9000,[::1]:8080",
                "KEYPOOL_CORS_ORIGINS", "https://App.example.com/, http://localhost:3000");

        assertThat(edge.connections().maxConnections()).isEqualTo(20_000);
        assertThat(edge.maxInFlight()).isEqualTo(800);
        assertThat(edge.maxBodyBytesInFlight()).isEqualTo(1_048_576);
        assertThat(edge.connections().headerTimeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(edge.connections().idleTimeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(edge.allowedHosts()).containsExactly("keypool.internal", "tunnel:9000", "[::1]:8080");
        assertThat(edge.corsOrigins()).containsExactly("https://app.example.com", "http://localhost:3000");
    }

    @ParameterizedTest
    @ValueSource(strings = {"KEYPOOL_MAX_CONNECTIONS", "KEYPOOL_MAX_IN_FLIGHT", "KEYPOOL_MAX_BODY_BYTES_IN_FLIGHT",
            "KEYPOOL_HEADER_TIMEOUT_SECONDS", "KEYPOOL_IDLE_TIMEOUT_SECONDS"})
    void capThatIsNotAPositiveInteger_isRefusedNamingItsVariable(String variable) {
        for (String value : List.of("0", "-5", "many", "1.5")) {
            assertThatThrownBy(() -> edge(variable, value)).isInstanceOf(ConfigException.class)
                    .hasMessageContaining(variable).hasMessageContaining(value);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"http://keypool.internal", "*", "host/path", "*.example.com", "user@host"})
    void allowedHostThatIsNotAHost_isRefusedNamingTheVariable(String value) {
        assertThatThrownBy(() -> edge("KEYPOOL_ALLOWED_HOSTS", value)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("KEYPOOL_ALLOWED_HOSTS");
    }

    @ParameterizedTest
    @ValueSource(strings = {"*", "app.example.com", "ftp://app.example.com", "https://app.example.com/path",
            "https://user@app.example.com"})
    void corsOriginThatIsNotAnOrigin_isRefusedNamingTheVariable(String value) {
        assertThatThrownBy(() -> edge("KEYPOOL_CORS_ORIGINS", value)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("KEYPOOL_CORS_ORIGINS");
    }

    @Test
    void logLevel_isValidatedNamingTheVariable() {
        assertThat(ServerSettings.logLevel(KeypoolConfig.builder().setting("KEYPOOL_LOG_LEVEL", " trace ").build()))
                .isEqualTo("TRACE");
        assertThat(ServerSettings.logLevel(KeypoolConfig.builder().build())).isNull();
        assertThatThrownBy(() -> ServerSettings.logLevel(KeypoolConfig.builder().setting("KEYPOOL_LOG_LEVEL", "verbose")
                .build())).isInstanceOf(ConfigException.class).hasMessageContaining("KEYPOOL_LOG_LEVEL");
    }

    @Test
    void capsWithinTheFileLimit_areKept() {
        ServerSettings.Edge edge = edge();

        assertThat(edge.fitToFileDescriptors(1_048_576)).isSameAs(edge);
        assertThat(edge.fitToFileDescriptors(-1)).isSameAs(edge);
    }

    @Test
    void capsBeyondTheFileLimit_areLoweredToFitIt() {
        ServerSettings.Edge fitted = edge().fitToFileDescriptors(4096);

        long needed = (long) fitted.connections().hardLimit() + fitted.maxInFlight()
                + ServerSettings.Edge.RESERVED_FILE_DESCRIPTORS;
        assertThat(needed).isLessThanOrEqualTo(4096);
        assertThat(fitted.maxInFlight()).isPositive().isLessThan(5_000);
        assertThat(fitted.connections().maxConnections()).isGreaterThan(fitted.maxInFlight()).isLessThan(10_000);
    }
}
