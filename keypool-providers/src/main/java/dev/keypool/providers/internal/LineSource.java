package dev.keypool.providers.internal;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;

/**
 * The lines of a streamed body ({@code \n}, {@code \r\n} or {@code \r} ended, so SSE from OpenAI and
 * Gemini's CRLF framing read alike). Each read waits up to the idle timeout, which {@link Upstream}
 * set on the connection as the socket's read timeout; a read that waits longer fails as a timeout.
 *
 * <p>It is not closed: {@link Upstream.StreamingResponse#close()} closes the connection when the
 * body was not read to its end (closing the body stream itself would read on to the next chunk).
 *
 * <p>Silence is counted while a read waits, not while the caller is busy between reads (a listener
 * blocked on a slow client): that caller is not reading, so the provider's writes wait on the
 * connection's window rather than being lost.
 */
public final class LineSource {

    private final BufferedReader reader;
    private final Upstream upstream;
    private final String secret;

    LineSource(InputStream in, Upstream upstream, String secret) {
        this.reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
        this.upstream = upstream;
        this.secret = secret;
    }

    /**
     * The next line without its terminator, or {@code null} at the end of the body.
     *
     * @throws dev.keypool.failure.UpstreamException        when the connection dropped or went silent
     * @throws java.util.concurrent.CancellationException when the reading thread was interrupted
     */
    public String readLine() {
        return Upstream.interruptibly(() -> {
            try {
                return reader.readLine();
            } catch (IOException | RuntimeException e) {
                throw upstream.failureWhileReading(e, secret);
            }
        });
    }

}
