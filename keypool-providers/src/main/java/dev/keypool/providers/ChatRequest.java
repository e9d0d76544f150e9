package dev.keypool.providers;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A chat request as the caller wrote it. Validated by the record itself: a request that cannot be
 * sent throws {@link IllegalArgumentException} naming the field.
 *
 * @param model       as the caller wrote it: {@code "auto"}, {@code "gpt-4o"}, {@code "gemini-2.5-flash"},
 *                    {@code "llama3.2"}, {@code "openai/gpt-4o"}, a bare provider name ({@code "gemini"}: that
 *                    provider, each key's configured model), or {@code null} (= {@code auto})
 * @param messages    the conversation, at least one message
 * @param temperature {@code null} for the provider's default; else 0 to 2
 * @param maxTokens   the completion cap, {@code null} for {@code KEYPOOL_DEFAULT_MAX_TOKENS} (default 1024);
 *                    always sent upstream, because the reservation covers exactly this much output
 * @param extra       other OpenAI request fields passed through to OpenAI ({@code top_p}, {@code stop},
 *                    {@code n}, …); {@code top_p}, {@code stop} and {@code seed} are translated for Gemini
 *                    and Ollama, the rest is OpenAI-only. Never {@code null}; may hold {@code null} values.
 */
public record ChatRequest(String model, List<ChatMessage> messages, Double temperature, Integer maxTokens,
        Map<String, Object> extra) {

    public ChatRequest {
        if (messages == null || messages.isEmpty()) {
            throw new IllegalArgumentException("messages must hold at least one message");
        }
        for (int i = 0; i < messages.size(); i++) {
            if (messages.get(i) == null) {
                throw new IllegalArgumentException("messages[" + i + "] is null");
            }
        }
        messages = List.copyOf(messages);
        if (temperature != null && (temperature.isNaN() || temperature < 0 || temperature > 2)) {
            throw new IllegalArgumentException("temperature must be between 0 and 2, was " + temperature);
        }
        if (maxTokens != null && maxTokens <= 0) {
            throw new IllegalArgumentException("max_tokens must be a positive integer, was " + maxTokens);
        }
        // Map.copyOf refuses null values, and JSON requests carry them ("stop": null).
        extra = extra == null || extra.isEmpty() ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(extra));
    }

    /** A one-message request on {@code auto} with every default, like the seed's simplest call. */
    public static ChatRequest of(String prompt) {
        return new ChatRequest(null, List.of(ChatMessage.user(prompt)), null, null, Map.of());
    }

    /** A copy of this request for another model. */
    public ChatRequest withModel(String otherModel) {
        return new ChatRequest(otherModel, messages, temperature, maxTokens, extra);
    }
}
