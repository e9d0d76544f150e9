package dev.keypool.server;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.config.Provider;
import dev.keypool.providers.Attempt;
import dev.keypool.providers.ChatMessage;
import dev.keypool.providers.ChatRequest;
import dev.keypool.providers.ChatResult;
import dev.keypool.providers.LlmService;
import dev.keypool.providers.StreamListener;
import dev.keypool.providers.ModelInfo;
import dev.keypool.rotation.TokenUsage;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * The OpenAI-compatible endpoints: {@code POST /v1/chat/completions}, plain and streaming, and
 * {@code GET /v1/models}. Whichever provider serves, the answer is in OpenAI's shape, with headers
 * naming the provider and the key index that served ({@code x-keypool-provider},
 * {@code x-keypool-key-index}, and the masked key in {@code x-keypool-key}).
 */
final class ChatResource implements HttpService {

    /** Request fields the gateway reads itself; every other field is passed through to OpenAI. */
    private static final Set<String> OWN_FIELDS = Set.of("model", "messages", "temperature", "max_tokens",
            "max_completion_tokens", "stream", "stream_options");

    private static final HeaderName MODEL_HEADER = HeaderNames.create("x-keypool-model");
    private static final HeaderName ATTEMPTS_HEADER = HeaderNames.create("x-keypool-attempts");
    private static final HeaderName FAILOVER_HEADER = HeaderNames.create("x-keypool-failover");
    private static final HeaderName PROVIDER_HEADER = HeaderNames.create("x-keypool-provider");
    private static final HeaderName KEY_INDEX_HEADER = HeaderNames.create("x-keypool-key-index");
    private static final HeaderName KEY_HEADER = HeaderNames.create("x-keypool-key");

    private final Gateway gateway;
    private final LlmService llm;

    ChatResource(Gateway gateway) {
        this.gateway = gateway;
        this.llm = gateway.llm();
    }

    @Override
    public void routing(HttpRules rules) {
        rules.post("/v1/chat/completions", this::complete)
                .get("/v1/models", this::models)
                .get("/v1/models/{id}", this::model);
    }

    private void complete(ServerRequest request, ServerResponse response) {
        gateway.tokens().requireClient(request, false);
        JsonNode body = Http.jsonBody(request, gateway.settings().maxBodyBytes());
        if (body == null || !body.isObject()) {
            throw ApiException.badRequest("invalid_request", "The body must be a JSON object with 'model' and 'messages'.");
        }
        ChatRequest chat = chatRequest(body);
        if (body.path("stream").asBoolean(false)) {
            new ChatStream(gateway, response, body.path("stream_options").path("include_usage").asBoolean(false))
                    .run(llm, chat);
            return;
        }
        ChatResult result = served(gateway, llm.chat(chat));
        headers(response, result);
        Http.sendJson(response, completion(result));
    }

    private void models(ServerRequest request, ServerResponse response) {
        gateway.tokens().requireClient(request, false);
        List<Map<String, Object>> data = new ArrayList<>();
        data.add(model("auto", "keypool"));
        for (ModelInfo info : llm.models()) {
            data.add(model(info.id(), info.provider().id()));
        }
        Http.json(response, Map.of("object", "list", "data", data));
    }

    private void model(ServerRequest request, ServerResponse response) {
        gateway.tokens().requireClient(request, false);
        String id = request.path().pathParameters().get("id");
        if (id.equals("auto")) {
            Http.json(response, model("auto", "keypool"));
            return;
        }
        for (ModelInfo info : llm.models()) {
            if (info.id().equals(id)) {
                Http.json(response, model(info.id(), info.provider().id()));
                return;
            }
        }
        throw ApiException.notFound("model_not_found", "The model `" + id + "` does not exist or no configured key serves it.");
    }

    /** Records what a keyless provider did, which the pool's events cannot tell, and returns the result. */
    static ChatResult served(Gateway gateway, ChatResult result) {
        for (Attempt attempt : result.attempts()) {
            if (!attempt.provider().usesKeys()) {
                gateway.recordKeyless(attempt.provider(), null, attempt.kind());
            }
        }
        if (!result.provider().usesKeys()) {
            gateway.recordKeyless(result.provider(), result.usage(), null);
        }
        return result;
    }

