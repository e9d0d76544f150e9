package dev.keypool.server;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.config.WindowLimits;
import dev.keypool.redis.testing.RedisServer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * The Redis password appeared in the log at TRACE: the Redis client logs its {@code AUTH} (or
 * {@code HELLO … AUTH}) command. Against a real redis-server with {@code requirepass}, at TRACE,
 * through the production layout.
 */
class RedisPasswordLogTest {

    private static final String PASSWORD = "redis-pass-Xq7-never-logged-42";

    @Test
    void redisPasswordAtTrace_isScrubbedFromTheLog() {
        try (RedisServer redis = RedisServer.start()) {
            requirePassword(redis.port());
            KeypoolConfig config = KeypoolConfig.builder()
                    .addKey(Provider.OPENAI, "sk-proj-TEST.redis-password-test-00", "gpt-4o", WindowLimits.of(1000, 100_000))
                    .baseUrl(Provider.OLLAMA, "http://127.0.0.1:9")
                    .setting("KEYPOOL_REDIS_URL", "redis://:" + PASSWORD + "@127.0.0.1:" + redis.port())
                    .build();
            String text;
            try (LogCapture log = LogCapture.muting(Level.TRACE)) {
                try (TestGateway server = TestGateway.start(config)) {
                    assertThat(server.status().at("/providers/openai/keys/0/status").asText()).isEqualTo("active");
                    assertThat(server.gateway.storeConnected()).isTrue();
                }
                text = log.text();
            }

            // The client's commands were logged at TRACE, the authentication among them, without the password.
            assertThat(text).containsIgnoringCase("AUTH");
            assertThat(text).doesNotContain(PASSWORD);
        }
    }

    /** Turns on {@code requirepass} over the server's own protocol. */
    private static void requirePassword(int port) {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
            socket.setSoTimeout(5000);
            socket.getOutputStream().write(("CONFIG SET requirepass " + PASSWORD + "\r\n").getBytes(StandardCharsets.US_ASCII));
            String reply = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII)).readLine();
            assertThat(reply).isEqualTo("+OK");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
