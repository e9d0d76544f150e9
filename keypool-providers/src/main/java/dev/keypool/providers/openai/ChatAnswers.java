package dev.keypool.providers.openai;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * OpenAI's {@code chat.completion} and {@code chat.completion.chunk}, written for answers that come
 * from another provider in translation. The fields follow OpenAI's reference; what the other
 * provider cannot say is written as OpenAI writes an absent value ({@code null}).
 */
public final class ChatAnswers {

    private ChatAnswers() {
    }

    /** A call the model made: its id, the function, and the arguments as JSON text. */
    public record ToolCall(String id, String name, String arguments) {
    }

    /**
     * One token's log probability, and the most likely alternatives at its position ({@code top},
     * empty when none were asked for).
     */
    public record TokenLogprob(String token, double logprob, List<TokenLogprob> top) {

        public TokenLogprob {
            top = List.copyOf(top);
        }
    }

    /**
     * The usage as OpenAI reports it.
     *
     * @param cachedTokens    {@code prompt_tokens_details.cached_tokens}, {@code null} when the provider said nothing
     * @param reasoningTokens {@code completion_tokens_details.reasoning_tokens}, {@code null} likewise
     */
    public record Usage(long promptTokens, long completionTokens, long totalTokens, Long cachedTokens,
            Long reasoningTokens) {

        public static Usage of(long promptTokens, long completionTokens) {
            return new Usage(promptTokens, completionTokens, promptTokens + completionTokens, null, null);
        }
    }

    /**
     * One choice of a whole answer.
     *
     * @param content  the text, {@code null} when the model only called tools
     * @param logprobs {@code null} when none were asked for
     */
    public record Choice(int index, String content, List<ToolCall> toolCalls, String finishReason,
            List<TokenLogprob> logprobs) {

        public Choice {
            toolCalls = List.copyOf(toolCalls);
            logprobs = logprobs == null ? null : List.copyOf(logprobs);
        }
    }

    /**
     * One chunk's change to one choice: text, calls (whole, each with its position among the
     * choice's calls from {@code firstCall} on), the log probabilities of its tokens, or its end.
     *
     * @param first whether this is the choice's first chunk (which carries the role)
     */
    public record Delta(int index, boolean first, String content, List<ToolCall> toolCalls, int firstCall,
            List<TokenLogprob> logprobs, String finishReason) {

        public Delta {
            toolCalls = List.copyOf(toolCalls);
            logprobs = logprobs == null ? null : List.copyOf(logprobs);
        }

        public static Delta text(int index, boolean first, String content, List<TokenLogprob> logprobs) {
            return new Delta(index, first, content, List.of(), 0, logprobs, null);
        }

        public static Delta calls(int index, boolean first, List<ToolCall> calls, int firstCall) {
            return new Delta(index, first, null, calls, firstCall, null, null);
        }

        public static Delta finish(int index, boolean first, String finishReason) {
            return new Delta(index, first, null, List.of(), 0, null, finishReason);
        }
    }

