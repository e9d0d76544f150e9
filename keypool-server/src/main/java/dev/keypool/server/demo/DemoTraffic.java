package dev.keypool.server.demo;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.providers.internal.Json;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * DEMO ONLY: simulated callers for {@code --demo}. About two requests a second go through the
 * gateway's own HTTP endpoints, as a real app's would: chat completions on {@code auto} and on
 * named models, some streamed, and searches. Every couple of minutes a simulated operator resets
 * keys the pool deactivated, as a person would from the dashboard. It stops with the gateway.
 */
public final class DemoTraffic implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(DemoTraffic.class);

    /** How often the simulated operator looks for deactivated keys to reset. */
    static final Duration OPERATOR_ROUND = Duration.ofSeconds(150);

    private static final List<String> MODELS = List.of("auto", "auto", "auto", "auto", "gpt-4o", "gpt-4o",
            "gpt-4o-mini", "gemini-2.5-flash", "llama3.2");

    private static final List<String> QUERIES = List.of("api key rotation", "token bucket", "sliding window rate limit",
            "failover patterns", "prometheus metrics", "server-sent events");

    private final String baseUrl;
    private final String adminToken;
    private final String clientToken;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private Thread caller;
    private Thread operator;
    private volatile boolean running = true;

    private DemoTraffic(String baseUrl, String adminToken, String clientToken) {
        this.baseUrl = baseUrl;
        this.adminToken = adminToken;
        this.clientToken = clientToken;
    }

    /** @param clientToken a client token when the gateway requires one, else {@code null} */
    public static DemoTraffic start(String baseUrl, String adminToken, String clientToken) {
        LOG.info("DEMO: simulated traffic started against {} (about 2 requests a second)", baseUrl);
        DemoTraffic traffic = new DemoTraffic(baseUrl, adminToken, clientToken);
        traffic.caller = Thread.ofVirtual().name("keypool-demo-traffic").start(traffic::callLoop);
        traffic.operator = Thread.ofVirtual().name("keypool-demo-operator").start(traffic::operatorLoop);
        return traffic;
    }

    /**
     * A simulated caller that sends only when {@link #sendOne} is called, with no loop and no
     * clock of its own: what a test drives one request at a time.
     */
    public static DemoTraffic idle(String baseUrl, String adminToken, String clientToken) {
        return new DemoTraffic(baseUrl, adminToken, clientToken);
    }

    @Override
    public void close() {
        running = false;
        if (caller != null) {
            caller.interrupt();
            operator.interrupt();
        }
        http.shutdownNow();
    }

    private void callLoop() {
        while (running) {
            ThreadLocalRandom random = ThreadLocalRandom.current();
            Thread.ofVirtual().start(() -> sendOne(random));
            if (!rest(Duration.ofMillis(random.nextInt(250, 750)))) {
                return;
            }
        }
    }

    /**
     * One simulated request, chosen by {@code random} as the loop chooses (a search in about one
     * in seven, else a chat), sent and answered before this returns.
     *
     * @return the gateway's status code, or -1 when the request did not get an answer
     */
    public int sendOne(RandomGenerator random) {
        return random.nextInt(100) < 15 ? search(random) : chat(random);
    }

    private int chat(RandomGenerator random) {
        String model = MODELS.get(random.nextInt(MODELS.size()));
        boolean stream = random.nextInt(100) < 30;
        Map<String, Object> body = Map.of(
                "model", model,
                "max_tokens", random.nextInt(150, 400),
                "stream", stream,
                "messages", List.of(Map.of("role", "user", "content", "Demo question " + random.nextInt(1000)
                        + ": how does keypool keep API keys inside their limits?")));
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(baseUrl + "/v1/chat/completions"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(Json.write(body)));
        return send(request, "chat " + model + (stream ? " (stream)" : ""));
    }

    private int search(RandomGenerator random) {
        String query = QUERIES.get(random.nextInt(QUERIES.size()));
        return send(HttpRequest.newBuilder(URI.create(baseUrl + "/search.json?engine=google&q="
                + URLEncoder.encode(query, StandardCharsets.UTF_8))).GET(), "search");
    }

    private int send(HttpRequest.Builder request, String what) {
        if (clientToken != null) {
            request.header("Authorization", "Bearer " + clientToken);
        }
        try {
            HttpResponse<Void> response = http.send(request.timeout(Duration.ofSeconds(60)).build(),
                    HttpResponse.BodyHandlers.discarding());
            LOG.debug("DEMO: {} -> {}", what, response.statusCode());
            return response.statusCode();
        } catch (IOException | RuntimeException e) {
            LOG.debug("DEMO: {} failed: {}", what, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return -1;
    }

    /** Resets what the pool deactivated, as an operator would from the dashboard. */
    private void operatorLoop() {
        while (rest(OPERATOR_ROUND)) {
            try {
                HttpResponse<String> status = http.send(admin("/api/admin/api-key-status/").GET().build(),
                        HttpResponse.BodyHandlers.ofString());
                JsonNode providers = Json.readTree(status.body()).path("providers");
                for (Map.Entry<String, JsonNode> provider : providers.properties()) {
                    for (JsonNode key : provider.getValue().path("keys")) {
                        if (key.path("status").asText().equals("deactivated")) {
                            LOG.info("DEMO: the simulated operator resets {} key {}", provider.getKey(),
                                    key.path("index").asInt());
                            http.send(admin("/api/admin/api-key-reset/").header("Content-Type", "application/json")
                                    .POST(HttpRequest.BodyPublishers.ofString(Json.write(Map.of(
                                            "provider", provider.getKey(), "index", key.path("index").asInt()))))
                                    .build(), HttpResponse.BodyHandlers.discarding());
                        }
                    }
                }
            } catch (IOException e) {
                LOG.debug("DEMO: operator round failed: {}", e.toString());
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private HttpRequest.Builder admin(String path) {
        return HttpRequest.newBuilder(URI.create(baseUrl + path)).header("Authorization", "Bearer " + adminToken)
                .timeout(Duration.ofSeconds(10));
    }

    private boolean rest(Duration duration) {
        try {
            Thread.sleep(duration);
            return running;
        } catch (InterruptedException e) {
            return false;
        }
    }
}
