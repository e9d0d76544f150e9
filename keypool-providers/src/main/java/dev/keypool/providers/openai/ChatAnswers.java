package dev.keypool.providers.openai;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.keypool.rotation.TokenUsage;
import java.io.IOException;
import java.util.List;

/**
 * OpenAI's {@code chat.completion} and {@code chat.completion.chunk}, written for answers that come
 * from another provider in translation. The fields follow OpenAI's reference; what the other
 * provider cannot say is written as OpenAI writes an absent value ({@code null}).
 */
public final class ChatAnswers {

    private ChatAnswers() {
    }

    /** One choice of a whole answer. */
    public record Choice(int index, String content, String finishReason) {
    }

    public static byte[] completion(String id, long created, String model, List<Choice> choices, TokenUsage usage) {
        return OpenAiShapes.write(json -> {
            json.writeStartObject();
            json.writeStringField("id", id);
            json.writeStringField("object", "chat.completion");
            json.writeNumberField("created", created);
            json.writeStringField("model", model);
            json.writeArrayFieldStart("choices");
            for (Choice choice : choices) {
                json.writeStartObject();
                json.writeNumberField("index", choice.index());
                json.writeObjectFieldStart("message");
                json.writeStringField("role", "assistant");
                json.writeStringField("content", choice.content());
                json.writeNullField("refusal");
                json.writeEndObject();
                json.writeNullField("logprobs");
                json.writeStringField("finish_reason", choice.finishReason());
                json.writeEndObject();
            }
            json.writeEndArray();
            usage(json, usage);
            json.writeNullField("system_fingerprint");
            json.writeEndObject();
        });
    }

    /**
     * A chunk of a stream: a delta of {@code content} (the first chunk of a choice also carries the
     * role), or its end with {@code finishReason}.
     *
     * @param usageNull whether the caller asked for the usage chunk, so every other chunk says {@code "usage": null}
     */
    public static byte[] chunk(String id, long created, String model, int index, boolean first, String content,
            String finishReason, boolean usageNull) {
        return OpenAiShapes.write(json -> {
            start(json, id, created, model);
            json.writeArrayFieldStart("choices");
            json.writeStartObject();
            json.writeNumberField("index", index);
            json.writeObjectFieldStart("delta");
            if (first) {
                json.writeStringField("role", "assistant");
            }
            if (content != null) {
                json.writeStringField("content", content);
            }
            json.writeEndObject();
            json.writeNullField("logprobs");
            if (finishReason == null) {
                json.writeNullField("finish_reason");
            } else {
                json.writeStringField("finish_reason", finishReason);
            }
            json.writeEndObject();
            json.writeEndArray();
            if (usageNull) {
                json.writeNullField("usage");
            }
            json.writeEndObject();
        });
    }

    /** The last chunk of a stream that asked for usage: no choices, the usage. */
    public static byte[] usageChunk(String id, long created, String model, TokenUsage usage) {
        return OpenAiShapes.write(json -> {
            start(json, id, created, model);
            json.writeArrayFieldStart("choices");
            json.writeEndArray();
            usage(json, usage);
            json.writeEndObject();
        });
    }

    private static void start(JsonGenerator json, String id, long created, String model) throws IOException {
        json.writeStartObject();
        json.writeStringField("id", id);
        json.writeStringField("object", "chat.completion.chunk");
        json.writeNumberField("created", created);
        json.writeStringField("model", model);
        json.writeNullField("system_fingerprint");
    }

    private static void usage(JsonGenerator json, TokenUsage usage) throws IOException {
        if (usage == null) {
            json.writeNullField("usage");
            return;
        }
        json.writeObjectFieldStart("usage");
        json.writeNumberField("prompt_tokens", usage.promptTokens());
        json.writeNumberField("completion_tokens", usage.completionTokens());
        json.writeNumberField("total_tokens", usage.totalTokens());
        json.writeEndObject();
    }
}
