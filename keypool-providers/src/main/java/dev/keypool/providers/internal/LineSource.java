package dev.keypool.providers.internal;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The lines of a streamed body ({@code \n}, {@code \r\n} or {@code \r} ended, so SSE from OpenAI and
 * Gemini's CRLF framing read alike), with an idle watchdog: when no byte has arrived for the idle
 * timeout, the watchdog closes the stream, the blocked {@link #readLine()} wakes with an I/O error,
 * and that error is reported as a timeout.
 *
 * <p>Silence is measured from the last line handed out, so time the caller spends between reads
 * (a listener blocked on a slow client) counts too: a stream nobody reads for that long is given up
 * as well. One task per open stream sits in the scheduler; it re-arms itself for the time left
 * rather than polling, and is cancelled on {@link #close()}.
 */
public final class LineSource implements AutoCloseable {

    private final InputStream in;
    private final BufferedReader reader;
    private final Upstream upstream;
    private final String secret;
    private final long idleNanos;
    private volatile long lastActivity = System.nanoTime();
    private volatile boolean idleClosed;
    private volatile boolean closed;
    private ScheduledFuture<?> check;

    LineSource(InputStream in, Upstream upstream, String secret) {
        this.in = in;
        this.reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
        this.upstream = upstream;
        this.secret = secret;
        this.idleNanos = upstream.idleTimeout().toNanos();
        arm(idleNanos);
    }

    /**
     * The next line without its terminator, or {@code null} at the end of the body.
     *
     * @throws dev.keypool.failure.UpstreamException        when the connection dropped or went silent
     * @throws java.util.concurrent.CancellationException when the reading thread was interrupted
     */
    public String readLine() {
        try {
            String line = reader.readLine();
            lastActivity = System.nanoTime();
            return line;
        } catch (IOException e) {
            throw upstream.failureWhileReading(e, secret, idleClosed);
        }
    }

    private synchronized void arm(long delayNanos) {
        if (!closed) {
            check = upstream.watchdog().schedule(this::checkIdle, delayNanos, TimeUnit.NANOSECONDS);
        }
    }

    private void checkIdle() {
        long silent = System.nanoTime() - lastActivity;
        if (silent >= idleNanos) {
            idleClosed = true;
            closeQuietly();
        } else {
            arm(idleNanos - silent);
        }
    }

    @Override
    public void close() {
        synchronized (this) {
            closed = true;
            if (check != null) {
                check.cancel(false);
            }
        }
        closeQuietly();
    }

    private void closeQuietly() {
        try {
            in.close();
        } catch (IOException ignored) {
            // closing cancels the upstream request; there is nothing more to do if it complains
        }
    }
}
