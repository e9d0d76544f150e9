package dev.keypool.langchain4j;

import dev.langchain4j.exception.HttpException;
import java.time.Duration;
import java.util.Optional;

/**
 * A provider's error answer, or keypool's refusal, as LangChain4j's HTTP clients report one: its
 * status and, as the message, the body (keypool's refusal: its reason and the time until a key frees
 * up). LangChain4j's exception mapping turns it into its own kind by the status
 * ({@code RateLimitException} for 429, {@code AuthenticationException} for 401, …), with this as
 * the cause, where {@link #retryAfter()} says how long to wait.
 */
public final class KeypoolHttpException extends HttpException {

    private final transient Duration retryAfter;
    private final boolean pooled;

    KeypoolHttpException(int statusCode, String message, Duration retryAfter, boolean pooled) {
        super(statusCode, message);
        this.retryAfter = retryAfter;
        this.pooled = pooled;
    }

    /**
     * How long until a key of the pool frees up, when keypool refused because the pool is spent;
     * the provider's {@code Retry-After} when it was the provider's answer and said one.
     */
    public Optional<Duration> retryAfter() {
        return Optional.ofNullable(retryAfter);
    }

    /** Whether keypool answered this itself (the pool is spent or the request refused), rather than a provider. */
    public boolean fromPool() {
        return pooled;
    }
}
