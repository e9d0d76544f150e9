package dev.keypool.providers.internal;

import dev.keypool.config.KeyMask;
import dev.keypool.failure.Failure;
import dev.keypool.failure.FailureKind;
import dev.keypool.failure.UpstreamException;
import java.time.Clock;
import java.time.Duration;

/** What the four clients share when they read an error answer. */
public final class Failures {

    /** Longest provider message kept; Google's can run to kilobytes of help links. */
    private static final int MAX_MESSAGE = 600;

    private Failures() {
    }

    /** The kind an HTTP status means when the body says nothing more specific. */
    public static FailureKind byStatus(int status) {
        if (status == 401 || status == 403) {
            return FailureKind.INVALID_KEY;
        }
        if (status == 429) {
            return FailureKind.RATE_LIMITED;
        }
        if (status == 408 || status == 499 || status >= 500 || status < 400) {
            return FailureKind.SERVER_ERROR;
        }
        return FailureKind.CLIENT_ERROR;
    }

    /** {@code retry-after-ms}, else {@code Retry-After}, as OpenAI's own SDKs read them. */
    public static Duration retryAfter(ResponseHeaders headers, Clock clock) {
        Duration millis = Durations.parseMillis(headers.firstValue("retry-after-ms").orElse(null));
        return millis != null ? millis : Durations.parseRetryAfter(headers.firstValue("retry-after").orElse(null), clock);
    }

    /** The provider's message, scrubbed of the key and cut to a sane length. */
    public static String message(String providerMessage, int status, String secret) {
        String text = providerMessage == null || providerMessage.isBlank()
                ? "HTTP " + status + " without an error message" : providerMessage.strip();
        text = KeyMask.scrub(text, secret);
        return text.length() > MAX_MESSAGE ? text.substring(0, MAX_MESSAGE) + "…" : text;
    }

    public static UpstreamException exception(FailureKind kind, Duration retryAfter, String message, int status) {
        return new UpstreamException(new Failure(kind, retryAfter, message), status);
    }

    public static UpstreamException malformed(String what, int status) {
        return new UpstreamException(Failure.of(FailureKind.SERVER_ERROR, "malformed answer: " + what), status);
    }
}
