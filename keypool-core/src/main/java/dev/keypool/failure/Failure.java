package dev.keypool.failure;

import java.time.Duration;
import java.util.Objects;

/**
 * A classified failure of one call.
 *
 * @param kind       what kind of failure it was
 * @param retryAfter how long the provider asked us to wait ({@code Retry-After}, a reset header,
 *                   a {@code retryDelay}), or {@code null} when it did not say
 * @param message    a short description for logs and events; never holds a key
 */
public record Failure(FailureKind kind, Duration retryAfter, String message) {

    public Failure {
        Objects.requireNonNull(kind, "kind");
        if (retryAfter != null && retryAfter.isNegative()) {
            retryAfter = Duration.ZERO;
        }
        message = message == null ? kind.id() : message;
    }

    public static Failure of(FailureKind kind, String message) {
        return new Failure(kind, null, message);
    }
}
