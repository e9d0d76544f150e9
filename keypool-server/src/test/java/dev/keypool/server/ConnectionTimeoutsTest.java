package dev.keypool.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.server.connection.ConnectionLimits;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Slow and idle connections are closed after their documented timeouts (slowloris held memory for
 * ever). Time is a ticker the test moves; the sweep that enforces the timeouts is called directly.
 */
class ConnectionTimeoutsTest {

    private static final Duration HEADER_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration IDLE_TIMEOUT = Duration.ofSeconds(60);

    private final AtomicLong ticker = new AtomicLong(1_000_000_000L);
    private TestGateway server;

    @BeforeEach
    void start() {
        KeypoolConfig config = KeypoolConfig.builder().baseUrl(Provider.OLLAMA, "http://127.0.0.1:9").build();
        ServerSettings settings = TestGateway.settings(config);
        settings = settings.withEdge(settings.edge().withConnections(
                new ConnectionLimits(100, HEADER_TIMEOUT, IDLE_TIMEOUT, Duration.ofSeconds(1))));
        server = TestGateway.start(config, settings, ticker::get);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private void advance(Duration duration) {
        ticker.addAndGet(duration.toNanos());
        server.gateway.connections().sweep();
    }

    private RawHttp connected() {
        RawHttp http = RawHttp.connect(server.gateway.port());
        // Served only once accepted: an answer on another connection comes after this one is accepted.
        awaitOpen(1);
        return http;
    }

    private void awaitOpen(int connections) {
        await().atMost(Duration.ofSeconds(10)).until(() -> server.gateway.connections().open() >= connections);
    }

    /** Until the connection's thread waits for the client again (after an answer, or inside a body). */
    private void awaitWaitingForClient() {
        await().atMost(Duration.ofSeconds(10)).until(() -> server.gateway.connections().waitingOutsideHeads() == 1);
    }

    @Test
    void slowlorisHead_isClosedAfterTheHeaderTimeout() {
        try (RawHttp http = connected()) {
            http.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
            advance(HEADER_TIMEOUT.minusSeconds(1));
            http.send("a");
            assertThat(http.stillOpenAfter(200)).isTrue();

            advance(Duration.ofSeconds(2));

            assertThat(http.closedByServer()).isTrue();
            assertThat(server.gateway.connections().headerTimeouts()).isEqualTo(1);
        }
    }

    @Test
    void connectionThatSendsNothing_isClosedAfterTheHeaderTimeout() {
        try (RawHttp http = connected()) {
            advance(HEADER_TIMEOUT.plusSeconds(1));

            assertThat(http.closedByServer()).isTrue();
        }
    }

    @Test
    void keptAliveConnection_isClosedAfterTheIdleTimeoutNotTheHeaderTimeout() {
        try (RawHttp http = connected()) {
            assertThat(http.send("GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").answer().status()).isEqualTo(200);
            awaitWaitingForClient();
            advance(HEADER_TIMEOUT.multipliedBy(3));
            assertThat(http.stillOpenAfter(200)).isTrue();
            assertThat(http.send("GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").answer().status()).isEqualTo(200);
            awaitWaitingForClient();

            advance(IDLE_TIMEOUT.plusSeconds(1));

            assertThat(http.closedByServer()).isTrue();
            assertThat(server.gateway.connections().idleTimeouts()).isEqualTo(1);
        }
    }

    @Test
    void stalledRequestBody_isClosedAfterTheIdleTimeout() {
        try (RawHttp http = connected()) {
            http.send("POST /api/admin/api-key-reset/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
                    + TestGateway.ADMIN_TOKEN + "\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"pro");
            awaitWaitingForClient();
            advance(IDLE_TIMEOUT.minusSeconds(1));
            assertThat(http.stillOpenAfter(200)).isTrue();

            advance(Duration.ofSeconds(2));

            assertThat(http.closedByServer()).isTrue();
        }
    }

    @Test
    void connectionsClosedOnTimeouts_areCountedInMetrics() {
        try (RawHttp http = connected()) {
            advance(HEADER_TIMEOUT.plusSeconds(1));
            assertThat(http.closedByServer()).isTrue();
        }

        String metrics = server.get("/metrics").body();

        assertThat(metrics).contains("keypool_http_connections_closed_total{reason=\"header_timeout\"} 1.0");
    }
}
