package dev.keypool.providers;

import dev.keypool.config.Provider;
import dev.keypool.rotation.TokenUsage;
import java.util.List;

/**
 * The answer to a chat request and how it was obtained. Holds no secret: only the masked key.
 *
 * @param id           the provider's response id ({@code chatcmpl-…}, Gemini's {@code responseId}),
 *                     or one made up for Ollama, which has none
 * @param model        the model that answered, as the provider named it ({@code gpt-4o-2024-08-06})
 * @param keyIndex     the key that served, {@code -1} for Ollama
 * @param maskedKey    that key masked ({@code sk-p…key1}), {@code null} for Ollama
 * @param usage        what the provider reported, or keypool's count when it reported nothing
 *                     (a stream cut short); this is what was committed to the key
 * @param finishReason in OpenAI's vocabulary: {@code stop}, {@code length}, {@code content_filter},
 *                     {@code tool_calls}
 * @param attempts     every key or provider that failed before this one answered, in order
 */
public record ChatResult(String id, String text, Provider provider, String model, int keyIndex, String maskedKey,
        TokenUsage usage, String finishReason, List<Attempt> attempts) {

    public ChatResult {
        attempts = List.copyOf(attempts);
    }
}
