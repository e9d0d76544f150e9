package dev.keypool.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.keypool.providers.fake.Gate;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A flood on a gateway with small caps (32 connections, 8 requests in flight): idle connections
 * that never send a byte, and a burst of requests at once while the provider holds every one it
 * gets; then, the provider answering, a burst larger than the keys' budgets. The process must stay
 * up and answer its health check, the excess must be refused with 503 or 429 and
 * {@code Retry-After} (not queued), and the provider must see no more than the caps and the limits.
 */
class FloodTest {

    private static final int MAX_CONNECTIONS = 32;
    private static final int MAX_IN_FLIGHT = 8;
    private static final int IDLE = 24;
    private static final int BURST = 60;

    @TempDir
    Path work;

    @Test
    void connectionAndRequestFloods_theProcessStaysUp_andTheExcessIsRefusedWithRetryAfter() throws Exception {
        try (FaultRun run = new FaultRun(work); HttpClient http = HttpClient.newBuilder()
                .connectTimeout(Duration.ofSeconds(5)).build()) {
            GatewayProcess gateway = run.start("flooded", Map.of(
                    "KEYPOOL_DATA_DIR", run.directory("data").toString(),
                    "KEYPOOL_MAX_CONNECTIONS", Integer.toString(MAX_CONNECTIONS),
                    "KEYPOOL_MAX_IN_FLIGHT", Integer.toString(MAX_IN_FLIGHT)));
            Load.Statuses seen = new Load.Statuses();
            // One request first, as a gateway that has served before: its first one loads the token encoder.
            seen.count(Load.send(http, gateway, Load.chat(false)));
            long before = run.arrivals();
            Gate upstream = new Gate();
            run.openAi.replyByDefault(exchange -> {
                exchange.await(upstream);
                FaultRun.billed(Duration.ZERO).send(exchange);
            });
            List<Socket> idle = new ArrayList<>();
            List<Long> shedMillis = Collections.synchronizedList(new ArrayList<>());
            List<Long> spentMillis = Collections.synchronizedList(new ArrayList<>());
            ExecutorService callers = Executors.newVirtualThreadPerTaskExecutor();
            try {
                for (int i = 0; i < IDLE; i++) {
                    idle.add(connect(gateway.port()));
                }
                List<Future<?>> held = new ArrayList<>();
                for (int i = 0; i < BURST; i++) {
                    held.add(callers.submit(() -> call(http, gateway, seen, shedMillis)));
                }
                // While the provider holds what was admitted: the process answers its supervisor.
                await().atMost(Duration.ofSeconds(30)).until(() -> run.arrivals() - before >= MAX_IN_FLIGHT
                        || seen.total() > BURST);
                assertThat(gateway.health()).isEqualTo("UP");
                assertThat(run.arrivals() - before).as("requests that reached the provider")
                        .isLessThanOrEqualTo(MAX_IN_FLIGHT);
                upstream.open();
                for (Future<?> call : held) {
                    call.get(60, TimeUnit.SECONDS);
                }
                // The provider answering now: four callers past the keys' budgets are refused with 429.
                List<Future<?>> spent = new ArrayList<>();
                for (int i = 0; i < 4; i++) {
                    spent.add(callers.submit(() -> {
                        for (int j = 0; j < BURST / 4; j++) {
                            call(http, gateway, seen, spentMillis);
                        }
                    }));
                }
                for (Future<?> call : spent) {
                    call.get(60, TimeUnit.SECONDS);
                }
            } finally {
                callers.shutdownNow();
                idle.forEach(FloodTest::closeQuietly);
            }
            assertThat(gateway.alive()).isTrue();
            assertThat(seen.of("503") + seen.of("429")).as("refused").isGreaterThan(0);
            assertThat(seen.of("503")).as("refused at the in-flight or connection cap").isGreaterThan(0);
            assertThat(seen.of("429")).as("refused on the keys' limits").isGreaterThan(0);
            run.judge("9-flood", "flood: " + IDLE + " idle connections + " + BURST + " requests at once on a held provider "
                    + "(caps " + MAX_CONNECTIONS + " connections, " + MAX_IN_FLIGHT + " in flight), then " + BURST
                    + " more from 4 callers", seen, "refused in the burst: " + spread(shedMillis)
                    + " (the burst's own connects included); past the budgets: " + spread(spentMillis));
        }
    }

    /** "median m ms, slowest n ms" of refusal times. */
    private static String spread(List<Long> millis) {
        List<Long> sorted = millis.stream().sorted().toList();
        return sorted.isEmpty() ? "none" : "median " + sorted.get(sorted.size() / 2) + " ms, slowest "
                + sorted.get(sorted.size() - 1) + " ms";
    }

    private static void call(HttpClient http, GatewayProcess gateway, Load.Statuses seen, List<Long> refusalMillis) {
        long started = System.nanoTime();
        String outcome = Load.send(http, gateway, Load.chat(false));
        if (outcome.equals("503") || outcome.equals("429")) {
            refusalMillis.add((System.nanoTime() - started) / 1_000_000);
        }
        seen.count(outcome);
    }

    private static Socket connect(int port) {
        try {
            Socket socket = new Socket();
            socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
            return socket;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException e) {
            // closing anyway
        }
    }
}
