package dev.keypool.providers;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.providers.internal.Json;
import dev.keypool.providers.openai.ChatAnswers;
import dev.keypool.providers.openai.OpenAiShapes;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The library's requests and answers in OpenAI's chat shape, the one language the {@link Relay}
 * translates to every provider: {@link ChatRequest} written as a request, and the answer (whole, or
 * chunk by chunk) read back into {@link ChatResult.Choice}s. The only place that knows the wire
 * format; the request and result types hold none of it.
 */
final class ChatWire {

    /**
     * Request fields the service writes itself, never from a {@link ChatRequest}'s {@code extra}
     * ({@code stream_options} is merged: the caller's options, then {@code include_usage}).
     */
    private static final Set<String> OWN = Set.of("model", "messages", "stream", "stream_options");

    private ChatWire() {
    }

    /** The request in OpenAI's shape: model, messages, then the extra fields, then the members. */
    static byte[] request(ChatRequest request, boolean stream) {
        return OpenAiShapes.write(json -> {
            json.writeStartObject();
            json.writeStringField("model", request.model() == null || request.model().isBlank() ? "auto"
                    : request.model().trim());
            json.writeArrayFieldStart("messages");
            for (ChatMessage message : request.messages()) {
                message(json, message);
            }
            json.writeEndArray();
            for (Map.Entry<String, Object> field : request.extra().entrySet()) {
                if (!OWN.contains(field.getKey()) && !member(request, field.getKey())) {
                    json.writeFieldName(field.getKey());
                    Json.writeValue(json, field.getValue());
                }
            }
            if (request.temperature() != null) {
                json.writeNumberField("temperature", request.temperature());
            }
            if (request.maxTokens() != null) {
                json.writeNumberField("max_tokens", request.maxTokens());
            }
            if (request.n() != null) {
                json.writeNumberField("n", request.n());
            }
            if (!request.tools().isEmpty()) {
                tools(json, request.tools());
            }
            if (request.toolChoice() != null) {
                toolChoice(json, request.toolChoice());
            }
            if (request.responseFormat() != null) {
                responseFormat(json, request.responseFormat());
            }
            if (stream) {
                json.writeBooleanField("stream", true);
                json.writeObjectFieldStart("stream_options");
                if (request.extra().get("stream_options") instanceof Map<?, ?> options) {
                    for (Map.Entry<?, ?> option : options.entrySet()) {
                        if (!"include_usage".equals(option.getKey())) {
                            json.writeFieldName(String.valueOf(option.getKey()));
                            Json.writeValue(json, option.getValue());
                        }
                    }
                }
                json.writeBooleanField("include_usage", true);
                json.writeEndObject();
            }
            json.writeEndObject();
        });
    }

    /** Whether {@code field} is one a set member of {@code request} writes. */
    private static boolean member(ChatRequest request, String field) {
        return switch (field) {
            case "temperature" -> request.temperature() != null;
            case "max_tokens" -> request.maxTokens() != null;
            case "n" -> request.n() != null;
            case "tools" -> !request.tools().isEmpty();
            case "tool_choice" -> request.toolChoice() != null;
            case "response_format" -> request.responseFormat() != null;
            default -> false;
        };
    }

    private static void message(JsonGenerator json, ChatMessage message) throws IOException {
        json.writeStartObject();
        json.writeStringField("role", message.role());
        List<ContentPart> parts = message.parts();
        if (parts.isEmpty()) {
            json.writeNullField("content");
        } else if (parts.size() == 1 && parts.get(0) instanceof ContentPart.Text text) {
            json.writeStringField("content", text.text());
        } else {
            json.writeArrayFieldStart("content");
            for (ContentPart part : parts) {
                json.writeStartObject();
                if (part instanceof ContentPart.Text text) {
                    json.writeStringField("type", "text");
                    json.writeStringField("text", text.text());
                } else if (part instanceof ContentPart.Image image) {
                    json.writeStringField("type", "image_url");
                    json.writeObjectFieldStart("image_url");
                    json.writeStringField("url", image.inline() ? "data:" + image.mimeType() + ";base64,"
                            + Base64.getEncoder().encodeToString(image.data()) : image.url());
                    json.writeEndObject();
                }
                json.writeEndObject();
            }
            json.writeEndArray();
        }
        if (!message.toolCalls().isEmpty()) {
            json.writeArrayFieldStart("tool_calls");
            for (ToolCall call : message.toolCalls()) {
                ChatAnswers.toolCall(json, new ChatAnswers.ToolCall(call.id(), call.name(), call.arguments()), -1);
            }
            json.writeEndArray();
        }
        if (message.toolCallId() != null) {
            json.writeStringField("tool_call_id", message.toolCallId());
        }
        json.writeEndObject();
    }

