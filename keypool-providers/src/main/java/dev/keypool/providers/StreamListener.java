package dev.keypool.providers;

/**
 * Receives the text of a streamed answer as it arrives, on the thread that called
 * {@link LlmService#stream}. Throwing from {@link #onDelta} abandons the stream: the upstream
 * connection is closed, the reservation settled (released, or committed with the usage so far once
 * text has arrived, because the provider bills it) and the exception rethrown to the caller.
 */
@FunctionalInterface
public interface StreamListener {

    void onDelta(String text);
}
