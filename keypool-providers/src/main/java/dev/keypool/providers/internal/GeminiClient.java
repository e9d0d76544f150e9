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
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Gemini's native API: {@code POST {GEMINI_BASE_URL}/v1beta/models/{model}:generateContent}, and
 * {@code :streamGenerateContent?alt=sse} for streams, with the key in {@code x-goog-api-key} (never
 * in the URL, where proxies log it).
 *
 * <p>Messages map to {@code contents} ({@code assistant} becomes {@code model}); system messages
 * become the {@code systemInstruction}; temperature and the output cap go in
 * {@code generationConfig}. The usage charged is {@code totalTokenCount}: thinking tokens are billed
 * and count against {@code maxOutputTokens}, so the completion side is total minus prompt. In a
 * stream every chunk carries the cumulative usage; the last one wins. Thought-summary parts are not
 * answer text.
 *
 * <p>Errors are {@code google.rpc.Status} bodies: a 429 {@code RESOURCE_EXHAUSTED} whose
 * {@code QuotaFailure} names a per-day quota (or a 402) exhausts the key's quota, any other 429
 * cools it for the {@code RetryInfo.retryDelay}; {@code API_KEY_INVALID} (a 400), 401 and 403 mean
 * an invalid key; 5xx and 499 are server errors; other 4xx go back to the caller.
 */
public final class GeminiClient implements ChatClient {

    private static final HeaderName API_KEY = HeaderNames.create("x-goog-api-key");

    private final Upstream upstream;
    private final String baseUrl;
    private final Clock clock;

    public GeminiClient(Upstream upstream, String baseUrl, Clock clock) {
        this.upstream = upstream;
        this.baseUrl = baseUrl;
        this.clock = clock;
    }

    @Override
    public Provider provider() {
        return Provider.GEMINI;
    }

    @Override
    public Completion complete(UpstreamCall call) {
        Upstream.Response response = upstream.send(request(call, false), call.apiKey());
        if (response.status() != 200) {
            throw failure(response.status(), response.headers(), response.body(), call.apiKey(), clock);
        }
        JsonNode root = Json.parseOrMissing(response.body());
        if (!root.isObject()) {
            throw Failures.malformed("a Gemini response that is not a JSON object", 200);
        }
        JsonNode candidate = root.path("candidates").path(0);
        return new Completion(Json.text(root, "responseId"), Json.text(root, "modelVersion"), text(candidate),
                finishReason(root, candidate), usage(root.path("usageMetadata")));
    }

    @Override
    public Completion stream(UpstreamCall call, StreamListener listener) {
        try (Upstream.StreamingResponse response = upstream.open(request(call, true), call.apiKey())) {
            if (response.status() != 200) {
                throw failure(response.status(), response.headers(), response.errorBody(), call.apiKey(), clock);
            }
            SseReader events = new SseReader(response.lines());
            StringBuilder text = new StringBuilder();
            String id = null;
            String model = null;
            String finishReason = null;
            TokenUsage usage = null;
            String data;
            while ((data = events.nextData()) != null) {
                JsonNode chunk = Json.parseOrMissing(data);
                if (chunk.has("error")) {
                    JsonNode error = chunk.path("error");
                    int status = error.path("code").isInt() ? error.path("code").asInt() : 500;
                    throw failure(status, response.headers(), data, call.apiKey(), clock);
                }
                if (!chunk.isObject()) {
                    throw Failures.malformed("a Gemini stream event that is not JSON", 200);
                }
                id = id != null ? id : Json.text(chunk, "responseId");
                model = model != null ? model : Json.text(chunk, "modelVersion");
                JsonNode candidate = chunk.path("candidates").path(0);
                String delta = text(candidate);
                if (!delta.isEmpty()) {
                    text.append(delta);
                    listener.onDelta(delta);
                }
                if (candidate.has("finishReason") || chunk.has("promptFeedback")) {
                    finishReason = finishReason(chunk, candidate);
                }
                TokenUsage reported = usage(chunk.path("usageMetadata"));
                usage = reported != null ? reported : usage;
            }
            return new Completion(id, model, text.toString(), finishReason == null ? "stop" : finishReason, usage);
        }
    }

    private UpstreamRequest request(UpstreamCall call, boolean stream) {
        String model = call.model().startsWith("models/") ? call.model().substring("models/".length()) : call.model();
        String path = baseUrl + "/v1beta/models/" + URLEncoder.encode(model, StandardCharsets.UTF_8)
                + (stream ? ":streamGenerateContent?alt=sse" : ":generateContent");
        return UpstreamRequest.postJson(URI.create(path), Json.writeBytes(body(call)))
                .secretHeader(API_KEY, call.apiKey());
    }