    private static void tools(JsonGenerator json, List<Tool> tools) throws IOException {
        json.writeArrayFieldStart("tools");
        for (Tool tool : tools) {
            json.writeStartObject();
            json.writeStringField("type", "function");
            json.writeObjectFieldStart("function");
            json.writeStringField("name", tool.name());
            if (tool.description() != null) {
                json.writeStringField("description", tool.description());
            }
            if (tool.parameters() != null) {
                json.writeFieldName("parameters");
                json.writeTree(Json.parseOrMissing(tool.parameters()));
            }
            if (tool.strict()) {
                json.writeBooleanField("strict", true);
            }
            json.writeEndObject();
            json.writeEndObject();
        }
        json.writeEndArray();
    }

    private static void toolChoice(JsonGenerator json, ToolChoice choice) throws IOException {
        if (choice.function() != null) {
            json.writeObjectFieldStart("tool_choice");
            json.writeStringField("type", "function");
            json.writeObjectFieldStart("function");
            json.writeStringField("name", choice.function());
            json.writeEndObject();
            json.writeEndObject();
            return;
        }
        json.writeStringField("tool_choice", switch (choice.mode()) {
            case AUTO -> "auto";
            case NONE -> "none";
            case REQUIRED -> "required";
        });
    }

    private static void responseFormat(JsonGenerator json, ResponseFormat format) throws IOException {
        json.writeObjectFieldStart("response_format");
        switch (format.type()) {
            case TEXT -> json.writeStringField("type", "text");
            case JSON_OBJECT -> json.writeStringField("type", "json_object");
            case JSON_SCHEMA -> {
                json.writeStringField("type", "json_schema");
                json.writeObjectFieldStart("json_schema");
                json.writeStringField("name", format.name());
                json.writeFieldName("schema");
                json.writeTree(Json.parseOrMissing(format.schema()));
                json.writeBooleanField("strict", format.strict());
                json.writeEndObject();
            }
        }
        json.writeEndObject();
    }

    // ---- answers -----------------------------------------------------------------------------------

    /** The choices of a whole {@code chat.completion}, in order. */
    static List<ChatResult.Choice> choices(JsonNode completion) {
        List<ChatResult.Choice> choices = new ArrayList<>();
        JsonNode list = completion.path("choices");
        for (int i = 0; i < list.size(); i++) {
            JsonNode choice = list.get(i);
            JsonNode message = choice.path("message");
            List<ToolCall> calls = new ArrayList<>();
            for (JsonNode call : message.path("tool_calls")) {
                calls.add(new ToolCall(call.path("id").asText(), call.path("function").path("name").asText(),
                        call.path("function").path("arguments").asText("")));
            }
            String reason = Json.text(choice, "finish_reason");
            choices.add(new ChatResult.Choice(choice.path("index").asInt(i), Json.text(message, "content"), calls,
                    reason != null ? reason : "stop"));
        }
        return choices;
    }

    /**
     * A streamed answer's choices, assembled from its chunks: the text deltas of each choice, and
     * each call from its deltas (the first names it, the rest add to its arguments).
     */
    static final class Assembly {

        private final Map<Integer, Building> choices = new TreeMap<>();

        /** One chunk's choices. */
        void add(JsonNode chunk) {
            for (JsonNode choice : chunk.path("choices")) {
                Building building = choices.computeIfAbsent(choice.path("index").asInt(0), Building::new);
                JsonNode delta = choice.path("delta");
                String text = Json.text(delta, "content");
                if (text != null) {
                    building.text.append(text);
                }
                for (JsonNode call : delta.path("tool_calls")) {
                    int index = call.path("index").asInt(building.calls.size());
                    while (building.calls.size() <= index) {
                        building.calls.add(new String[] {null, null, ""});
                    }
                    String[] parts = building.calls.get(index);
                    parts[0] = call.has("id") ? call.path("id").asText() : parts[0];
                    JsonNode function = call.path("function");
                    parts[1] = function.has("name") ? function.path("name").asText() : parts[1];
                    parts[2] += function.path("arguments").asText("");
                }
                String finish = Json.text(choice, "finish_reason");
                building.finishReason = finish != null ? finish : building.finishReason;
            }
        }

        List<ChatResult.Choice> choices() {
            List<ChatResult.Choice> list = new ArrayList<>();
            for (Building building : choices.values()) {
                List<ToolCall> calls = new ArrayList<>();
                for (String[] call : building.calls) {
                    if (call[0] != null && call[1] != null) {
                        calls.add(new ToolCall(call[0], call[1], call[2]));
                    }
                }
                list.add(new ChatResult.Choice(building.index, building.text.toString(), calls,
                        building.finishReason != null ? building.finishReason : "stop"));
            }
            return list;
        }

        /** One choice so far: its text, its calls ({@code id, name, arguments}), how it ended. */
        private static final class Building {
            final int index;
            final StringBuilder text = new StringBuilder();
            final List<String[]> calls = new ArrayList<>();
            String finishReason;

            Building(int index) {
                this.index = index;
            }
        }
    }
}
