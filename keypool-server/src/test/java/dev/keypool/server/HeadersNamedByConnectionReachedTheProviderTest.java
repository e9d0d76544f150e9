package dev.keypool.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.providers.fake.FakeOllama;
import dev.keypool.providers.fake.RecordedRequest;
import dev.keypool.testing.CloseAfterEach;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Regression: the headers a caller's {@code Connection} header names are hop-by-hop (RFC 9110
 * §7.6.1) and must not cross a proxy, but the gateway passed them on. The JDK's own HTTP client, in
 * its default HTTP/2 mode, sends {@code Connection: Upgrade, HTTP2-Settings} with its
 * {@code HTTP2-Settings} on every plain-HTTP request, and that header reached the provider.
 */
class HeadersNamedByConnectionReachedTheProviderTest {

    private static final String CHAT = "{\"model\": \"llama3.2\", \"stream\": false, \"messages\": [{\"role\": \"user\","
            + " \"content\": \"hi\"}]}";

    @RegisterExtension
    final CloseAfterEach closing = new CloseAfterEach();
    private final FakeOllama ollama = closing.add(FakeOllama.start());
    private final TestGateway server = closing.add(
            TestGateway.start(KeypoolConfig.builder().baseUrl(Provider.OLLAMA, ollama.baseUrl()).build()));

    @Test
    void jdkHttp2Client_itsUpgradeHeadersDoNotReachTheProvider() throws Exception {
        try (HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()) {
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(server.url("/api/chat")))
                    .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(CHAT)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(response.statusCode()).isEqualTo(200);
        }

        RecordedRequest received = chat();
        assertThat(received.headers()).doesNotContainKeys("http2-settings", "upgrade");
        assertThat(received.header("content-type")).isEqualTo("application/json");
    }

    @Test
    void aHeaderTheCallersConnectionNames_doesNotReachTheProvider() throws IOException {
        byte[] body = CHAT.getBytes(StandardCharsets.UTF_8);
        String head = "POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + "Connection: keep-alive, X-Hop-Only\r\nX-Hop-Only: for the gateway alone\r\nX-End-To-End: kept\r\n"
                + "Content-Length: " + body.length + "\r\n\r\n";
        try (Socket socket = new Socket(InetAddress.getByName("127.0.0.1"), server.gateway.port())) {
            socket.setSoTimeout(30_000);
            OutputStream out = socket.getOutputStream();
            out.write(head.getBytes(StandardCharsets.US_ASCII));
            out.write(body);
            out.flush();
            InputStream in = socket.getInputStream();
            byte[] status = in.readNBytes("HTTP/1.1 200".length());
            assertThat(new String(status, StandardCharsets.US_ASCII)).isEqualTo("HTTP/1.1 200");
        }

        RecordedRequest received = chat();
        assertThat(received.headers()).doesNotContainKey("x-hop-only");
        assertThat(received.header("x-end-to-end")).isEqualTo("kept");
        assertThat(received.bodyBytes()).isEqualTo(body);
    }

    private RecordedRequest chat() {
        return ollama.requests("/api/chat").get(0);
    }
}