    public static byte[] completion(String id, long created, String model, List<Choice> choices, Usage usage) {
        return OpenAiShapes.write(json -> {
            open(json, "chat.completion", id, created, model);
            json.writeArrayFieldStart("choices");
            for (Choice choice : choices) {
                json.writeStartObject();
                json.writeNumberField("index", choice.index());
                json.writeObjectFieldStart("message");
                json.writeStringField("role", "assistant");
                json.writeStringField("content", choice.content());
                json.writeNullField("refusal");
                if (!choice.toolCalls().isEmpty()) {
                    json.writeArrayFieldStart("tool_calls");
                    for (ToolCall call : choice.toolCalls()) {
                        toolCall(json, call, -1);
                    }
                    json.writeEndArray();
                }
                json.writeEndObject();
                logprobs(json, choice.logprobs());
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
     * A chunk of a stream with one choice's {@code delta}.
     *
     * @param usageNull whether the caller asked for the usage chunk, so every other chunk says {@code "usage": null}
     */
    public static byte[] chunk(String id, long created, String model, Delta delta, boolean usageNull) {
        return OpenAiShapes.write(json -> {
            start(json, id, created, model);
            json.writeArrayFieldStart("choices");
            json.writeStartObject();
            json.writeNumberField("index", delta.index());
            json.writeObjectFieldStart("delta");
            if (delta.first()) {
                json.writeStringField("role", "assistant");
                if (delta.content() == null && !delta.toolCalls().isEmpty()) {
                    json.writeNullField("content");
                }
            }
            if (delta.content() != null) {
                json.writeStringField("content", delta.content());
            }
            if (!delta.toolCalls().isEmpty()) {
                json.writeArrayFieldStart("tool_calls");
                for (int i = 0; i < delta.toolCalls().size(); i++) {
                    toolCall(json, delta.toolCalls().get(i), delta.firstCall() + i);
                }
                json.writeEndArray();
            }
            json.writeEndObject();
            logprobs(json, delta.logprobs());
            if (delta.finishReason() == null) {
                json.writeNullField("finish_reason");
            } else {
                json.writeStringField("finish_reason", delta.finishReason());
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
    public static byte[] usageChunk(String id, long created, String model, Usage usage) {
        return OpenAiShapes.write(json -> {
            start(json, id, created, model);
            json.writeArrayFieldStart("choices");
            json.writeEndArray();
            usage(json, usage);
            json.writeEndObject();
        });
    }

    private static void start(JsonGenerator json, String id, long created, String model) throws IOException {
        open(json, "chat.completion.chunk", id, created, model);
        json.writeNullField("system_fingerprint");
    }

    /** Opens a chat object ({@code object} names which) with the fields every one begins with. */
    private static void open(JsonGenerator json, String object, String id, long created, String model)
            throws IOException {
        json.writeStartObject();
        json.writeStringField("id", id);
        json.writeStringField("object", object);
        json.writeNumberField("created", created);
        json.writeStringField("model", model);
    }

    /**
     * One of OpenAI's {@code tool_calls} entries; in a stream's delta with its {@code index} among the
     * choice's calls ({@code -1}: a whole message's, as in a request's assistant message too).
     */
    public static void toolCall(JsonGenerator json, ToolCall call, int index) throws IOException {
        json.writeStartObject();
        if (index >= 0) {
            json.writeNumberField("index", index);
        }
        json.writeStringField("id", call.id());
        json.writeStringField("type", "function");
        json.writeObjectFieldStart("function");
        json.writeStringField("name", call.name());
        json.writeStringField("arguments", call.arguments());
        json.writeEndObject();
        json.writeEndObject();
    }

    private static void logprobs(JsonGenerator json, List<TokenLogprob> logprobs) throws IOException {
        if (logprobs == null) {
            json.writeNullField("logprobs");
            return;
        }
        json.writeObjectFieldStart("logprobs");
        json.writeArrayFieldStart("content");
        for (TokenLogprob token : logprobs) {
            json.writeStartObject();
            token(json, token);
            json.writeArrayFieldStart("top_logprobs");
            for (TokenLogprob alternative : token.top()) {
                json.writeStartObject();
                token(json, alternative);
                json.writeEndObject();
            }
            json.writeEndArray();
            json.writeEndObject();
        }
        json.writeEndArray();
        json.writeNullField("refusal");
        json.writeEndObject();
    }

    /** {@code token}, {@code logprob} and the token's UTF-8 {@code bytes}, as OpenAI writes them. */
    private static void token(JsonGenerator json, TokenLogprob token) throws IOException {
        json.writeStringField("token", token.token());
        json.writeNumberField("logprob", token.logprob());
        json.writeArrayFieldStart("bytes");
        for (byte b : token.token().getBytes(StandardCharsets.UTF_8)) {
            json.writeNumber(b & 0xff);
        }
        json.writeEndArray();
    }

    private static void usage(JsonGenerator json, Usage usage) throws IOException {
        if (usage == null) {
            json.writeNullField("usage");
            return;
        }
        json.writeObjectFieldStart("usage");
        json.writeNumberField("prompt_tokens", usage.promptTokens());
        json.writeNumberField("completion_tokens", usage.completionTokens());
        json.writeNumberField("total_tokens", usage.totalTokens());
        if (usage.cachedTokens() != null) {
            json.writeObjectFieldStart("prompt_tokens_details");
            json.writeNumberField("cached_tokens", usage.cachedTokens());
            json.writeEndObject();
        }
        if (usage.reasoningTokens() != null) {
            json.writeObjectFieldStart("completion_tokens_details");
            json.writeNumberField("reasoning_tokens", usage.reasoningTokens());
            json.writeEndObject();
        }
        json.writeEndObject();
    }
}
