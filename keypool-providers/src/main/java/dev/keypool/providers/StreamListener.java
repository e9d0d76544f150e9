package dev.keypool.providers;

import dev.keypool.config.Provider;

/**
 * Receives the text of a streamed answer as it arrives, on the thread that called
 * {@link LlmService#stream}. Throwing from {@link #onDelta} (or {@link #onStart}) abandons the
 * stream: the upstream connection is closed, the reservation settled (released, or committed with
 * the usage so far once text has arrived, because the provider bills it) and the exception
 * rethrown to the caller.
 */
@FunctionalInterface
public interface StreamListener {

    /**
     * Called once, just before the first delta, with the provider and key that serve the answer,
     * so a gateway can send its headers before the text. Attempts that fail before any text (and
     * fail over) are never announced.
     */
    default void onStart(Start start) {
    }

    void onDelta(String text);

    /**
     * Who serves a streamed answer.
     *
     * @param keyIndex  the key's index, or -1 for keyless Ollama
     * @param maskedKey the masked key, or {@code null} for Ollama
     */
    record Start(Provider provider, int keyIndex, String maskedKey, String model) {
    }
}
