package dev.keypool.server.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.keypool.providers.internal.Json;
import dev.keypool.providers.openai.ChatAnswers;
import dev.keypool.providers.openai.OpenAiShapes;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * DEMO ONLY: a simulated OpenAI, Gemini, SerpApi and Ollama on one loopback port, for
 * {@code --demo}. It speaks each provider's wire format well enough for keypool's clients, answers
 * with canned text after a realistic delay, and misbehaves on purpose, so the dashboard has
 * something to show:
 *
 * <ul>
 *   <li>OpenAI key 1 answers every 6th call with a 429 rate limit ({@code Retry-After: 20}): it cools
 *       down and the pool fails over;</li>
 *   <li>Gemini key 1 answers every 5th call with a 503 "overloaded": a short cool-down;</li>
 *   <li>SerpApi key 1 runs out of searches after 20 and gets them back every 3 minutes: it is
 *       deactivated until the demo's operator resets it.</li>
 * </ul>
 *
 * Nothing here calls a real provider, and the keys it accepts are the demo's made-up ones.
 */
public final class DemoUpstream implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(DemoUpstream.class);

    /** How often the simulated SerpApi plan of key 1 renews. */
    static final Duration SERP_QUOTA_PERIOD = Duration.ofMinutes(3);

    static final int SERP_QUOTA = 20;

    private static final List<String> ANSWERS = List.of(
            "keypool spreads your requests over many keys and keeps each one inside its limits.",
            "A token bucket per key, a sliding minute window and a day window: that is all it takes.",
            "When a key is rate limited, the next one answers; when all are spent, callers hear when to retry.",
            "This answer comes from keypool's simulated upstream: no real provider was called.",
            "Failover is the inner loop over keys, provider fallback the outer loop over providers.");

    private final Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();
    private final AtomicLong serpPeriodStart = new AtomicLong(System.currentTimeMillis());
    private final WebServer server;

    private DemoUpstream() {
        server = WebServer.builder()
                .host("127.0.0.1")
                .port(0)
                .shutdownHook(false)
                .routing(this::routing)
                .build()
                .start();
    }

    public static DemoUpstream start() {
        DemoUpstream upstream = new DemoUpstream();
        LOG.info("DEMO: simulated OpenAI, Gemini, SerpApi and Ollama upstreams at {}", upstream.baseUrl());
        return upstream;
    }

    public String baseUrl() {
        return "http://127.0.0.1:" + server.port();
    }

    @Override
    public void close() {
        server.stop();
    }

    private void routing(HttpRouting.Builder routing) {
        routing.post("/v1/chat/completions", this::openAi)
                .get("/v1/models", (request, response) -> json(response, 200, Map.of("object", "list",
                        "data", List.of(Map.of("id", "gpt-4o", "object", "model", "owned_by", "demo")))))
                .post("/v1beta/models/*", this::gemini)
                .get("/search.json", this::serp)
                .get("/search", this::serp)
                .get("/api/tags", this::ollamaTags)
                .get("/api/version", (request, response) -> json(response, 200, Map.of("version", "0.0.0-demo")))
                .post("/api/chat", this::ollama);
    }

    // ---- OpenAI -----------------------------------------------------------------------------------

    private void openAi(ServerRequest request, ServerResponse response) {
        String key = request.headers().first(HeaderNames.AUTHORIZATION).orElse("").replaceFirst("(?i)^Bearer\\s+", "");
        JsonNode body = body(request);
        if (!key.startsWith("sk-demo-openai-")) {
            json(response, 401, openAiError("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"));
            return;
        }
        if (key.startsWith("sk-demo-openai-1-") && count(key) % 6 == 0) {
            pause(50, 150);
            response.header("Retry-After", "20");
            response.header("x-ratelimit-reset-tokens", "20s");
            json(response, 429, openAiError("Rate limit reached for gpt-4o in organization org-demo on tokens per min "
                    + "(TPM): Limit 3000, Used 2980, Requested 320. Please try again in 20s.", "tokens",
                    "rate_limit_exceeded"));
            return;
        }
        String model = body.path("model").asText("gpt-4o");
        long prompt = promptTokens(body.path("messages"));
        int maxTokens = body.path("max_completion_tokens").asInt(body.path("max_tokens").asInt(256));
        String text = answer(maxTokens);
        long completion = tokens(text);
        // the OpenAI answer as keypool writes it everywhere else: one id scheme, one writer
        String id = OpenAiShapes.newCompletionId();
        long created = Instant.now().getEpochSecond();
        ChatAnswers.Usage used = ChatAnswers.Usage.of(prompt, completion);
        if (!body.path("stream").asBoolean(false)) {
            pause(150, 700);
            json(response, 200, ChatAnswers.completion(id, created, model,
                    List.of(new ChatAnswers.Choice(0, text, List.of(), "stop", null)), used));
            return;
        }
        boolean usage = body.path("stream_options").path("include_usage").asBoolean(false);
        response.header(HeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8");
        try (OutputStream out = response.outputStream()) {
            pause(100, 300);
            event(out, ChatAnswers.chunk(id, created, model, ChatAnswers.Delta.text(0, true, "", null), usage));
            for (String piece : pieces(text)) {
                pause(40, 120);
                event(out, ChatAnswers.chunk(id, created, model, ChatAnswers.Delta.text(0, false, piece, null), usage));
            }
            event(out, ChatAnswers.chunk(id, created, model, ChatAnswers.Delta.finish(0, false, "stop"), usage));
            if (usage) {
                event(out, ChatAnswers.usageChunk(id, created, model, used));
            }
            write(out, "data: [DONE]\n\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void event(OutputStream out, byte[] data) throws IOException {
        write(out, "data: " + new String(data, StandardCharsets.UTF_8) + "\n\n");
    }

    private static byte[] openAiError(String message, String type, String code) {
        return OpenAiShapes.error(message, type, null, code);
    }

    // ---- Gemini -----------------------------------------------------------------------------------

    private void gemini(ServerRequest request, ServerResponse response) {
        String path = request.path().path();
        String key = request.headers().first(HeaderNames.create("x-goog-api-key"))
                .orElseGet(() -> request.query().first("key").orElse(""));
        JsonNode body = body(request);
        if (!key.startsWith("AIza-demo-gemini-")) {
            json(response, 400, Map.of("error", Map.of("code", 400, "status", "INVALID_ARGUMENT",
                    "message", "API key not valid. Please pass a valid API key.",
                    "details", List.of(Map.of("@type", "type.googleapis.com/google.rpc.ErrorInfo",
                            "reason", "API_KEY_INVALID", "domain", "googleapis.com")))));
            return;
        }
        if (key.startsWith("AIza-demo-gemini-1-") && count(key) % 5 == 0) {
            pause(100, 300);
            json(response, 503, Map.of("error", Map.of("code", 503, "status", "UNAVAILABLE",
                    "message", "The model is overloaded. Please try again later.")));
            return;
        }
        String model = path.substring(path.lastIndexOf('/') + 1).replaceFirst(":.*$", "");
        long prompt = 0;
        for (JsonNode content : body.path("contents")) {
            prompt += promptTokens(content.path("parts"));
        }
        int maxTokens = body.path("generationConfig").path("maxOutputTokens").asInt(256);
        String text = answer(maxTokens);
        long completion = tokens(text);
        String responseId = "demo" + Long.toHexString(ThreadLocalRandom.current().nextLong());
        if (!path.endsWith(":streamGenerateContent")) {
            pause(150, 700);
            json(response, 200, gemini(model, responseId, text, "STOP", prompt, completion));
            return;
        }
        response.header(HeaderNames.CONTENT_TYPE, "text/event-stream");
        try (OutputStream out = response.outputStream()) {
            List<String> pieces = pieces(text);
            for (int i = 0; i < pieces.size(); i++) {
                pause(60, 160);
                boolean last = i == pieces.size() - 1;
                write(out, "data: " + Json.write(gemini(model, responseId, pieces.get(i), last ? "STOP" : null, prompt,
                        last ? completion : completion * (i + 1) / pieces.size())) + "\r\n\r\n");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static ObjectNode gemini(String model, String responseId, String text, String finish, long prompt,
            long completion) {
        ObjectNode root = Json.object();
        ObjectNode candidate = root.putArray("candidates").addObject();
        ObjectNode content = candidate.putObject("content");
        content.putArray("parts").addObject().put("text", text);
        content.put("role", "model");
        if (finish != null) {
            candidate.put("finishReason", finish);
        }
        candidate.put("index", 0);
        root.putObject("usageMetadata").put("promptTokenCount", prompt).put("candidatesTokenCount", completion)
                .put("totalTokenCount", prompt + completion);
        root.put("modelVersion", model).put("responseId", responseId);
        return root;
    }

    // ---- SerpApi ----------------------------------------------------------------------------------

    private void serp(ServerRequest request, ServerResponse response) {
        String key = request.query().first("api_key").orElse("");
        if (!key.startsWith("serp-demo-")) {
            json(response, 401, Map.of("error", "Invalid API key. Your API key should be here: https://serpapi.com/manage-api-key"));
            return;
        }
        pause(200, 800);
        if (key.startsWith("serp-demo-1-") && serpQuotaSpent(key)) {
            json(response, 429, Map.of("error", "Your account has run out of searches."));
            return;
        }
        String query = request.query().first("q").orElse("keypool");
        ObjectNode root = Json.object();
        root.putObject("search_metadata").put("id", Long.toHexString(ThreadLocalRandom.current().nextLong()))
                .put("status", "Success").put("total_time_taken", 0.42);
        ObjectNode parameters = root.putObject("search_parameters");
        request.query().names().stream().filter(name -> !name.equals("api_key"))
                .forEach(name -> parameters.put(name, request.query().first(name).orElse("")));
        ArrayNode results = root.putArray("organic_results");
        for (int position = 1; position <= 3; position++) {
            results.addObject().put("position", position)
                    .put("title", "Simulated result " + position + " for \"" + query + "\"")
                    .put("link", "https://example.com/demo/" + position)
                    .put("snippet", "keypool demo mode: this result was made up by the simulated SerpApi.");
        }
        json(response, 200, root);
    }

    private boolean serpQuotaSpent(String key) {
        long now = System.currentTimeMillis();
        long start = serpPeriodStart.get();
        if (now - start >= SERP_QUOTA_PERIOD.toMillis() && serpPeriodStart.compareAndSet(start, now)) {
            calls.remove(key);
        }
        return count(key) > SERP_QUOTA;
    }

    // ---- Ollama -----------------------------------------------------------------------------------

    private void ollamaTags(ServerRequest request, ServerResponse response) {
        json(response, 200, Map.of("models", List.of(Map.of("name", "llama3.2:latest", "model", "llama3.2:latest",
                "size", 2019393189, "details", Map.of("family", "llama", "parameter_size", "3.2B")))));
    }

    private void ollama(ServerRequest request, ServerResponse response) {
        JsonNode body = body(request);
        String model = body.path("model").asText("llama3.2:latest");
        long prompt = promptTokens(body.path("messages"));
        String text = answer(body.path("options").path("num_predict").asInt(256));
        long completion = tokens(text);
        if (!body.path("stream").asBoolean(true)) {
            pause(300, 900);
            json(response, 200, ollamaLine(model, text, true, prompt, completion));
            return;
        }
        response.header(HeaderNames.CONTENT_TYPE, "application/x-ndjson");
        try (OutputStream out = response.outputStream()) {
            for (String piece : pieces(text)) {
                pause(50, 150);
                write(out, Json.write(ollamaLine(model, piece, false, 0, 0)) + "\n");
            }
            write(out, Json.write(ollamaLine(model, "", true, prompt, completion)) + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static ObjectNode ollamaLine(String model, String text, boolean done, long prompt, long completion) {
        ObjectNode line = Json.object();
        line.put("model", model).put("created_at", Instant.now().toString());
        line.putObject("message").put("role", "assistant").put("content", text);
        line.put("done", done);
        if (done) {
            line.put("done_reason", "stop").put("prompt_eval_count", prompt).put("eval_count", completion);
        }
        return line;
    }

    // ---- helpers ----------------------------------------------------------------------------------

    private int count(String key) {
        return calls.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
    }

    private static JsonNode body(ServerRequest request) {
        try {
            byte[] bytes = request.content().hasEntity() ? request.content().inputStream().readAllBytes() : new byte[0];
            return bytes.length == 0 ? Json.object() : Json.readTree(bytes);
        } catch (IOException e) {
            return Json.object();
        }
    }

    private static long promptTokens(JsonNode items) {
        long chars = 0;
        for (JsonNode item : items) {
            chars += item.path("content").asText(item.path("text").asText("")).length();
        }
        return Math.max(1, chars / 4) + 7;
    }

    private static String answer(int maxTokens) {
        StringBuilder text = new StringBuilder(ANSWERS.get(ThreadLocalRandom.current().nextInt(ANSWERS.size())));
        int sentences = ThreadLocalRandom.current().nextInt(0, 4);
        for (int i = 0; i < sentences && tokens(text.toString()) < maxTokens - 30; i++) {
            text.append(' ').append(ANSWERS.get(ThreadLocalRandom.current().nextInt(ANSWERS.size())));
        }
        return text.toString();
    }

    private static long tokens(String text) {
        return Math.max(1, (text.length() + 3) / 4);
    }

    private static List<String> pieces(String text) {
        List<String> words = List.of(text.split("(?<= )"));
        int size = Math.max(1, words.size() / 6);
        java.util.ArrayList<String> pieces = new java.util.ArrayList<>();
        for (int i = 0; i < words.size(); i += size) {
            pieces.add(String.join("", words.subList(i, Math.min(words.size(), i + size))));
        }
        return pieces;
    }

    private static void json(ServerResponse response, int status, Object body) {
        response.status(status);
        response.header(HeaderNames.CONTENT_TYPE, "application/json");
        response.send(body instanceof byte[] bytes ? bytes : Json.writeBytes(body));
    }

    private static void write(OutputStream out, String text) throws IOException {
        out.write(text.getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private static void pause(int minMillis, int maxMillis) {
        try {
            Thread.sleep(ThreadLocalRandom.current().nextInt(minMillis, maxMillis));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
