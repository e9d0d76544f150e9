package dev.keypool.providers.relay;

import dev.keypool.rotation.TokenUsage;

/**
 * How a relayed request ended.
 *
 * @param status the status the caller got
 * @param usage  what was committed to the serving key (or, for keyless Ollama, what it reported);
 *               {@code null} when nothing was used (a refusal the provider answered for free)
 */
public record Outcome(Served served, int status, TokenUsage usage) {
}
