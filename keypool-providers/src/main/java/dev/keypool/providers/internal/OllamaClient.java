package dev.keypool.providers.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.keypool.config.Provider;
import dev.keypool.failure.FailureKind;
import dev.keypool.failure.UpstreamException;
import dev.keypool.providers.ChatMessage;
import dev.keypool.providers.StreamListener;
import dev.keypool.rotation.TokenUsage;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Ollama's native API: {@code POST {OLLAMA_HOST}/api/chat}, a single JSON answer or an NDJSON
 * stream (one object per line, the last with {@code done: true} and the counts), and
 * {@code GET /api/tags} for the pulled models. Keyless: it has availability, not keys.
 *
 * <p>Usage is {@code prompt_eval_count} + {@code eval_count}; Ollama leaves the prompt count out
 * when the whole prompt came from its cache, which reads as 0. Errors are {@code {"error": "…"}}:
 * a 404 (model not pulled) or 400 goes back to the caller, 5xx is a server error, a refused
 * connection means Ollama is not running. A stream that fails after it started carries one more
 * line holding {@code error}, with status 200.
 */
public final class OllamaClient implements ChatClient {

    private final Upstream upstream;
    private final String baseUrl;

    public OllamaClient(Upstream upstream, String baseUrl) {
        this.upstream = upstream;
        this.baseUrl = baseUrl;
    }

    @Override
    public Provider provider() {
        return Provider.OLLAMA;
    }

    public String baseUrl() {
        return baseUrl;
    }

    Duration upstreamTimeout() {
        return upstream.timeout();
    }

    /**
     * The names of the pulled models ({@code llama3.2:latest}).
     *
     * @throws UpstreamException when Ollama cannot be reached within {@code limit} or answers badly
     */
    public List<String> tags(Duration limit) {
        Upstream.Response response = upstream.send(UpstreamRequest.get(URI.create(baseUrl + "/api/tags")),
                null, limit);
        if (response.status() != 200) {
            throw failure(response.status(), response.body());
        }
        List<String> names = new ArrayList<>();
        for (JsonNode model : Json.parseOrMissing(response.body()).path("models")) {
            String name = Json.text(model, "name");
            if (name != null) {
                names.add(name);
            }
        }
        return names;
    }

    @Override
    public Completion complete(UpstreamCall call) {
        Upstream.Response response = upstream.send(request(call, false), null);
        if (response.status() != 200) {
            throw failure(response.status(), response.body());
        }
        JsonNode root = Json.parseOrMissing(response.body());
        if (root.has("error")) {
            throw failure(500, response.body());
        }
        if (!root.has("message")) {
            throw Failures.malformed("an Ollama chat answer without a message", 200);
        }
        String text = Json.text(root.path("message"), "content");
        return new Completion(newId(), Json.text(root, "model"), text == null ? "" : text,
                finishReason(root), usage(root));
    }

    @Override
    public Completion stream(UpstreamCall call, StreamListener listener) {
        try (Upstream.StreamingResponse response = upstream.open(request(call, true), null)) {
            if (response.status() != 200) {
                throw failure(response.status(), response.errorBody());
            }
            LineSource lines = response.lines();
            StringBuilder text = new StringBuilder();
            String model = null;
            String line;
            while ((line = lines.readLine()) != null) {
                if (line.isBlank()) {
                    continue;
                }
                JsonNode chunk = Json.parseOrMissing(line);
                if (chunk.has("error")) {
                    throw failure(500, line);
                }
                if (!chunk.isObject()) {
                    throw Failures.malformed("an Ollama stream line that is not JSON", 200);
                }
                model = model != null ? model : Json.text(chunk, "model");
                String delta = Json.text(chunk.path("message"), "content");
                if (delta != null && !delta.isEmpty()) {
                    text.append(delta);
                    listener.onDelta(delta);
                }
                if (chunk.path("done").asBoolean(false)) {
                    return new Completion(newId(), model, text.toString(), finishReason(chunk), usage(chunk));
                }
            }
            // The stream ended without its final line: whatever we got is all we get.
            return new Completion(newId(), model, text.toString(), "stop", null);
        }
    }

    private UpstreamRequest request(UpstreamCall call, boolean stream) {
        ObjectNode body = Json.object();
        body.put("model", call.model());
        ArrayNode messages = body.putArray("messages");
        for (ChatMessage message : call.messages()) {
            messages.addObject().put("role", message.isInstruction() ? "system" : message.role())
                    .put("content", message.content());
        }
        body.put("stream", stream);
        ObjectNode options = body.putObject("options");
        if (call.temperature() != null) {
            options.put("temperature", call.temperature());
        }
        options.put("num_predict", call.maxTokens());
        for (String name : List.of("top_p", "seed", "stop")) {
            Object value = call.extra().get(name);
            if (value != null) {
                options.set(name, Json.MAPPER.valueToTree(value instanceof String single && name.equals("stop")
                        ? List.of(single) : value));
            }
        }
        return UpstreamRequest.postJson(URI.create(baseUrl + "/api/chat"), Json.writeBytes(body));
    }

    private static String finishReason(JsonNode root) {
        return "length".equals(Json.text(root, "done_reason")) ? "length" : "stop";
    }

    private static TokenUsage usage(JsonNode root) {
        long prompt = Json.number(root, "prompt_eval_count");
        long completion = Json.number(root, "eval_count");
        if (prompt < 0 && completion < 0) {
            return null;
        }
        return TokenUsage.of(Math.max(prompt, 0), Math.max(completion, 0));
    }

    private static String newId() {
        return "chatcmpl-ollama-" + UUID.randomUUID().toString().replace("-", "");
    }

    /** Classifies an Ollama error answer ({@code {"error": "…"}}). */
    static UpstreamException failure(int status, String body) {
        String raw = Json.text(Json.parseOrMissing(body), "error");
        String message = Failures.message(raw != null ? raw
                : "HTTP " + status + " from Ollama with a body that is not an Ollama error", status, null);
        FailureKind kind = switch (status) {
            // Ollama is keyless: a 401 or 403 (a cloud model without sign-in) is not a key to retire.
            case 401, 403 -> FailureKind.CLIENT_ERROR;
            default -> Failures.byStatus(status);
        };
        return Failures.exception(kind, null, message, status);
    }
}
