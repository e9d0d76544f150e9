package dev.keypool.redis;

/**
 * Redis could not be asked: the connection is down, a command timed out, or the server is not
 * ready (loading, read-only replica, busy script). Nothing was decided, so a caller may fall back
 * to local accounting. A script that Redis ran and refused is a bug and surfaces as an
 * {@link IllegalStateException} instead.
 */
public final class RedisUnavailableException extends RuntimeException {

    public RedisUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
