package dev.keypool.providers.internal;

import dev.keypool.providers.ChatMessage;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * One call to a provider, fully decided: the key, the model, and the cap on output.
 *
 * @param apiKey      the full key, {@code null} for Ollama; goes on the wire and nowhere else
 * @param maxTokens   always sent, because the reservation covers exactly this much output
 * @param rateLimits  told what the provider's rate-limit headers said, on success and on error
 */
public record UpstreamCall(String apiKey, String model, List<ChatMessage> messages, Double temperature,
        int maxTokens, Map<String, Object> extra, Consumer<RateLimitSnapshot> rateLimits) {

    @Override
    public String toString() {
        return "UpstreamCall[model=" + model + ", " + messages.size() + " messages, maxTokens=" + maxTokens + "]";
    }
}
