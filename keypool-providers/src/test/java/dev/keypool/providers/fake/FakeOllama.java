package dev.keypool.providers.fake;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import dev.keypool.config.Provider;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Ollama's native API as a local {@code ollama serve} answers it: {@code POST /api/chat} (NDJSON
 * stream unless {@code "stream": false}, one compact object per line, the last with
 * {@code done: true} and the counts), {@code GET /api/tags}, {@code GET /api/version}; errors as
 * {@code {"error": "…"}}. Keyless. A model that is not among {@link #setModels pulled models} gets
 * Ollama's 404.
 */
public final class FakeOllama extends FakeUpstream {

    private static final String JSON = "application/json; charset=utf-8";

    private final List<String> models = new CopyOnWriteArrayList<>(List.of("llama3.2:latest"));

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

    @Override
    protected String keyOf(HttpExchange exchange, RecordedRequest request) {
        return null;
    }

    @Override
    protected Reply check(RecordedRequest request) {
        String route = request.method() + " " + request.path();
        switch (route) {
            case "GET /api/tags" -> {
                return tags();
            }
            case "GET /api/version" -> {
                return Reply.body(200, JSON, "{\"version\":\"0.12.6\"}");
            }
            case "POST /api/chat" -> {
                if (request.body().isBlank()) {
                    return error(400, "missing request body");
                }
                String model = request.json().path("model").asText("");
                if (model.isEmpty()) {
                    return error(400, "model is required");
                }
                if (!models.contains(model) && !models.contains(model + ":latest")) {
                    return error(404, "model '" + model + "' not found");
                }
                return null;
            }
            default -> {
                return Reply.body(404, "text/plain", "404 page not found");
            }
        }
    }

    @Override
    protected Reply success() {
        return chat("This is a test!", 26, 5);
    }

    // ---- successes --------------------------------------------------------------------------------

    /** An answer; as NDJSON, a word a line, unless the request said {@code "stream": false}. */
    public static Reply chat(String text, int promptEvalCount, int evalCount) {
        return streamed(FakeOpenAi.words(text), promptEvalCount, evalCount);
    }

    /** An answer streamed in exactly these deltas (joined when not streaming). */
    public static Reply streamed(List<String> deltas, int promptEvalCount, int evalCount) {
        return exchange -> {
            RecordedRequest request = exchange.request();
            String model = request.json().path("model").asText();
            if (isStream(request)) {
                List<String> lines = new ArrayList<>();
                deltas.forEach(delta -> lines.add(JsonText.compact(line(model, delta, false)) + "\n"));
                lines.add(JsonText.compact(done(model, promptEvalCount, evalCount)) + "\n");
                Reply.stream(200, "application/x-ndjson", lines, Reply.Ending.CLOSE).send(exchange);
            } else {
                ObjectNode answer = line(model, String.join("", deltas), true);
                answer.setAll(counts("stop", promptEvalCount, evalCount));
                Reply.body(200, JSON, JsonText.compact(answer)).send(exchange);
            }
        };
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

    // ---- bodies -----------------------------------------------------------------------------------

    private Reply tags() {
        ObjectNode root = JsonText.object();
        ArrayNode list = root.putArray("models");
        for (String name : models) {
            ObjectNode model = list.addObject();
            model.put("name", name);
            model.put("model", name);
            model.put("modified_at", "2026-05-21T15:53:40.6428806+03:00");
            model.put("size", 2019393189L);
            model.put("digest", "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72");
            ObjectNode details = model.putObject("details");
            details.put("parent_model", "").put("format", "gguf").put("family", "llama");
            details.putArray("families").add("llama");
            details.put("parameter_size", "3.2B").put("quantization_level", "Q4_K_M");
        }
        return Reply.body(200, JSON, JsonText.compact(root));
    }

    private static boolean isStream(RecordedRequest request) {
        return request.json().path("stream").asBoolean(true);
    }

    private static void streamLines(Exchange exchange, List<String> deltas, String error, Gate gate,
            Reply.Ending ending)
            throws java.io.IOException {
        String model = exchange.request().json().path("model").asText();
        List<String> lines = new ArrayList<>();
        deltas.forEach(delta -> lines.add(JsonText.compact(line(model, delta, false)) + "\n"));
        if (error != null) {
            lines.add(JsonText.compact(JsonText.object().put("error", error)) + "\n");
        }
        Reply.stream(200, "application/x-ndjson", lines, gate, ending).send(exchange);
    }

    private static ObjectNode line(String model, String content, boolean done) {
        ObjectNode line = JsonText.object();
        line.put("model", model);
        line.put("created_at", "2024-09-24T06:17:59.140363Z");
        line.putObject("message").put("role", "assistant").put("content", content);
        if (!done) {
            line.put("done", false);
        }
        return line;
    }

    private static ObjectNode done(String model, int promptEvalCount, int evalCount) {
        ObjectNode line = line(model, "", true);
        line.setAll(counts("stop", promptEvalCount, evalCount));
        return line;
    }

    private static ObjectNode counts(String doneReason, int promptEvalCount, int evalCount) {
        ObjectNode counts = JsonText.object();
        counts.put("done_reason", doneReason);
        counts.put("done", true);
        counts.put("total_duration", 2497252601L);
        counts.put("load_duration", 23170658L);
        counts.put("prompt_eval_count", promptEvalCount);
        counts.put("prompt_eval_duration", 93402000L);
        counts.put("eval_count", evalCount);
        counts.put("eval_duration", 2377696000L);
        return counts;
    }
}
