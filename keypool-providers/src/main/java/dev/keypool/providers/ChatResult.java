package dev.keypool.providers;

import dev.keypool.config.Provider;
import dev.keypool.rotation.TokenUsage;
import java.util.List;

/**
 * The answer to a chat request and how it was obtained. Holds no secret: only the masked key.
 * {@link #text()}, {@link #finishReason()} and {@link #toolCalls()} are the first choice's; a request
 * for several ({@code n}) has them all in {@link #choices()}.
 *
 * @param id           the provider's response id ({@code chatcmpl-…}, Gemini's {@code responseId}),
 *                     or one made up for Ollama, which has none
 * @param text         the first choice's text; empty when it only called tools
 * @param model        the model that answered, as the provider named it ({@code gpt-4o-2024-08-06})
 * @param keyIndex     the key that served, {@code -1} for Ollama
 * @param maskedKey    that key masked ({@code sk-p…key1}), {@code null} for Ollama
 * @param usage        what the provider reported, or keypool's count when it reported nothing
 *                     (a stream cut short); this is what was committed to the key
 * @param finishReason in OpenAI's vocabulary: {@code stop}, {@code length}, {@code content_filter},
 *                     {@code tool_calls}
 * @param attempts     every key or provider that failed before this one answered, in order
 * @param choices      every choice, in order; the first is the one the other members describe
 */
public record ChatResult(String id, String text, Provider provider, String model, int keyIndex, String maskedKey,
        TokenUsage usage, String finishReason, List<Attempt> attempts, List<Choice> choices) {

    /**
     * One of the answers generated.
     *
     * @param toolCalls the calls the model made, to run and answer with {@link ChatMessage#toolResult}
     */
    public record Choice(int index, String text, List<ToolCall> toolCalls, String finishReason) {

        public Choice {
            text = text == null ? "" : text;
            toolCalls = List.copyOf(toolCalls);
        }

        /** This choice as the assistant message to send back in the next turn. */
        public ChatMessage message() {
            return ChatMessage.assistant(text, toolCalls);
        }
    }

    public ChatResult {
        attempts = List.copyOf(attempts);
        choices = choices == null || choices.isEmpty() ? List.of(new Choice(0, text, List.of(), finishReason))
                : List.copyOf(choices);
    }

    /** An answer of one choice without tool calls. */
    public ChatResult(String id, String text, Provider provider, String model, int keyIndex, String maskedKey,
            TokenUsage usage, String finishReason, List<Attempt> attempts) {
        this(id, text, provider, model, keyIndex, maskedKey, usage, finishReason, attempts, List.of());
    }

    /** The first choice's calls: empty unless the model called tools. */
    public List<ToolCall> toolCalls() {
        return choices.get(0).toolCalls();
    }

    /** The first choice as the assistant message to send back in the next turn (its calls included). */
    public ChatMessage message() {
        return choices.get(0).message();
    }
}