    private static ObjectNode body(UpstreamCall call) {
        ObjectNode body = Json.object();
        ArrayNode contents = body.putArray("contents");
        List<String> instructions = new ArrayList<>();
        for (ChatMessage message : call.messages()) {
            if (message.isInstruction()) {
                instructions.add(message.content());
                continue;
            }
            ObjectNode content = contents.addObject();
            content.put("role", message.role().equals("assistant") ? "model" : "user");
            content.putArray("parts").addObject().put("text", message.content());
        }
        if (!instructions.isEmpty()) {
            body.putObject("systemInstruction").putArray("parts").addObject()
                    .put("text", String.join("\n\n", instructions));
        }
        ObjectNode config = body.putObject("generationConfig");
        if (call.temperature() != null) {
            config.put("temperature", call.temperature());
        }
        config.put("maxOutputTokens", call.maxTokens());
        Object topP = call.extra().get("top_p");
        if (topP instanceof Number number) {
            config.put("topP", number.doubleValue());
        }
        Object seed = call.extra().get("seed");
        if (seed instanceof Number number) {
            config.put("seed", number.longValue());
        }
        Object stop = call.extra().get("stop");
        if (stop instanceof String single) {
            config.putArray("stopSequences").add(single);
        } else if (stop instanceof List<?> many) {
            ArrayNode sequences = config.putArray("stopSequences");
            many.forEach(item -> sequences.add(String.valueOf(item)));
        }
        return body;
    }

    private static String text(JsonNode candidate) {
        StringBuilder text = new StringBuilder();
        for (JsonNode part : candidate.path("content").path("parts")) {
            if (!part.path("thought").asBoolean(false)) {
                String value = Json.text(part, "text");
                if (value != null) {
                    text.append(value);
                }
            }
        }
        return text.toString();
    }

    private static String finishReason(JsonNode root, JsonNode candidate) {
        if (!candidate.isObject() && root.path("promptFeedback").has("blockReason")) {
            return "content_filter";
        }
        String reason = Json.text(candidate, "finishReason");
        if (reason == null) {
            return "stop";
        }
        return switch (reason) {
            case "MAX_TOKENS" -> "length";
            case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY" -> "content_filter";
            default -> "stop";
        };
    }

    private static TokenUsage usage(JsonNode usage) {
        long prompt = Json.number(usage, "promptTokenCount");
        long total = Json.number(usage, "totalTokenCount");
        if (prompt < 0 && total < 0) {
            return null;
        }
        long promptTokens = Math.max(prompt, 0);
        long completion = total >= 0 ? Math.max(total - promptTokens, 0)
                : Math.max(Json.number(usage, "candidatesTokenCount"), 0) + Math.max(Json.number(usage, "thoughtsTokenCount"), 0);
        return TokenUsage.of(promptTokens, completion);
    }

    /** Classifies a Gemini error answer ({@code google.rpc.Status}). */
    static UpstreamException failure(int status, ResponseHeaders headers, String body, String secret, Clock clock) {
        JsonNode error = Json.parseOrMissing(body).path("error");
        String rpcStatus = Json.text(error, "status");
        String raw = Json.text(error, "message");
        String message = Failures.message(raw != null ? raw
                : "HTTP " + status + " from Gemini with a body that is not a Google error", status, secret);
        List<String> reasons = new ArrayList<>();
        List<String> quotaIds = new ArrayList<>();
        Duration retryDelay = null;
        for (JsonNode detail : error.path("details")) {
            String type = orEmpty(Json.text(detail, "@type"));
            if (type.endsWith("google.rpc.ErrorInfo")) {
                reasons.add(orEmpty(Json.text(detail, "reason")));
            } else if (type.endsWith("google.rpc.QuotaFailure")) {
                for (JsonNode violation : detail.path("violations")) {
                    quotaIds.add(orEmpty(Json.text(violation, "quotaId")));
                }
            } else if (type.endsWith("google.rpc.RetryInfo")) {
                retryDelay = Durations.parseProtobuf(Json.text(detail, "retryDelay"));
            }
        }
        Duration retryAfter = retryDelay != null ? retryDelay : Failures.retryAfter(headers, clock);

        if (status == 402) {
            return Failures.exception(FailureKind.QUOTA_EXHAUSTED, null, message, status);
        }
        if (status == 429 || "RESOURCE_EXHAUSTED".equals(rpcStatus)) {
            // Google sends a seconds-long retryDelay even when the day's quota is gone: trust the quota id.
            if (quotaIds.stream().anyMatch(id -> id.toLowerCase(Locale.ROOT).contains("perday"))) {
                return Failures.exception(FailureKind.QUOTA_EXHAUSTED, null, message, status);
            }
            if (retryAfter == null) {
                retryAfter = Durations.fromMessage(message);
            }
            return Failures.exception(FailureKind.RATE_LIMITED, retryAfter, message, status);
        }
        if (reasons.contains("API_KEY_INVALID") || reasons.contains("API_KEY_EXPIRED")
                || status == 401 || status == 403 || "PERMISSION_DENIED".equals(rpcStatus)
                || "UNAUTHENTICATED".equals(rpcStatus)) {
            return Failures.exception(FailureKind.INVALID_KEY, null, message, status);
        }
        FailureKind kind = Failures.byStatus(status);
        return Failures.exception(kind, kind == FailureKind.CLIENT_ERROR ? null : retryAfter, message, status);
    }

    private static String orEmpty(String value) {
        return value == null ? "" : value;
    }
}
