package dev.keypool.server.connection;

import java.time.Duration;
import java.util.Objects;

/**
 * What bounds the gateway's connections, so that memory is bounded by settings and not by whoever
 * connects.
 *
 * @param maxConnections connections served at once ({@code KEYPOOL_MAX_CONNECTIONS}); the ones
 *                       above it are answered 503 and closed, and above {@link #hardLimit()} they
 *                       wait in the kernel's accept queue
 * @param headerTimeout  how long a request's head (request line and headers) may take to arrive,
 *                       from the connection's opening or the first byte of a later request
 *                       ({@code KEYPOOL_HEADER_TIMEOUT_SECONDS}); slower connections are closed
 * @param idleTimeout    how long a read may wait for the client: between requests on a kept-alive
 *                       connection, and within a request body ({@code KEYPOOL_IDLE_TIMEOUT_SECONDS})
 * @param retryAfter     what the {@code Retry-After} of a refusal says
 */
public record ConnectionLimits(int maxConnections, Duration headerTimeout, Duration idleTimeout, Duration retryAfter) {

    /**
     * Room above {@link #maxConnections} for connections that are only being refused: a refusal reads
     * the request head and answers at once, so they are short-lived; beyond this the listener stops
     * accepting until a connection ends.
     */
    public int hardLimit() {
        return maxConnections + Math.max(64, maxConnections / 10);
    }

    public ConnectionLimits {
        if (maxConnections <= 0) {
            throw new IllegalArgumentException("maxConnections must be positive, was " + maxConnections);
        }
        Objects.requireNonNull(headerTimeout, "headerTimeout");
        Objects.requireNonNull(idleTimeout, "idleTimeout");
        Objects.requireNonNull(retryAfter, "retryAfter");
    }
}
