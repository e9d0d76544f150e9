package dev.keypool.faults;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * Clients calling the gateways in a loop while a scenario injects its fault: each sends a chat
 * request to the next live gateway, and counts what it got. Bounded in requests and in time; a
 * refusal (429, 503) is followed by a 20 ms pause so that refused clients do not spin.
 */
final class Load implements AutoCloseable {

    /** The chat request every client sends: its reservation is the prompt estimate plus {@value #MAX_TOKENS}. */
    static final int MAX_TOKENS = 40;
    private static final int MAX_REQUESTS = 20_000;
    private static final Duration MAX_DURATION = Duration.ofSeconds(60);
    private static final Duration PAUSE_AFTER_REFUSAL = Duration.ofMillis(20);

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor();
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final AtomicInteger sent = new AtomicInteger();
    private final AtomicInteger next = new AtomicInteger();
    private final Statuses statuses = new Statuses();
    private final Supplier<List<GatewayProcess>> targets;
    private final String body;
    private final long deadline = System.nanoTime() + MAX_DURATION.toNanos();

    private Load(Supplier<List<GatewayProcess>> targets, boolean stream) {
        this.targets = targets;
        this.body = chat(stream);
    }

    /** {@code clients} callers of whichever of {@code targets} are alive at each request. */
    static Load start(Supplier<List<GatewayProcess>> targets, int clients, boolean stream) {
        Load load = new Load(targets, stream);
        for (int i = 0; i < clients; i++) {
            load.clients.submit(load::run);
        }
        return load;
    }

    static String chat(boolean stream) {
        return "{\"model\":\"gpt-4o\",\"max_tokens\":" + MAX_TOKENS + (stream ? ",\"stream\":true" : "")
                + ",\"messages\":[{\"role\":\"user\",\"content\":\"Say this is a test!\"}]}";
    }

    /** What the clients saw so far. */
    Statuses statuses() {
        return statuses;
    }

    /**
     * Waits until the clients have seen {@code outcomes} more answers (or failures) than now: load
     * measured in requests, not in time, since a gateway that just started answers its first
     * requests slowly (at most 30 s).
     */
    void awaitMore(int outcomes) {
        long target = statuses.total() + outcomes;
        long until = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (statuses.total() < target && System.nanoTime() < until && running.get()) {
            pause(Duration.ofMillis(10));
        }
    }

    /** Stops the clients, waits for the requests in flight, and returns what they saw. */
    Statuses stop() {
        running.set(false);
        clients.shutdown();
        try {
            if (!clients.awaitTermination(30, TimeUnit.SECONDS)) {
                clients.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return statuses;
    }

    private void run() {
        while (running.get() && System.nanoTime() < deadline && sent.incrementAndGet() <= MAX_REQUESTS) {
            List<GatewayProcess> live = targets.get().stream().filter(GatewayProcess::alive).toList();
            if (live.isEmpty()) {
                pause(PAUSE_AFTER_REFUSAL);
                continue;
            }
            GatewayProcess target = live.get(Math.floorMod(next.getAndIncrement(), live.size()));
            String outcome = send(http, target, body);
            statuses.count(outcome);
            if (!outcome.equals("200")) {
                pause(PAUSE_AFTER_REFUSAL);
            }
        }
    }

    /** One chat request to {@code target}: its status (with whether a refusal said when to retry), or what failed. */
    static String send(HttpClient http, GatewayProcess target, String body) {
        try {
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(target.url("/v1/chat/completions")))
                    .header("Content-Type", "application/json")
                    .timeout(Duration.ofSeconds(15))
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
            int status = response.statusCode();
            if ((status == 429 || status == 503) && response.headers().firstValue("Retry-After").isEmpty()) {
                return status + " without Retry-After";
            }
            return Integer.toString(status);
        } catch (ConnectException e) {
            return "connection refused";
        } catch (HttpTimeoutException e) {
            return "no answer in 15 s";
        } catch (IOException e) {
            return "connection cut";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        } catch (IllegalStateException e) {
            // a target that died before it listened
            return "connection refused";
        }
    }

    private static void pause(Duration pause) {
        try {
            Thread.sleep(pause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        stop();
        http.close();
    }

    /** Outcomes and how many of each: a status code, or what went wrong on the connection. */
    static final class Statuses {

        private final Map<String, LongAdder> counts = new ConcurrentHashMap<>();

        void count(String outcome) {
            counts.computeIfAbsent(outcome, o -> new LongAdder()).increment();
        }

        void addAll(Statuses other) {
            other.counts.forEach((outcome, count) -> counts.computeIfAbsent(outcome, o -> new LongAdder()).add(count.sum()));
        }

        long total() {
            return counts.values().stream().mapToLong(LongAdder::sum).sum();
        }

        long of(String outcome) {
            LongAdder count = counts.get(outcome);
            return count == null ? 0 : count.sum();
        }

        Map<String, Long> asMap() {
            Map<String, Long> map = new TreeMap<>();
            counts.forEach((outcome, count) -> map.put(outcome, count.sum()));
            return map;
        }

        @Override
        public String toString() {
            StringBuilder text = new StringBuilder();
            asMap().forEach((outcome, count) -> text.append(text.isEmpty() ? "" : ", ").append(outcome).append(" × ")
                    .append(count));
            return text.toString();
        }
    }
}
