package dev.keypool.providers.internal;

import dev.keypool.rotation.TokenUsage;

/**
 * A provider's answer, in OpenAI's vocabulary whatever the provider.
 *
 * @param id           the provider's response id, or {@code null} when it has none
 * @param model        the model as the provider named it, or {@code null} when it did not say
 * @param finishReason {@code stop}, {@code length}, {@code content_filter} or {@code tool_calls}
 * @param usage        the provider's count, or {@code null} when it reported none (a stream cut
 *                     short, an OpenAI-compatible server that ignores {@code include_usage})
 */
public record Completion(String id, String model, String text, String finishReason, TokenUsage usage) {
}
