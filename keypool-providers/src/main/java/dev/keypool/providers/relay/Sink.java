package dev.keypool.providers.relay;

import dev.keypool.failure.UpstreamException;
import java.io.IOException;
import java.io.OutputStream;

/**
 * Where a relayed answer goes: the gateway's HTTP response, or the library's buffer. Nothing is
 * written before {@link #begin} or {@link #whole}; until then the relay may still try another key
 * or provider, and afterwards it never does.
 *
 * <p>A sink that throws (a caller that went away) abandons the answer: the upstream connection is
 * closed, the reservation settled on the safe side, and no key is blamed.
 */
public interface Sink {

    /**
     * The answer begins; its body follows on the stream returned, which the relay flushes after
     * each event of a stream and closes at the end.
     */
    OutputStream begin(Head head) throws IOException;

    /** A whole answer at once (small answers of known length). */
    default void whole(Head head, byte[] body) throws IOException {
        try (OutputStream out = begin(head)) {
            out.write(body);
        }
    }

    /**
     * The provider refused the request itself (a client error no other key would answer
     * differently). A gateway passes the provider's answer on as it came; the library throws the
     * classified failure, which is what this default does.
     */
    default void refused(Head head, byte[] body, UpstreamException failure) throws IOException {
        throw failure;
    }
}
