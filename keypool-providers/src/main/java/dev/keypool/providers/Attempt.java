package dev.keypool.providers;

import dev.keypool.config.Provider;
import dev.keypool.failure.FailureKind;

/**
 * One failed try on the way to an answer: which key (or keyless provider) and why.
 *
 * @param keyIndex the key's index, {@code -1} for Ollama
 * @param message  the provider's message, with any key masked
 */
public record Attempt(Provider provider, int keyIndex, FailureKind kind, String message) {
}
