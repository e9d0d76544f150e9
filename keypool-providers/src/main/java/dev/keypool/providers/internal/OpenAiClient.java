package dev.keypool.providers.internal;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.config.Provider;
import dev.keypool.failure.FailureKind;
import dev.keypool.failure.UpstreamException;
import dev.keypool.providers.ChatMessage;
import dev.keypool.providers.StreamListener;
import dev.keypool.rotation.TokenUsage;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
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
        return readCompletion(response.body());
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
        UpstreamRequest request = UpstreamRequest.postJson(endpoint, body(call, stream))
                .secretHeader(HeaderNames.AUTHORIZATION, "Bearer " + call.apiKey())
                .header(stream ? HeaderValues.ACCEPT_EVENT_STREAM : HeaderValues.ACCEPT_JSON);
        if (organization != null) {
            request.header(ORGANIZATION, organization);
        }
        return request;
    }

    /** The request's JSON, written field by field (no tree): model, messages, extras, then ours. */
    static byte[] body(UpstreamCall call, boolean stream) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        try (JsonGenerator json = Json.MAPPER.getFactory().createGenerator(out)) {
            json.writeStartObject();
            json.writeStringField("model", call.model());
            json.writeArrayFieldStart("messages");
            for (ChatMessage message : call.messages()) {
                json.writeStartObject();
                json.writeStringField("role", message.role());
                json.writeStringField("content", message.content());
                json.writeEndObject();
            }
            json.writeEndArray();
            for (Map.Entry<String, Object> field : call.extra().entrySet()) {
                if (!CONTROLLED.contains(field.getKey())) {
                    json.writeFieldName(field.getKey());
                    Json.MAPPER.writeValue(json, field.getValue());
                }
            }
            if (call.temperature() != null) {
                json.writeNumberField("temperature", call.temperature());
            }
            json.writeNumberField(maxTokensField(call), call.maxTokens());
            if (stream) {
                json.writeBooleanField("stream", true);
                json.writeObjectFieldStart("stream_options");
                if (call.extra().get("stream_options") instanceof Map<?, ?> given) {
                    for (Map.Entry<?, ?> option : given.entrySet()) {
                        if (!"include_usage".equals(option.getKey())) {
                            json.writeFieldName(String.valueOf(option.getKey()));
                            Json.MAPPER.writeValue(json, option.getValue());
                        }
                    }
                }
                json.writeBooleanField("include_usage", true);
                json.writeEndObject();
            }
            json.writeEndObject();
        } catch (IOException e) {
            throw new IllegalStateException("a request body could not be written", e);
        }
        return out.toByteArray();
    }

    /**
     * Reads a {@code chat.completion} with the streaming parser, keeping only what the gateway
     * returns: no tree of the whole answer is built.
     */
    static Completion readCompletion(String body) {
        String id = null;
        String model = null;
        String text = null;
        String finishReason = null;
        long prompt = -1;
        long completion = -1;
        boolean choice = false;
        try (JsonParser json = Json.MAPPER.getFactory().createParser(body)) {
            if (json.nextToken() == JsonToken.START_OBJECT) {
                while (json.nextToken() == JsonToken.FIELD_NAME) {
                    String field = json.currentName();
                    JsonToken value = json.nextToken();
                    switch (field) {
                        case "id" -> id = scalar(json, value);
                        case "model" -> model = scalar(json, value);
                        case "choices" -> {
                            if (value != JsonToken.START_ARRAY) {
                                json.skipChildren();
                                continue;
                            }
                            JsonToken element = json.nextToken();
                            if (element == JsonToken.START_OBJECT) {
                                choice = true;
                                while (json.nextToken() == JsonToken.FIELD_NAME) {
                                    String name = json.currentName();
                                    JsonToken inner = json.nextToken();
                                    if (name.equals("message") && inner == JsonToken.START_OBJECT) {
                                        while (json.nextToken() == JsonToken.FIELD_NAME) {
                                            String part = json.currentName();
                                            JsonToken partValue = json.nextToken();
                                            if (part.equals("content")) {
                                                text = scalar(json, partValue);
                                            } else {
                                                json.skipChildren();
                                            }
                                        }
                                    } else if (name.equals("finish_reason")) {
                                        finishReason = scalar(json, inner);
                                    } else {
                                        json.skipChildren();
                                    }
                                }
                            } else {
                                json.skipChildren();
                            }
                            if (element != JsonToken.END_ARRAY) {
                                while (json.nextToken() != JsonToken.END_ARRAY) {
                                    json.skipChildren();
                                }
                            }
                        }
                        case "usage" -> {
                            if (value != JsonToken.START_OBJECT) {
                                json.skipChildren();
                                continue;
                            }
                            while (json.nextToken() == JsonToken.FIELD_NAME) {
                                String name = json.currentName();
                                JsonToken count = json.nextToken();
                                if (name.equals("prompt_tokens")) {
                                    prompt = number(json, count);
                                } else if (name.equals("completion_tokens")) {
                                    completion = number(json, count);
                                } else {
                                    json.skipChildren();
                                }
                            }
                        }
                        default -> json.skipChildren();
                    }
                }
            }
        } catch (IOException e) {
            throw Failures.malformed("an OpenAI completion that is not JSON", 200);
        }
        if (!choice) {
            throw Failures.malformed("an OpenAI completion without choices", 200);
        }
        TokenUsage usage = prompt < 0 && completion < 0 ? null
                : TokenUsage.of(Math.max(prompt, 0), Math.max(completion, 0));
        return new Completion(id, model, text == null ? "" : text, finishReason, usage);
    }

    /** A scalar's text, as {@link Json#text} gives it; {@code null} for null, objects and arrays. */
    private static String scalar(JsonParser json, JsonToken token) throws IOException {
        if (token == null || token == JsonToken.VALUE_NULL) {
            return null;
        }
        if (token.isScalarValue()) {
            return json.getText();
        }
        json.skipChildren();
        return null;
    }

    /** A whole number, as {@link Json#number} gives it; {@code -1} when it is not a number. */
    private static long number(JsonParser json, JsonToken token) throws IOException {
        if (token != null && token.isNumeric()) {
            return json.getValueAsLong();
        }
        json.skipChildren();
        return -1;
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

    private static void observe(UpstreamCall call, ResponseHeaders headers) {
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
    static UpstreamException failure(int status, ResponseHeaders headers, String body, String secret, Clock clock) {
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

    private static Duration resetOf(ResponseHeaders headers, String type) {
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
