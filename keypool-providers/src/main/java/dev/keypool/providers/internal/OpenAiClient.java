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
import io.helidon.http.HeaderValues;
import java.net.URI;
import java.net.http.HttpHeaders;
import java.time.Clock;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * OpenAI Chat Completions: {@code POST {OPENAI_BASE_URL}/chat/completions} with a bearer key and,
 * when configured, {@code OpenAI-Organization}.
 *
 * <p>The output cap goes out as {@code max_completion_tokens} to the o-series and gpt-5 (which refuse
 * {@code max_tokens}) and as {@code max_tokens} to the rest (which every OpenAI-compatible server
 * understands), unless the caller's extra fields named one, which is then kept. A stream asks for
 * {@code stream_options.include_usage} so that its last chunk carries the usage.
 *
 * <p>Errors: {@code insufficient_quota} (any code, e.g. {@code credit_balance_exhausted}) and the
 * per-day limits (TPD, RPD) exhaust the key's quota; 401, 403 and {@code invalid_api_key} mean an
 * invalid key; a {@code rate_limit_exceeded} 429 cools it for {@code retry-after-ms},
 * {@code Retry-After}, the message's "try again in", else the reset header of the limit that was hit;
 * "Request too large" is the request's fault, not the key's; 408 and 5xx (HTML from a proxy included)
 * are server errors; any other 4xx goes back to the caller.
 */
public final class OpenAiClient implements ChatClient {

    private static final Set<String> CONTROLLED = Set.of("model", "messages", "stream", "stream_options",
            "max_tokens", "max_completion_tokens", "temperature");

    private static final HeaderName ORGANIZATION = HeaderNames.create("OpenAI-Organization");

    private final Upstream upstream;
    private final URI endpoint;
    private final String organization;
    private final Clock clock;

    public OpenAiClient(Upstream upstream, String baseUrl, String organization, Clock clock) {
        this.upstream = upstream;
        this.endpoint = URI.create(baseUrl + "/chat/completions");
        this.organization = organization;
        this.clock = clock;
    }

    @Override
    public Provider provider() {
        return Provider.OPENAI;
    }

    @Override
    public Completion complete(UpstreamCall call) {
        Upstream.Response response = upstream.send(request(call, false), call.apiKey());
        observe(call, response.headers());
        if (response.status() != 200) {
            throw failure(response.status(), response.headers(), response.body(), call.apiKey(), clock);
        }
        JsonNode root = Json.parseOrMissing(response.body());
        JsonNode choice = root.path("choices").path(0);
        if (!choice.isObject()) {
            throw Failures.malformed("an OpenAI completion without choices", response.status());
        }
        String text = Json.text(choice.path("message"), "content");
        return new Completion(Json.text(root, "id"), Json.text(root, "model"), text == null ? "" : text,
                Json.text(choice, "finish_reason"), usage(root.path("usage")));
    }

