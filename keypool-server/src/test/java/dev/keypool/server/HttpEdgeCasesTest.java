package dev.keypool.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keypool.testing.CloseAfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What raw clients send that Helidon dropped or left hanging: HTTP/1.0 (load-balancer health
 * checks), an over-long URL, {@code Connection: close}. Each answer comes back in the API's shape,
 * and the connection ends when it should.
 */
class HttpEdgeCasesTest {

    @RegisterExtension
    final CloseAfterEach closing = new CloseAfterEach();
    private final TestGateway server = closing.add(TestGateway.startWithoutKeys());

    private RawHttp connect() {
        return RawHttp.connect(server.gateway.port());
    }

    @Test
    void http10HealthCheck_isAnsweredInsteadOfDropped() {
        try (RawHttp http = connect()) {
            RawHttp.Answer answer = http.send("GET /health HTTP/1.0\r\n\r\n").answer();

            assertThat(answer.status()).isEqualTo(200);
            assertThat(TestGateway.json(answer.body()).path("status").asText()).isEqualTo("UP");
            assertThat(answer.header("Content-Length")).isNotNull();
            assertThat(answer.header("Connection")).isEqualTo("close");
            assertThat(http.closedByServer()).isTrue();
        }
    }

    @Test
    void http10WithHostAndKeepAlive_isAnsweredAndClosed() {
        try (RawHttp http = connect()) {
            RawHttp.Answer answer = http.send("GET /health/live HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n"
                    + "User-Agent: ELB-HealthChecker/2.0\r\n\r\n").answer();

            assertThat(answer.status()).isEqualTo(200);
            assertThat(answer.body()).contains("UP");
            assertThat(http.closedByServer()).isTrue();
        }
    }

    @Test
    void http10Post_keepsItsBody() {
        String body = "{\"model\": \"gpt-4o\"}";
        try (RawHttp http = connect()) {
            RawHttp.Answer answer = http.send("POST /v1/chat/completions HTTP/1.0\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + body.length() + "\r\n\r\n" + body).answer();

            // The body arrived whole and was read: the missing 'messages' is what is refused.
            assertThat(answer.status()).isEqualTo(400);
            assertThat(answer.body()).contains("messages");
        }
    }

    @Test
    void hundredKilobyteUrl_gets414InsteadOfADrop() {
        try (RawHttp http = connect()) {
            RawHttp.Answer answer = http.send("GET /v1/models?q=" + "a".repeat(100_000) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                    .answer();

            assertThat(answer.status()).isEqualTo(414);
            assertThat(TestGateway.json(answer.body()).path("error").path("code").asText()).isEqualTo("request_line_too_long");
            assertThat(answer.header("Content-Type")).startsWith("application/json");
            assertThat(http.closedByServer()).isTrue();
        }
    }

    @Test
    void connectionClose_isAnsweredAndThenTheSocketIsClosed() {
        try (RawHttp http = connect()) {
            RawHttp.Answer answer = http.send("GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                    .answer();

            assertThat(answer.status()).isEqualTo(200);
            assertThat(answer.header("Connection")).isEqualTo("close");
            assertThat(http.closedByServer()).isTrue();
        }
    }

    @Test
    void keptAliveConnection_servesASecondRequest() {
        try (RawHttp http = connect()) {
            assertThat(http.send("GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").answer().status()).isEqualTo(200);
            assertThat(http.send("GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").answer().status()).isEqualTo(200);
        }
    }

    @Test
    void http10OnASecondRequest_getsA505InTheApiShape() {
        try (RawHttp http = connect()) {
            assertThat(http.send("GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").answer().status()).isEqualTo(200);
            RawHttp.Answer answer = http.send("GET /health/live HTTP/1.0\r\n\r\n").answer();

            assertThat(answer.status()).isEqualTo(505);
            assertThat(TestGateway.json(answer.body()).path("error").path("code").asText())
                    .isEqualTo("http_version_not_supported");
        }
    }

    @Test
    void hugeHeaders_get400InTheApiShape() {
        try (RawHttp http = connect()) {
            RawHttp.Answer answer = http.send("GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: "
                    + "b".repeat(40_000) + "\r\n\r\n").answer();

            assertThat(answer.status()).isEqualTo(400);
            assertThat(TestGateway.json(answer.body()).path("error").path("message").asText()).contains("headers");
        }
    }
}
