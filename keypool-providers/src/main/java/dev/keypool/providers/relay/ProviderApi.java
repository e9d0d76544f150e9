package dev.keypool.providers.relay;

import dev.keypool.config.Provider;
import dev.keypool.failure.UpstreamException;
import dev.keypool.providers.internal.RateLimitSnapshot;
import dev.keypool.providers.internal.ResponseHeaders;

/**
 * One provider's own protocol, as the relay carries it: its endpoints, how a caller's request on
 * one of them is read and sent with a pooled key, and how the provider's errors are classified.
 * Each provider package has exactly one; the relay talks to nothing else of it.
 */
public interface ProviderApi {

    Provider provider();

    /** The endpoint a caller's {@code method path} names in this protocol, or {@code null} when none. */
    Operation operation(String method, String path);

    /**
     * Classifies an error answer ({@code body} read whole, up to 64 KiB).
     *
     * @param secret the key the request carried, scrubbed from the message; may be {@code null}
     */
    UpstreamException failure(int status, ResponseHeaders headers, String body, String secret);

    /**
     * The failure one event of a streamed answer reports (an {@code {"error": …}} event inside a
     * 200 stream), or {@code null} for an ordinary event. The event still goes to the caller as it
     * came; the key gets the failure's reaction (a rate limit cools it, an exhausted quota retires it).
     */
    default UpstreamException streamFailure(byte[] event, String secret) {
        return null;
    }

    /** What the answer's headers said the key has left (OpenAI's {@code x-ratelimit-*}), or {@code null}. */
    default RateLimitSnapshot budget(ResponseHeaders headers) {
        return null;
    }
}
