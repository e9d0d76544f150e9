package dev.keypool.event;

import dev.keypool.config.KeyChanges;
import dev.keypool.config.KeyId;
import dev.keypool.config.Provider;
import dev.keypool.failure.FailureKind;
import dev.keypool.usage.DenialReason;
import java.util.List;

/**
 * Something that happened to a key or a provider's pool. Events carry the masked key only; they
 * are safe to log, count, stream to a browser and store.
 *
 * <p>Events are built only when a listener is registered (see {@link KeyEvents#hasListeners()}).
 */
public sealed interface KeyEvent {

    /** When it happened, epoch millis from the pool's clock. */
    long timeMillis();

    /** The provider it happened to; {@code null} for an event about the whole pool ({@link KeysReloaded}). */
    Provider provider();

    /** The event's name in JSON and logs ({@code key_cooled_down}). */
    String type();

    /** An event about one key. */
    sealed interface OfKey extends KeyEvent {

        KeyId key();

        /** The key as it may be shown: {@code sk-p…key1}. */
        String maskedKey();

        @Override
        default Provider provider() {
            return key().provider();
        }
    }

    /** Tokens were reserved on a key for a request. */
    record KeyAcquired(long timeMillis, KeyId key, String maskedKey, String model, long tokens)
            implements OfKey {
        @Override
        public String type() {
            return "key_acquired";
        }
    }

    /** A request finished and its reservation was settled with the usage the provider reported. */
    record UsageCommitted(long timeMillis, KeyId key, String maskedKey, long reservedTokens,
            long promptTokens, long completionTokens) implements OfKey {

        public long totalTokens() {
            return promptTokens + completionTokens;
        }

        @Override
        public String type() {
            return "usage_committed";
        }
    }

    /**
     * A reservation was given back unused; or, when {@code expired}, nobody settled it in time and
     * its tokens stay charged (its caller may have crashed after the provider served it).
     */
    record ReservationReleased(long timeMillis, KeyId key, String maskedKey, long tokens, boolean expired)
            implements OfKey {
        @Override
        public String type() {
            return "reservation_released";
        }
    }

    /** A call with the key failed. {@code failover} says whether another key or provider is tried. */
    record KeyFailed(long timeMillis, KeyId key, String maskedKey, FailureKind kind, String message,
            boolean failover) implements OfKey {
        @Override
        public String type() {
            return "key_failed";
        }
    }

    /** The key rests until {@code untilMillis}. */
    record KeyCooledDown(long timeMillis, KeyId key, String maskedKey, FailureKind kind, long untilMillis)
            implements OfKey {
        @Override
        public String type() {
            return "key_cooled_down";
        }
    }

    /**
     * The key is out of service: until {@code untilMillis}, or until an admin reset when that is
     * {@link dev.keypool.usage.KeyState#NEVER}. {@code kind} is {@code null} when an admin did it.
     */
    record KeyDeactivated(long timeMillis, KeyId key, String maskedKey, FailureKind kind, String reason,
            long untilMillis) implements OfKey {
        @Override
        public String type() {
            return "key_deactivated";
        }
    }

    /**
     * The key serves again: its rest ended and its probe (the first request after it) got an answer
     * ({@code byAdmin} false), or an admin reset it.
     */
    record KeyReactivated(long timeMillis, KeyId key, String maskedKey, boolean byAdmin) implements OfKey {
        @Override
        public String type() {
            return "key_reactivated";
        }
    }

    /**
     * No key of a provider could take a request.
     *
     * @param reason        the reason that held for the keys (or {@code null} when none are configured)
     * @param retryAtMillis when the soonest key frees up, or {@link dev.keypool.usage.KeyState#NEVER}
     */
    record PoolExhausted(long timeMillis, Provider provider, String model, long tokens, DenialReason reason,
            long retryAtMillis) implements KeyEvent {
        @Override
        public String type() {
            return "pool_exhausted";
        }
    }

    /**
     * A request waited for a key of its provider ({@code KEYPOOL_MAX_WAIT_SECONDS}) and its wait
     * ended: served, or refused when its wait would pass the maximum, the queue gave up on it, or
     * its caller went away.
     *
     * @param waitedMillis how long it waited, on the pool's clock
     */
    record RequestWaited(long timeMillis, Provider provider, long waitedMillis, boolean served)
            implements KeyEvent {
        @Override
        public String type() {
            return "request_waited";
        }
    }

    /**
     * A call to a keyless provider (a local Ollama) ended: served, with the tokens it reported, or
     * failed with {@code failure}. Such calls reserve nothing, so this is all that is said of them.
     *
     * @param failure {@code null} when it served
     */
    record KeylessCalled(long timeMillis, Provider provider, String model, long promptTokens,
            long completionTokens, FailureKind failure) implements KeyEvent {
        @Override
        public String type() {
            return "keyless_called";
        }
    }

    /**
     * The configuration was read again (an admin's reload, or SIGHUP): applied, with what it
     * changed, or refused whole, with the reasons, and the pool left as it was. About every
     * provider at once, so {@link #provider()} is {@code null}.
     *
     * @param changes what changed, or {@code null} when refused
     * @param errors  why it was refused (the messages start-up gives), empty when applied
     */
    record KeysReloaded(long timeMillis, KeyChanges changes, List<String> errors) implements KeyEvent {

        public KeysReloaded {
            errors = List.copyOf(errors);
        }

        public boolean applied() {
            return changes != null;
        }

        @Override
        public Provider provider() {
            return null;
        }

        @Override
        public String type() {
            return "keys_reloaded";
        }
    }
}
