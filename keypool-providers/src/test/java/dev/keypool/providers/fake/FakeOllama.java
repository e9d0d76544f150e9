package dev.keypool.providers.fake;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import dev.keypool.config.Provider;
import dev.keypool.providers.internal.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Ollama's native API as a local {@code ollama serve} answers it (its {@code docs/api.md} and, where
 * the page lags, its {@code api/types.go} and {@code server/routes.go}): {@code POST /api/chat} (NDJSON
 * stream unless {@code "stream": false}, one compact object per line, the last with {@code done: true},
 * its {@code done_reason}, counts and durations; {@code message.tool_calls} each with its {@code id} and
 * {@code function.index}, {@code name} and {@code arguments} as an object), {@code POST /api/generate}
 * (the same with {@code response} and the final line's {@code context}), {@code POST /api/embed},
 * the legacy {@code POST /api/embeddings}, {@code GET /api/tags}, {@code POST /api/show},
 * {@code GET /api/version}, {@code GET /api/ps} and {@code GET /} ("Ollama is running"). Keyless.
 *
 * <p>Errors are {@code {"error": "…"}} with Ollama's statuses and sentences: {@code model 'x' not found}
 * (404) for a model that is not among the {@link #setModels pulled models} (the legacy embeddings
 * endpoint's own {@code model "x" not found, try pulling it first}), {@code model is required},
 * {@code missing request body}, Go's JSON decoder's message for a body that is not JSON, 405 for a
 * known path with the wrong method and the router's plain-text {@code 404 page not found}.
 *
 * <p>Each model has its {@linkplain #setCapabilities capabilities} ({@code completion} and {@code tools} unless
 * set), listed by {@code /api/show}; a chat with {@code tools} to a model without {@code tools} is refused as
 * Ollama refuses it ({@code 400 "registry.ollama.ai/library/gemma3:latest does not support tools"}), and
 * {@code /api/tags} gives each model a digest of its name and capabilities (a model pulled anew, with other
 * capabilities, has another digest). A message's {@code images} must be base64 and a call's {@code arguments}
 * an object, as Go's JSON decoding requires. With {@code logprobs: true} every line carries the
 * {@code logprobs} of its tokens ({@code top_logprobs} alternatives each), a word a token.
 *
 * <p>{@code /api/ps} lists the models a request has loaded and that are still within their
 * {@code keep_alive} (five minutes, on the fake's clock); {@code keep_alive: 0} unloads. The final
 * line puts {@code done_reason} before {@code done}, as the API page shows (current servers write
 * {@code done} first; no client depends on the order). Embeddings are deterministic unit vectors of
 * {@code dimensions} or 768 values.
 */
public final class FakeOllama extends FakeUpstream {

    private static final String JSON = "application/json; charset=utf-8";
    private static final String NDJSON = "application/x-ndjson";
    private static final List<String> GETS = List.of("/", "/api/tags", "/api/version", "/api/ps");
    private static final List<String> POSTS = List.of("/api/chat", "/api/generate", "/api/embed", "/api/embeddings",
            "/api/show");
    private static final Duration KEEP_ALIVE = Duration.ofMinutes(5);

    private static final List<String> DEFAULT_CAPABILITIES = List.of("completion", "tools");

    private final List<String> models = new CopyOnWriteArrayList<>(List.of("llama3.2:latest"));
    private final Map<String, List<String>> capabilities = new ConcurrentHashMap<>();

    private FakeOllama() {
    }

    public static FakeOllama start() {
        FakeOllama fake = new FakeOllama();
        fake.listen();
        return fake;
    }

    @Override
    public Provider provider() {
        return Provider.OLLAMA;
    }

    /** The models {@code /api/tags} lists and {@code /api/chat} accepts (default {@code llama3.2:latest}). */
    public void setModels(String... names) {
        models.clear();
        models.addAll(List.of(names));
    }

    /**
     * What {@code model} can do, as {@code /api/show} lists it ({@code completion}, {@code tools},
     * {@code vision}, {@code thinking}, …); {@code completion} and {@code tools} unless set.
     */
    public void setCapabilities(String model, String... names) {
        capabilities.put(fullName(model), List.of(names));
    }

    private List<String> capabilitiesOf(String model) {
        return capabilities.getOrDefault(fullName(model), DEFAULT_CAPABILITIES);
    }

    private static String fullName(String model) {
        return model.contains(":") ? model : model + ":latest";
    }

    @Override
    protected String keyOf(HttpExchange exchange, RecordedRequest request) {
        return null;
    }

    @Override
    protected Reply check(RecordedRequest request) {
        String method = request.method();
        String path = request.path();
        boolean get = method.equals("GET") || method.equals("HEAD");
        if (!(get && GETS.contains(path) || method.equals("POST") && POSTS.contains(path))) {
            return GETS.contains(path) || POSTS.contains(path) ? Reply.body(405, "text/plain", "405 method not allowed")
                    : Reply.body(404, "text/plain", "404 page not found");
        }
        switch (path) {
            case "/" -> {
                return Reply.body(200, "text/plain; charset=utf-8", "Ollama is running");
            }
            case "/api/tags" -> {
                return tags();
            }
            case "/api/version" -> {
                return Reply.body(200, JSON, "{\"version\":\"0.12.6\"}");
            }
            case "/api/ps" -> {
                return running();
            }
            default -> {
                return post(request);
            }
        }
    }

    @Override
    protected Reply success() {
        return exchange -> {
            Reply reply = switch (exchange.request().path()) {
                case "/api/embed", "/api/embeddings" -> embeddings();
                default -> chat("This is a test!", 26, 5);
            };
            reply.send(exchange);
        };
    }

    // ---- successes --------------------------------------------------------------------------------

    /** An answer; as NDJSON, a word a line, unless the request said {@code "stream": false}. Also answers {@code /api/generate}. */
    public static Reply chat(String text, int promptEvalCount, int evalCount) {
        return streamed(FakeOpenAi.words(text), promptEvalCount, evalCount);
    }

    /** An answer streamed in exactly these deltas (joined when not streaming). */
    public static Reply streamed(List<String> deltas, int promptEvalCount, int evalCount) {
        return exchange -> answer(exchange, deltas, List.of(), promptEvalCount, evalCount, "stop");
    }

    /** An answer cut at its output cap: {@code done_reason: "length"}. */
    public static Reply truncated(String text, int promptEvalCount, int evalCount) {
        return exchange -> answer(exchange, FakeOpenAi.words(text), List.of(), promptEvalCount, evalCount, "length");
    }

    /** An answer that calls tools: {@code message.tool_calls}, content empty, {@code done_reason: "stop"}. */
    public static Reply toolCalls(int promptEvalCount, int evalCount, OllamaToolCall... calls) {
        return exchange -> answer(exchange, List.of(), List.of(calls), promptEvalCount, evalCount, "stop");
    }

    /** A stream that sends these deltas and then loses its connection. */
    public static Reply streamThenDrop(String... deltas) {
        return streamThenDrop(null, deltas);
    }

    /** Like {@link #streamThenDrop(String...)}, dropping only once {@code gate} opens. */
    public static Reply streamThenDrop(Gate gate, String... deltas) {
        return exchange -> streamLines(exchange, List.of(deltas), null, gate, Reply.Ending.DROP);
    }

    /** A stream that sends these deltas and then goes silent, connection open. */
    public static Reply streamThenStall(String... deltas) {
        return exchange -> streamLines(exchange, List.of(deltas), null, null, Reply.Ending.STALL);
    }

    /** A stream that fails after these deltas the way Ollama does: one more line with {@code error}, status 200. */
    public static Reply streamThenError(List<String> deltas, String message) {
        return exchange -> streamLines(exchange, deltas, message, null, Reply.Ending.CLOSE);
    }

    /** Embeddings of every input: {@code /api/embed}'s {@code embeddings} or {@code /api/embeddings}' {@code embedding}. */
    public static Reply embeddings() {
        return exchange -> {
            JsonNode body = exchange.request().json();
            int dimensions = body.path("dimensions").asInt(768);
            if (exchange.request().path().equals("/api/embeddings")) {
                ObjectNode root = JsonText.object();
                ArrayNode values = root.putArray("embedding");
                String prompt = body.path("prompt").asText("");
                if (!prompt.isEmpty()) {
                    for (double value : Vectors.unit(prompt, dimensions)) {
                        values.add(value);
                    }
                }
                Reply.body(200, JSON, JsonText.compact(root)).send(exchange);
                return;
            }
            List<String> inputs = new ArrayList<>();
            JsonNode input = body.path("input");
            if (input.isTextual()) {
                inputs.add(input.asText());
            } else {
                input.forEach(item -> inputs.add(item.asText()));
            }
            ObjectNode root = JsonText.object();
            root.put("model", body.path("model").asText());
            ArrayNode embeddings = root.putArray("embeddings");
            int tokens = 0;
            for (String text : inputs) {
                ArrayNode values = embeddings.addArray();
                for (double value : Vectors.unit(text, dimensions)) {
                    values.add((float) value);
                }
                tokens += Tokens.estimate(text);
            }
            root.put("total_duration", 14143917L);
            root.put("load_duration", 1019500L);
            root.put("prompt_eval_count", tokens);
            Reply.body(200, JSON, JsonText.compact(root)).send(exchange);
        };
    }

    // ---- errors -----------------------------------------------------------------------------------

    /** 503 when Ollama's queue is full. */
    public static Reply serverBusy() {
        return error(503, "server busy, please try again.  maximum pending requests exceeded");
    }

    /** 500 with Ollama's message. */
    public static Reply internalError(String message) {
        return error(500, message);
    }

    /** Any Ollama error answer. */
    public static Reply error(int status, String message) {
        ObjectNode body = JsonText.object().put("error", message);
        return Reply.body(status, JSON, JsonText.compact(body));
    }

    // ---- requests ---------------------------------------------------------------------------------

    private Reply post(RecordedRequest request) {
        if (request.body().isBlank()) {
            return error(400, "missing request body");
        }
        JsonNode body = request.json();
        if (!body.isObject()) {
            char first = request.body().strip().charAt(0);
            return error(400, "invalid character '" + first + "' looking for beginning of value");
        }
        String model = body.path("model").asText("");
        String path = request.path();
        if (model.isEmpty()) {
            return error(400, "model is required");
        }
        if (!pulled(model)) {
            return path.equals("/api/embeddings") ? error(404, "model \"" + model + "\" not found, try pulling it first")
                    : error(404, "model '" + model + "' not found");
        }
        int top = body.path("top_logprobs").asInt(0);
        if ((path.equals("/api/chat") || path.equals("/api/generate")) && (top < 0 || top > 20)) {
            return error(400, "top_logprobs must be between 0 and 20");
        }
        JsonNode input = body.path("input");
        if (path.equals("/api/embed") && !(input.isMissingNode() || input.isTextual()
                || input.isArray() && allText(input))) {
            return error(400, "invalid input type");
        }
        if (path.equals("/api/show")) {
            return show(model, capabilitiesOf(model));
        }
        if (path.equals("/api/chat")) {
            return chatRefusal(model, body);
        }
        return null;
    }

    /** What Ollama's server refuses in a chat before it generates: a missing capability, undecodable fields. */
    private Reply chatRefusal(String model, JsonNode body) {
        JsonNode messages = body.path("messages");
        for (JsonNode message : messages) {
            for (JsonNode image : message.path("images")) {
                int bad = badBase64(image.asText(""));
                if (!image.isTextual() || bad >= 0) {
                    return error(400, "illegal base64 data at input byte " + Math.max(bad, 0));
                }
            }
            for (JsonNode call : message.path("tool_calls")) {
                JsonNode arguments = call.path("function").path("arguments");
                if (!arguments.isMissingNode() && !arguments.isObject()) {
                    return error(400, "json: cannot unmarshal " + (arguments.isTextual() ? "string" : "array")
                            + " into Go struct field ToolCallFunction.messages.tool_calls.function.arguments of type"
                            + " api.ToolCallFunctionArguments");
                }
            }
        }
        if (body.path("tools").size() > 0 && !capabilitiesOf(model).contains("tools")) {
            String name = fullName(model);
            return error(400, (name.contains("/") ? name : "registry.ollama.ai/library/" + name) + " does not support tools");
        }
        return null;
    }

    /** The position of the first byte that is not standard base64 (padding included), or -1. */
    private static int badBase64(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            boolean ok = c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/'
                    || c == '=' && i >= text.length() - 2;
            if (!ok) {
                return i;
            }
        }
        return text.length() % 4 == 0 ? -1 : text.length() - text.length() % 4;
    }

    private boolean pulled(String model) {
        return models.contains(model) || models.contains(model + ":latest");
    }

    private Reply tags() {
        ObjectNode root = JsonText.object();
        ArrayNode list = root.putArray("models");
        for (String name : models) {
            ObjectNode model = list.addObject();
            model.put("name", name);
            model.put("model", name);
            model.put("modified_at", "2026-05-21T15:53:40.6428806+03:00");
            model.put("size", 2019393189L);
            model.put("digest", digest(name + capabilitiesOf(name)));
            model.set("details", details());
        }
        return Reply.body(200, JSON, JsonText.compact(root));
    }

    /** A sha256-looking digest of {@code text}: the same text, the same digest. */
    private static String digest(String text) {
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(hash);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Reply show(String model, List<String> capabilities) {
        ObjectNode root = JsonText.object();
        root.put("license", "LLAMA 3.2 COMMUNITY LICENSE AGREEMENT");
        root.put("modelfile", "# Modelfile generated by \"ollama show\"\n# To build a new Modelfile based on this, replace"
                + " FROM with:\n# FROM " + model + "\n\nFROM /root/.ollama/models/blobs/sha256-dde5aa3fc5ffc17176b5e8bdc82f587b24b2678c6c66101bf7da77af9f7ccdff\n"
                + "PARAMETER stop <|start_header_id|>\nPARAMETER stop <|end_header_id|>\nPARAMETER stop <|eot_id|>\n");
        root.put("parameters", "stop                           \"<|start_header_id|>\"\nstop                           "
                + "\"<|end_header_id|>\"\nstop                           \"<|eot_id|>\"");
        root.put("template", "<|start_header_id|>system<|end_header_id|>\n\n{{ .System }}<|eot_id|>");
        root.set("details", details());
        ObjectNode info = root.putObject("model_info");
        info.put("general.architecture", "llama");
        info.put("general.file_type", 15);
        info.put("general.parameter_count", 3212749888L);
        info.put("general.quantization_version", 2);
        info.put("llama.attention.head_count", 24);
        info.put("llama.attention.head_count_kv", 8);
        info.put("llama.block_count", 28);
        info.put("llama.context_length", 131072);
        info.put("llama.embedding_length", 3072);
        info.put("llama.vocab_size", 128256);
        info.putNull("tokenizer.ggml.merges");
        info.put("tokenizer.ggml.model", "gpt2");
        ArrayNode listed = root.putArray("capabilities");
        capabilities.forEach(listed::add);
        root.put("modified_at", "2026-05-21T15:53:40.6428806+03:00");
        return Reply.body(200, JSON, JsonText.compact(root));
    }

    private Reply running() {
        Instant now = clock().instant();
        Map<String, Instant> expiries = new LinkedHashMap<>();
        List<RecordedRequest> requests = requests();
        List<RecordedResponse> responses = responses();
        for (int i = 0; i < requests.size(); i++) {
            RecordedRequest request = requests.get(i);
            if (!List.of("/api/chat", "/api/generate", "/api/embed", "/api/embeddings").contains(request.path())
                    || responses.get(i).status() != 200) {
                continue;
            }
            JsonNode keepAlive = request.json().path("keep_alive");
            String model = request.json().path("model").asText();
            String name = model.contains(":") ? model : model + ":latest";
            if (keepAlive.asText().equals("0") || keepAlive.isNumber() && keepAlive.asLong() == 0) {
                expiries.remove(name);
            } else {
                expiries.put(name, request.arrivedAt().plus(KEEP_ALIVE));
            }
        }
        ObjectNode root = JsonText.object();
        ArrayNode list = root.putArray("models");
        expiries.forEach((name, expires) -> {
            if (expires.isAfter(now)) {
                ObjectNode model = list.addObject();
                model.put("name", name);
                model.put("model", name);
                model.put("size", 3884272640L);
                model.put("digest", "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72");
                model.set("details", details());
                model.put("expires_at", expires.toString());
                model.put("size_vram", 3884272640L);
                model.put("context_length", 4096);
            }
        });
        return Reply.body(200, JSON, JsonText.compact(root));
    }

    private static ObjectNode details() {
        ObjectNode details = JsonText.object();
        details.put("parent_model", "").put("format", "gguf").put("family", "llama");
        details.putArray("families").add("llama");
        details.put("parameter_size", "3.2B").put("quantization_level", "Q4_K_M");
        return details;
    }

    // ---- bodies -----------------------------------------------------------------------------------

    private static void answer(Exchange exchange, List<String> deltas, List<OllamaToolCall> calls, int promptEvalCount,
            int evalCount, String doneReason) throws IOException {
        RecordedRequest request = exchange.request();
        String model = request.json().path("model").asText();
        String now = exchange.now().toString();
        boolean generate = request.path().equals("/api/generate");
        JsonNode body = request.json();
        int top = body.path("logprobs").asBoolean(false) ? body.path("top_logprobs").asInt(0) : -1;
        if (isStream(request)) {
            List<String> lines = new ArrayList<>();
            for (int i = 0; i < deltas.size(); i++) {
                ObjectNode line = line(model, now, deltas.get(i), List.of(), false, generate);
                if (top >= 0) {
                    line.set("logprobs", logprobs(List.of(deltas.get(i)), i, top));
                }
                lines.add(JsonText.compact(line) + "\n");
            }
            if (!calls.isEmpty()) {
                lines.add(JsonText.compact(line(model, now, "", calls, false, generate)) + "\n");
            }
            ObjectNode last = line(model, now, "", List.of(), true, generate);
            last.setAll(counts(promptEvalCount, evalCount, generate, doneReason));
            lines.add(JsonText.compact(last) + "\n");
            Reply.stream(200, NDJSON, lines, Reply.Ending.CLOSE).send(exchange);
        } else {
            ObjectNode whole = line(model, now, String.join("", deltas), calls, true, generate);
            if (top >= 0 && !deltas.isEmpty()) {
                whole.set("logprobs", logprobs(deltas, 0, top));
            }
            whole.setAll(counts(promptEvalCount, evalCount, generate, doneReason));
            Reply.body(200, JSON, JsonText.compact(whole)).send(exchange);
        }
    }

    /**
     * {@code logprobs} for these tokens, the {@code from}-th of the answer first: token {@code i} has a
     * log probability of {@code -0.125 (i + 1)}, and its {@code top} alternatives begin with itself, each
     * next one a nat less likely.
     */
    static ArrayNode logprobs(List<String> tokens, int from, int top) {
        ArrayNode list = JsonText.object().arrayNode();
        for (int i = 0; i < tokens.size(); i++) {
            double logprob = -0.125 * (from + i + 1);
            ObjectNode entry = token(list.addObject(), tokens.get(i), logprob);
            if (top > 0) {
                ArrayNode alternatives = entry.putArray("top_logprobs");
                for (int k = 0; k < top; k++) {
                    token(alternatives.addObject(), k == 0 ? tokens.get(i) : tokens.get(i) + "~" + k, logprob - k);
                }
            }
        }
        return list;
    }

    private static ObjectNode token(ObjectNode entry, String token, double logprob) {
        entry.put("token", token).put("logprob", logprob);
        ArrayNode bytes = entry.putArray("bytes");
        for (byte b : token.getBytes(StandardCharsets.UTF_8)) {
            bytes.add(b & 0xff);
        }
        return entry;
    }

    private static boolean isStream(RecordedRequest request) {
        return request.json().path("stream").asBoolean(true);
    }

    private static void streamLines(Exchange exchange, List<String> deltas, String error, Gate gate,
            Reply.Ending ending) throws IOException {
        RecordedRequest request = exchange.request();
        String model = request.json().path("model").asText();
        String now = exchange.now().toString();
        boolean generate = request.path().equals("/api/generate");
        List<String> lines = new ArrayList<>();
        deltas.forEach(delta -> lines.add(JsonText.compact(line(model, now, delta, List.of(), false, generate)) + "\n"));
        if (error != null) {
            lines.add(JsonText.compact(JsonText.object().put("error", error)) + "\n");
        }
        Reply.stream(200, NDJSON, lines, gate, ending).send(exchange);
    }

    private static ObjectNode line(String model, String createdAt, String content, List<OllamaToolCall> calls,
            boolean done, boolean generate) {
        ObjectNode line = JsonText.object();
        line.put("model", model);
        line.put("created_at", createdAt);
        if (generate) {
            line.put("response", content);
        } else {
            ObjectNode message = line.putObject("message");
            message.put("role", "assistant").put("content", content);
            if (!calls.isEmpty()) {
                ArrayNode list = message.putArray("tool_calls");
                for (int i = 0; i < calls.size(); i++) {
                    ObjectNode call = list.addObject();
                    call.put("id", "call_" + Ids.lower(8));
                    ObjectNode function = call.putObject("function");
                    function.put("index", i);
                    function.put("name", calls.get(i).name());
                    function.set("arguments", Json.parseOrMissing(calls.get(i).arguments()));
                }
            }
        }
        if (!done) {
            line.put("done", false);
        }
        return line;
    }

    private static ObjectNode counts(int promptEvalCount, int evalCount, boolean generate, String doneReason) {
        ObjectNode counts = JsonText.object();
        counts.put("done_reason", doneReason);
        counts.put("done", true);
        if (generate) {
            ArrayNode context = counts.putArray("context");
            for (int i = 0; i < promptEvalCount + evalCount; i++) {
                context.add(128000 + i);
            }
        }
        counts.put("total_duration", 2497252601L);
        counts.put("load_duration", 23170658L);
        counts.put("prompt_eval_count", promptEvalCount);
        counts.put("prompt_eval_duration", 93402000L);
        counts.put("eval_count", evalCount);
        counts.put("eval_duration", 2377696000L);
        return counts;
    }

    private static boolean allText(JsonNode array) {
        for (JsonNode item : array) {
            if (!item.isTextual()) {
                return false;
            }
        }
        return true;
    }

}