    static ChatRequest chatRequest(JsonNode body) {
        JsonNode model = body.get("model");
        if (model == null || model.isNull()) {
            throw missing("model");
        }
        if (!model.isTextual() || model.asText().isBlank()) {
            throw invalid("'model' must be a non-empty string");
        }
        JsonNode messages = body.get("messages");
        if (messages == null || messages.isNull()) {
            throw missing("messages");
        }
        if (!messages.isArray() || messages.isEmpty()) {
            throw invalid("'messages' must be a non-empty array");
        }
        List<ChatMessage> parsed = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) {
            parsed.add(message(messages.get(i), i));
        }
        Double temperature = null;
        JsonNode temperatureField = body.get("temperature");
        if (temperatureField != null && !temperatureField.isNull()) {
            if (!temperatureField.isNumber()) {
                throw invalid("'temperature' must be a number");
            }
            temperature = temperatureField.asDouble();
        }
        Integer maxTokens = integer(body, "max_completion_tokens");
        if (maxTokens == null) {
            maxTokens = integer(body, "max_tokens");
        }
        Map<String, Object> extra = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> field : body.properties()) {
            if (!OWN_FIELDS.contains(field.getKey())) {
                extra.put(field.getKey(), Json.MAPPER.convertValue(field.getValue(), Object.class));
            }
        }
        try {
            return new ChatRequest(model.asText(), parsed, temperature, maxTokens, extra);
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest("invalid_request", e.getMessage());
        }
    }

    private static ChatMessage message(JsonNode message, int index) {
        String where = "messages[" + index + "]";
        if (message == null || !message.isObject()) {
            throw invalid("'" + where + "' must be an object with 'role' and 'content'");
        }
        JsonNode role = message.get("role");
        if (role == null || !role.isTextual()) {
            throw missing(where + ".role");
        }
        JsonNode content = message.get("content");
        String text;
        if (content == null || content.isNull()) {
            throw missing(where + ".content");
        } else if (content.isTextual()) {
            text = content.asText();
        } else if (content.isArray()) {
            StringBuilder joined = new StringBuilder();
            for (JsonNode part : content) {
                if (!"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
                    throw invalid("only text content parts are supported, found type '"
                            + part.path("type").asText() + "'");
                }
                joined.append(part.get("text").asText());
            }
            text = joined.toString();
        } else {
            throw invalid("'" + where + ".content' must be a string or an array of text parts");
        }
        try {
            return new ChatMessage(role.asText(), text);
        } catch (IllegalArgumentException e) {
            throw invalid(e.getMessage());
        }
    }

    private static Integer integer(JsonNode body, String name) {
        JsonNode field = body.get(name);
        if (field == null || field.isNull()) {
            return null;
        }
        if (!field.isIntegralNumber() || !field.canConvertToInt() || field.asInt() <= 0) {
            throw invalid("'" + name + "' must be a positive integer");
        }
        return field.asInt();
    }

    private static ApiException missing(String field) {
        return ApiException.badRequest("missing_required_parameter", "Missing required parameter: '" + field + "'.");
    }

    private static ApiException invalid(String message) {
        return ApiException.badRequest("invalid_value", message);
    }

    /** The non-streaming answer, as OpenAI's {@code chat.completion}. */
    static byte[] completion(ChatResult result) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256 + (result.text() == null ? 0 : result.text().length()));
        try (JsonGenerator json = Json.MAPPER.getFactory().createGenerator(out)) {
            json.writeStartObject();
            json.writeStringField("id", result.id() != null ? result.id() : newId());
            json.writeStringField("object", "chat.completion");
            json.writeNumberField("created", System.currentTimeMillis() / 1000);
            json.writeStringField("model", result.model());
            json.writeArrayFieldStart("choices");
            json.writeStartObject();
            json.writeNumberField("index", 0);
            json.writeObjectFieldStart("message");
            json.writeStringField("role", "assistant");
            json.writeStringField("content", result.text());
            json.writeNullField("refusal");
            json.writeEndObject();
            json.writeNullField("logprobs");
            json.writeStringField("finish_reason", finishReason(result));
            json.writeEndObject();
            json.writeEndArray();
            json.writeObjectFieldStart("usage");
            json.writeNumberField("prompt_tokens", result.usage().promptTokens());
            json.writeNumberField("completion_tokens", result.usage().completionTokens());
            json.writeNumberField("total_tokens", result.usage().totalTokens());
            json.writeEndObject();
            json.writeNullField("system_fingerprint");
            json.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    static Map<String, Object> usage(TokenUsage usage) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("prompt_tokens", usage.promptTokens());
        json.put("completion_tokens", usage.completionTokens());
        json.put("total_tokens", usage.totalTokens());
        return json;
    }

    static String finishReason(ChatResult result) {
        return result.finishReason() != null ? result.finishReason() : "stop";
    }

    static String newId() {
        return "chatcmpl-kp" + UUID.randomUUID().toString().replace("-", "").substring(0, 24);
    }

    /** The headers that say who served: provider, key index and masked key, model, failed attempts. */
    static void headers(ServerResponse response, ChatResult result) {
        servedBy(response, result.provider(), result.keyIndex(), result.maskedKey());
        if (result.model() != null) {
            response.header(MODEL_HEADER, ascii(result.model()));
        }
        response.header(ATTEMPTS_HEADER, Integer.toString(result.attempts().size() + 1));
        if (!result.attempts().isEmpty()) {
            List<String> failed = new ArrayList<>();
            for (Attempt attempt : result.attempts()) {
                failed.add(attempt.provider().id() + (attempt.keyIndex() >= 0 ? "/" + attempt.keyIndex() : "") + " "
                        + attempt.kind().id());
            }
            response.header(FAILOVER_HEADER, String.join(", ", failed));
        }
    }

    static void servedBy(ServerResponse response, Provider provider, int keyIndex, String maskedKey) {
        response.header(PROVIDER_HEADER, provider.id());
        if (keyIndex >= 0) {
            response.header(KEY_INDEX_HEADER, Integer.toString(keyIndex));
        }
        if (maskedKey != null) {
            response.header(KEY_HEADER, ascii(maskedKey));
        }
    }

    /** Header values are ASCII; the mask's ellipsis becomes three dots. */
    static String ascii(String value) {
        StringBuilder ascii = new StringBuilder(value.length() + 2);
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '\u2026') {
                ascii.append("...");
            } else {
                ascii.append(c >= 0x20 && c <= 0x7e ? c : '?');
            }
        }
        return ascii.toString();
    }

    private static Map<String, Object> model(String id, String ownedBy) {
        Map<String, Object> model = new LinkedHashMap<>();
        model.put("id", id);
        model.put("object", "model");
        model.put("created", 0);
        model.put("owned_by", ownedBy);
        return model;
    }

    /**
     * One streamed answer as OpenAI's server-sent {@code chat.completion.chunk}s. Headers go out
     * with the first text, so an error before it (every key spent) is still an ordinary JSON error
     * with its status; an error after it arrives as a {@code data: {"error": …}} event, as OpenAI
     * sends one.
     */
    private static final class ChatStream {

        private final Gateway gateway;
        private final ServerResponse response;
        private final boolean includeUsage;
        private final String id = newId();
        private final long created = System.currentTimeMillis() / 1000;
        private OutputStream out;
        private String model;

        ChatStream(Gateway gateway, ServerResponse response, boolean includeUsage) {
            this.gateway = gateway;
            this.response = response;
            this.includeUsage = includeUsage;
        }

        void run(LlmService llm, ChatRequest request) {
            model = request.model();
            ChatResult result;
            try {
                result = llm.stream(request, new StreamListener() {
                    @Override
                    public void onStart(Start start) {
                        begin(start);
                    }

                    @Override
                    public void onDelta(String text) {
                        delta(text);
                    }
                });
            } catch (UncheckedIOException clientGone) {
                return;
            } catch (RuntimeException e) {
                if (out == null) {
                    throw e;
                }
                ApiException error = ApiErrors.translate(e, gateway.clock().millis());
                try {
                    write("data: " + Json.write(error.body()) + "\n\n");
                    close();
                } catch (UncheckedIOException clientGone) {
                    // Nobody left to tell.
                }
                return;
            }
            served(gateway, result);
            model = result.model();
            try {
                if (out == null) {
                    begin(new StreamListener.Start(result.provider(), result.keyIndex(), result.maskedKey(),
                            result.model()));
                }
                write("data: " + Json.write(chunk(Map.of(), finishReason(result))) + "\n\n");
                if (includeUsage) {
                    Map<String, Object> usage = base();
                    usage.put("choices", List.of());
                    usage.put("usage", usage(result.usage()));
                    write("data: " + Json.write(usage) + "\n\n");
                }
                write("data: [DONE]\n\n");
                close();
            } catch (UncheckedIOException clientGone) {
                // The answer was complete and settled; only its last lines found no reader.
            }
        }

        private void delta(String text) {
            write("data: " + Json.write(chunk(Map.of("content", text), null)) + "\n\n");
        }

        /** Sends the headers, naming the provider and key that serve the stream, and the role chunk. */
        private void begin(StreamListener.Start start) {
            response.header(HeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8");
            response.header(HeaderNames.CACHE_CONTROL, "no-cache");
            response.header("X-Accel-Buffering", "no");
            servedBy(response, start.provider(), start.keyIndex(), start.maskedKey());
            if (start.model() != null) {
                model = start.model();
                response.header(MODEL_HEADER, ascii(model));
            }
            out = response.outputStream();
            Map<String, Object> role = new LinkedHashMap<>();
            role.put("role", "assistant");
            role.put("content", "");
            write("data: " + Json.write(chunk(role, null)) + "\n\n");
        }

        private Map<String, Object> chunk(Map<String, Object> delta, String finishReason) {
            Map<String, Object> choice = new LinkedHashMap<>();
            choice.put("index", 0);
            choice.put("delta", delta);
            choice.put("logprobs", null);
            choice.put("finish_reason", finishReason);
            Map<String, Object> chunk = base();
            chunk.put("choices", List.of(choice));
            if (includeUsage) {
                chunk.put("usage", null);
            }
            return chunk;
        }

        private Map<String, Object> base() {
            Map<String, Object> chunk = new LinkedHashMap<>();
            chunk.put("id", id);
            chunk.put("object", "chat.completion.chunk");
            chunk.put("created", created);
            chunk.put("model", model);
            chunk.put("system_fingerprint", null);
            return chunk;
        }

        private void write(String text) {
            try {
                out.write(text.getBytes(StandardCharsets.UTF_8));
                out.flush();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        private void close() {
            try {
                out.close();
            } catch (IOException | UncheckedIOException e) {
                // The client is gone; the answer was settled already.
            }
        }
    }
}
