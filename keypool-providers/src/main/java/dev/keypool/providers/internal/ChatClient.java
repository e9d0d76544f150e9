package dev.keypool.providers.internal;

import dev.keypool.config.Provider;
import dev.keypool.providers.StreamListener;

/**
 * One provider's chat protocol. A client makes exactly one HTTP call per method call, with the key
 * it is given; choosing keys, settling reservations and failing over belong to its caller.
 */
public interface ChatClient {

    Provider provider();

    /**
     * Sends the request and waits for the whole answer.
     *
     * @throws dev.keypool.failure.UpstreamException        classified, when the call failed
     * @throws java.util.concurrent.CancellationException when the calling thread was interrupted
     */
    Completion complete(UpstreamCall call);

    /**
     * Sends the request as a stream and hands each text delta to {@code listener} as it arrives.
     * Whatever the listener throws propagates unchanged, after the upstream connection is closed.
     *
     * @throws dev.keypool.failure.UpstreamException        classified, when the call failed before
     *                                                      or during the stream
     * @throws java.util.concurrent.CancellationException when the calling thread was interrupted
     */
    Completion stream(UpstreamCall call, StreamListener listener);
}