    @Override
    public Completion stream(UpstreamCall call, StreamListener listener) {
        try (Upstream.StreamingResponse response = upstream.open(request(call, true), call.apiKey())) {
            observe(call, response.headers());
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
                if (data.equals("[DONE]")) {
                    break;
                }
                JsonNode chunk = Json.parseOrMissing(data);
                if (chunk.has("error")) {
                    throw failure(0, response.headers(), data, call.apiKey(), clock);
                }
                if (!chunk.isObject()) {
                    throw Failures.malformed("an OpenAI stream event that is not JSON", 200);
                }
                id = id != null ? id : Json.text(chunk, "id");
                model = model != null ? model : Json.text(chunk, "model");
                JsonNode choice = chunk.path("choices").path(0);
                String delta = Json.text(choice.path("delta"), "content");
                if (delta != null && !delta.isEmpty() && choice.path("index").asInt(0) == 0) {
                    text.append(delta);
                    listener.onDelta(delta);
                }
                String finish = Json.text(choice, "finish_reason");
                finishReason = finish != null ? finish : finishReason;
                TokenUsage reported = usage(chunk.path("usage"));
                usage = reported != null ? reported : usage;
            }
            return new Completion(id, model, text.toString(), finishReason, usage);
        }
    }

    private UpstreamRequest request(UpstreamCall call, boolean stream) {
        ObjectNode body = Json.object();
        body.put("model", call.model());
        ArrayNode messages = body.putArray("messages");
        for (ChatMessage message : call.messages()) {
            messages.addObject().put("role", message.role()).put("content", message.content());
        }
        for (Map.Entry<String, Object> field : call.extra().entrySet()) {
            if (!CONTROLLED.contains(field.getKey())) {
                body.set(field.getKey(), Json.MAPPER.valueToTree(field.getValue()));
            }
        }
        if (call.temperature() != null) {
            body.put("temperature", call.temperature());
        }
        body.put(maxTokensField(call), call.maxTokens());
        if (stream) {
            body.put("stream", true);
            ObjectNode options = body.putObject("stream_options");
            if (call.extra().get("stream_options") instanceof Map<?, ?> given) {
                options.setAll((ObjectNode) Json.MAPPER.valueToTree(given));
            }
            options.put("include_usage", true);
        }
        UpstreamRequest request = UpstreamRequest.postJson(endpoint, Json.writeBytes(body))
                .secretHeader(HeaderNames.AUTHORIZATION, "Bearer " + call.apiKey())
                .header(stream ? HeaderValues.ACCEPT_EVENT_STREAM : HeaderValues.ACCEPT_JSON);
        if (organization != null) {
            request.header(ORGANIZATION, organization);
        }
        return request;
    }

    private static String maxTokensField(UpstreamCall call) {
        if (call.extra().containsKey("max_completion_tokens")) {
            return "max_completion_tokens";
        }
        if (call.extra().containsKey("max_tokens")) {
            return "max_tokens";
        }
        String model = call.model() == null ? "" : call.model().toLowerCase(Locale.ROOT);
        boolean reasoning = (model.length() > 1 && model.charAt(0) == 'o' && Character.isDigit(model.charAt(1)))
                || model.startsWith("gpt-5");
        return reasoning ? "max_completion_tokens" : "max_tokens";
    }

    private static void observe(UpstreamCall call, HttpHeaders headers) {
        RateLimitSnapshot.fromOpenAi(headers).ifPresent(call.rateLimits());
    }

    private static TokenUsage usage(JsonNode usage) {
        long prompt = Json.number(usage, "prompt_tokens");
        long completion = Json.number(usage, "completion_tokens");
        if (prompt < 0 && completion < 0) {
            return null;
        }
        return TokenUsage.of(Math.max(prompt, 0), Math.max(completion, 0));
    }

    /**
     * Classifies an OpenAI error answer. {@code status} 0 is an error event inside a stream, which
     * has no status of its own; it is then read from the error's type.
     */
    static UpstreamException failure(int status, HttpHeaders headers, String body, String secret, Clock clock) {
        JsonNode error = Json.parseOrMissing(body).path("error");
        String type = orEmpty(Json.text(error, "type"));
        String code = orEmpty(Json.text(error, "code"));
        String raw = Json.text(error, "message");
        int effective = status != 0 ? status : streamStatus(type, code);
        String message = Failures.message(raw, effective, secret);
        String lower = message.toLowerCase(Locale.ROOT);
        Duration retryAfter = Failures.retryAfter(headers, clock);

        if (type.equals("insufficient_quota") || code.equals("insufficient_quota")
                || code.equals("credit_balance_exhausted") || code.equals("billing_hard_limit_reached")) {
            return Failures.exception(FailureKind.QUOTA_EXHAUSTED, retryAfter, message, effective);
        }
        if (effective == 401 || effective == 403 || code.equals("invalid_api_key")) {
            return Failures.exception(FailureKind.INVALID_KEY, null, message, effective);
        }
        if (effective == 429 || code.equals("rate_limit_exceeded")) {
            if (lower.startsWith("request too large")) {
                return Failures.exception(FailureKind.CLIENT_ERROR, null, message, effective);
            }
            if (lower.contains("per day") || lower.contains("(tpd)") || lower.contains("(rpd)")) {
                return Failures.exception(FailureKind.QUOTA_EXHAUSTED, retryAfter, message, effective);
            }
            if (retryAfter == null) {
                retryAfter = Durations.fromMessage(message);
            }
            if (retryAfter == null) {
                retryAfter = resetOf(headers, type);
            }
            return Failures.exception(FailureKind.RATE_LIMITED, retryAfter, message, effective);
        }
        if (raw == null && effective >= 500) {
            message = Failures.message("HTTP " + effective + " from OpenAI with a body that is not an OpenAI error",
                    effective, secret);
        }
        FailureKind kind = type.equals("server_error") ? FailureKind.SERVER_ERROR : Failures.byStatus(effective);
        return Failures.exception(kind, kind == FailureKind.CLIENT_ERROR ? null : retryAfter, message, effective);
    }

    private static Duration resetOf(HttpHeaders headers, String type) {
        Duration tokens = Durations.parseGo(headers.firstValue("x-ratelimit-reset-tokens").orElse(null));
        Duration requests = Durations.parseGo(headers.firstValue("x-ratelimit-reset-requests").orElse(null));
        if (type.equals("tokens") && tokens != null) {
            return tokens;
        }
        if (type.equals("requests") && requests != null) {
            return requests;
        }
        if (tokens == null) {
            return requests;
        }
        return requests == null || tokens.compareTo(requests) >= 0 ? tokens : requests;
    }

    private static int streamStatus(String type, String code) {
        if (code.equals("rate_limit_exceeded") || type.equals("tokens") || type.equals("requests")) {
            return 429;
        }
        if (type.equals("invalid_request_error")) {
            return 400;
        }
        return 500;
    }

    private static String orEmpty(String value) {
        return value == null ? "" : value;
    }
}
