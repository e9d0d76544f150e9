package dev.keypool.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.management.UnixOperatingSystemMXBean;
import dev.keypool.providers.fake.FakeOpenAi;
import dev.keypool.providers.fake.Gate;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real gateway, in a child JVM with the launcher's own flags, under a bounded flood: thousands
 * of connections that send half a request head and then nothing, and thousands of requests at once
 * on an upstream that holds every one it gets. With the 96 MiB heap and no caps, about 4,000 idle
 * connections or 1,000 held requests ran the JVM out of memory and the process exited. Checked from
 * outside: the process stays up, answers its health check and, once the upstream answers, a normal
 * request; the upstream's own log saw no more requests than the cap; the excess was refused with
 * 503 and {@code Retry-After} while the admitted ones were still held (refused, not queued); and
 * connections past the connection cap get 503 too.
 */
class GatewayFloodTest {

    private static final String KEY = "sk-proj-TEST.flood-test-key-0000000";
    private static final String CHAT = "{\"model\":\"gpt-4o\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

    @TempDir
    Path dir;

    /** The flood's size, scaled down where the test JVM may not open enough files for it. */
    private static double scale() {
        long maxFiles = ManagementFactory.getOperatingSystemMXBean() instanceof UnixOperatingSystemMXBean unix
                ? unix.getMaxFileDescriptorCount() : 10_000;
        return Math.max(0.05, Math.min(1.0, (maxFiles - 1_000) / 9_000.0));
    }

    /** The gateway's own count of open connections, from its metrics. */
    private static int openConnections(int port) {
        try (RawHttp http = RawHttp.connect(port)) {
            String metrics = http.send("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").answer().body();
            return metrics.lines().filter(line -> line.startsWith("keypool_http_connections "))
                    .mapToInt(line -> (int) Double.parseDouble(line.substring(line.indexOf(' ') + 1)))
                    .findFirst().orElseThrow();
        }
    }

    @Test
    void floodOfIdleConnectionsAndHeldRequests_leavesTheProcessServing() throws Exception {
        double scale = scale();
        int idle = (int) (4_000 * scale);
        int maxInFlight = (int) (1_000 * scale);
        int requests = maxInFlight + (int) (500 * scale);
        int maxConnections = idle + requests + (int) (500 * scale);
        int beyondCap = (int) (200 * scale);
        Gate gate = new Gate();
        try (FakeOpenAi openAi = FakeOpenAi.start();
                ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            openAi.replyByDefault(exchange -> {
                exchange.await(gate);
                FakeOpenAi.completion("held", 5, 1).send(exchange);
            });
            Map<String, String> environment = Map.of(
                    "OPENAI_API_KEYS", KEY,
                    "OPENAI_BASE_URL", openAi.baseUrl(),
                    "OLLAMA_HOST", "http://127.0.0.1:9",
                    "KEYPOOL_DATA_DIR", dir.resolve("data").toString(),
                    "KEYPOOL_ADMIN_TOKEN", TestGateway.ADMIN_TOKEN,
                    "KEYPOOL_MAX_IN_FLIGHT", Integer.toString(maxInFlight),
                    "KEYPOOL_MAX_CONNECTIONS", Integer.toString(maxConnections),
                    // Slow heads stay for the length of the test: the timeouts have their own test.
                    "KEYPOOL_HEADER_TIMEOUT_SECONDS", "600");
            List<RawHttp> held = Collections.synchronizedList(new ArrayList<>());
            try (ChildGateway child = ChildGateway.launch(environment, dir, ChildGateway.launcherJavaOptions(), Main.class)) {
                int port = child.port();

                // Thousands of connections that send half a request head and then nothing.
                for (int i = 0; i < idle; i++) {
                    held.add(RawHttp.connect(port).send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "));
                }

                // Thousands of requests at once; the upstream holds every one it receives.
                ConcurrentLinkedQueue<RawHttp.Answer> refusals = new ConcurrentLinkedQueue<>();
                AtomicInteger transportErrors = new AtomicInteger();
                List<Future<RawHttp.Answer>> answers = new ArrayList<>();
                for (int i = 0; i < requests; i++) {
                    answers.add(clients.submit(() -> {
                        try (RawHttp http = RawHttp.connect(port, 120_000)) {
                            RawHttp.Answer answer = http.send("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                    + "Content-Type: application/json\r\nContent-Length: " + CHAT.length() + "\r\n\r\n" + CHAT)
                                    .answer();
                            if (answer.status() == 503) {
                                refusals.add(answer);
                            }
                            return answer;
                        } catch (RuntimeException e) {
                            transportErrors.incrementAndGet();
                            throw e;
                        }
                    }));
                }
                // The excess comes back while every admitted request is still held upstream.
                await().atMost(Duration.ofSeconds(60)).until(() -> refusals.size() + transportErrors.get()
                        >= requests - maxInFlight && openAi.requests("/v1/chat/completions").size() >= maxInFlight);
                assertThat(transportErrors).hasValue(0);
                assertThat(refusals).hasSize(requests - maxInFlight).allSatisfy(answer -> {
                    assertThat(answer.header("Retry-After")).isEqualTo("1");
                    assertThat(TestGateway.json(answer.body()).at("/error/code").asText()).isEqualTo("overloaded_in_flight");
                });
                assertThat(openAi.requests("/v1/chat/completions")).hasSize(maxInFlight);

                // Alive and answering while the flood is held.
                assertThat(child.alive()).isTrue();
                try (RawHttp health = RawHttp.connect(port)) {
                    assertThat(health.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").answer().status()).isEqualTo(200);
                }

                // Fill the connection cap: the connections past it are answered 503 and closed, but
                // for a health check, which is answered.
                // Open now: the slow heads, the held requests, and the connection that asks.
                await().atMost(Duration.ofSeconds(30)).until(() -> openConnections(port) == idle + maxInFlight + 1);
                int room = maxConnections - idle - maxInFlight;
                int refusedConnections = 0;
                for (int i = 0; i < room + beyondCap; i++) {
                    RawHttp http = RawHttp.connect(port);
                    RawHttp.Answer answer = http.send("GET /api/admin/info HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                            + "Authorization: Bearer " + TestGateway.ADMIN_TOKEN + "\r\n\r\n").answer();
                    if (answer.status() == 503) {
                        refusedConnections++;
                        assertThat(answer.header("Retry-After")).isEqualTo("1");
                        assertThat(TestGateway.json(answer.body()).at("/error/code").asText()).isEqualTo("overloaded_connections");
                        assertThat(http.closedByServer()).isTrue();
                        http.close();
                    } else {
                        held.add(http);
                    }
                }
                assertThat(refusedConnections).isEqualTo(beyondCap);
                try (RawHttp health = RawHttp.connect(port)) {
                    assertThat(health.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").answer().status()).isEqualTo(200);
                }

                // The upstream answers: the held requests complete, and the process serves as before.
                gate.open();
                for (Future<RawHttp.Answer> answer : answers) {
                    assertThat(answer.get(120, TimeUnit.SECONDS).status()).isIn(200, 503);
                }
                synchronized (held) {
                    held.forEach(RawHttp::close);
                }
                assertThat(child.alive()).isTrue();
                assertThat(child.chat("gpt-4o", 5).statusCode()).isEqualTo(200);
            } finally {
                synchronized (held) {
                    held.forEach(RawHttp::close);
                }
                gate.open();
            }
        }
    }
}
