package dev.keypool.rotation;

import dev.keypool.config.Provider;
import dev.keypool.event.KeyEvent;
import dev.keypool.failure.Failure;
import dev.keypool.failure.FailureKind;
import dev.keypool.usage.KeyState;
import java.time.Duration;
import java.time.Instant;

/**
 * No key of a provider could take a request. Says why, and when the soonest key frees up, so a
 * gateway can answer 429 with an honest {@code Retry-After} without calling upstream; when keys
 * were tried and failed, the last failure as it was classified ({@link #lastFailure()}), so nothing
 * downstream classifies it again.
 */
public class NoAvailableKeyException extends RuntimeException {

    /** Why no key could take the request. */
    public enum Reason {
        /** The provider has no keys configured (or none for the model). */
        NO_KEYS,
        /** Every key is resting after a rate limit or server error. */
        ALL_COOLING_DOWN,
        /** Every key is deactivated. */
        ALL_DEACTIVATED,
        /** The keys that are up have no room left in their minute or day window. */
        NO_HEADROOM,
        /** The request is larger than any key's limit. */
        REQUEST_TOO_LARGE,
        /** Every key was tried for this request and failed. */
        ALL_KEYS_FAILED
    }

    private final Provider provider;
    private final Reason reason;
    private final long retryAtMillis;
    private final Failure lastFailure;
    /** The event to announce should this refusal be the request's answer; {@code null} when it was a failure's. */
    private final transient KeyEvent.PoolExhausted exhaustion;

    public NoAvailableKeyException(Provider provider, Reason reason, long retryAtMillis, String message,
            Throwable cause) {
        this(provider, reason, retryAtMillis, message, cause, null, null);
    }

    /** @param lastFailure the last try's failure, as classified, or {@code null} when nothing was tried */
    public NoAvailableKeyException(Provider provider, Reason reason, long retryAtMillis, String message,
            Throwable cause, Failure lastFailure) {
        this(provider, reason, retryAtMillis, message, cause, lastFailure, null);
    }

    NoAvailableKeyException(Provider provider, Reason reason, long retryAtMillis, String message,
            Throwable cause, Failure lastFailure, KeyEvent.PoolExhausted exhaustion) {
        super(message, cause);
        this.provider = provider;
        this.reason = reason;
        this.retryAtMillis = retryAtMillis;
        this.lastFailure = lastFailure;
        this.exhaustion = exhaustion;
    }

    /** The last try's failure, as it was classified, or {@code null} when no key was tried. */
    public Failure lastFailure() {
        return lastFailure;
    }

    /** The kind of {@link #lastFailure()}, or {@code null} when no key was tried. */
    public FailureKind lastKind() {
        return lastFailure == null ? null : lastFailure.kind();
    }

    KeyEvent.PoolExhausted exhaustion() {
        return exhaustion;
    }

    public Provider provider() {
        return provider;
    }

    public Reason reason() {
        return reason;
    }

    /** Epoch millis at which the soonest key frees up, or {@link KeyState#NEVER}. */
    public long retryAtMillis() {
        return retryAtMillis;
    }

    /** When the soonest key frees up, or {@code null} when none will without a reset. */
    public Instant retryAt() {
        return retryAtMillis == KeyState.NEVER ? null : Instant.ofEpochMilli(retryAtMillis);
    }

    /** How long from {@code nowMillis} until the soonest key frees up (at least one second), or {@code null}. */
    public Duration retryAfter(long nowMillis) {
        if (retryAtMillis == KeyState.NEVER) {
            return null;
        }
        long millis = Math.max(retryAtMillis - nowMillis, 0);
        return Duration.ofSeconds(Math.max(1, (millis + 999) / 1000));
    }
}
