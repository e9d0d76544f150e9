package dev.keypool.rotation;

import dev.keypool.config.KeyConfig;
import dev.keypool.config.KeyId;
import dev.keypool.config.Provider;
import dev.keypool.failure.Failure;
import dev.keypool.failure.FailureClassifier;
import dev.keypool.usage.KeyState;
import dev.keypool.usage.Ticket;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A key handed out for one request, with its tokens held in both windows until the request ends.
 * The holder settles it exactly once: {@link #commit(TokenUsage)} with what the provider reported
 * (those tokens then count in the minute for a minute from the commit), {@link #release()} when
 * nothing was used, or {@link #fail(Throwable)} when the call failed (the key then cools down or
 * is deactivated as the failure demands). Closing an unsettled reservation releases it; one never
 * settled is charged in full by the pool after {@code KEYPOOL_RESERVATION_TIMEOUT_SECONDS}.
 *
 * <p>{@link #toString()} shows the masked key only.
 */
public final class Reservation implements AutoCloseable {

    private final ApiKeyManager manager;
    private final KeyConfig key;
    private final Ticket ticket;
    private final String model;
    /** When this reservation probes a key back from a rest: the state the store put the key in meanwhile. */
    private final KeyState probing;
    private final AtomicBoolean settled = new AtomicBoolean();
    /** Whether this reservation still holds its key's slot for a request in flight. */
    private final AtomicBoolean slot = new AtomicBoolean(true);
    private volatile TokenUsage reported;

    Reservation(ApiKeyManager manager, KeyConfig key, Ticket ticket, String model, KeyState probing) {
        this.manager = manager;
        this.key = key;
        this.ticket = ticket;
        this.model = model;
        this.probing = probing;
    }

    /**
     * Whether this reservation is the probe of a key whose rest just ended: the key's other
     * requests wait for its outcome (half-open), and its success brings the key back for all.
     */
    public boolean isProbe() {
        return probing != null;
    }

    /** The full API key, for the one line that puts it on the wire. Never log it. */
    public String apiKey() {
        return key.secret();
    }

    public KeyConfig key() {
        return key;
    }

    public KeyId keyId() {
        return key.id();
    }

    public Provider provider() {
        return key.provider();
    }

    public int index() {
        return key.index();
    }

    public String maskedKey() {
        return key.maskedKey();
    }

    /** The model to call: the one requested, else the key's configured model (may be {@code null}). */
    public String model() {
        return model;
    }

    /** The tokens reserved. */
    public long tokens() {
        return ticket.tokens();
    }

    /** When the pool charges and releases this reservation if nobody settles it. */
    long expiresMillis() {
        return ticket.expiresMillis();
    }

    public boolean isSettled() {
        return settled.get();
    }

    /** Records the usage the provider reported, to be committed when the operation returns. */
    public void reportUsage(TokenUsage usage) {
        this.reported = usage;
    }

    /** The usage reported so far, or {@code null}. */
    public TokenUsage reportedUsage() {
        return reported;
    }

    /** Settles with the usage the provider reported. */
    public void commit(TokenUsage usage) {
        if (settle()) {
            manager.inFlight().commit(this, ticket, usage);
            if (probing != null) {
                manager.reactions().probeSucceeded(key, probing);
            }
        }
    }

    /** Settles with a total token count. */
    public void commit(long totalTokens) {
        commit(TokenUsage.total(totalTokens));
    }

    /** Settles with the reported usage if any, else with the reserved tokens (the safe side). */
    void commitReportedOrReserved() {
        TokenUsage usage = reported;
        commit(usage != null ? usage : TokenUsage.total(ticket.tokens()));
    }

    /** Gives the reserved tokens back unused. */
    public void release() {
        if (settle()) {
            manager.inFlight().release(this, ticket);
            if (probing != null) {
                manager.reactions().probeAbandoned(key, probing);
            }
        }
    }

    /**
     * The call failed: classifies the error, applies the key's reaction (cool down, deactivate or
     * nothing) and releases the tokens. Its {@link dev.keypool.event.KeyEvent.KeyFailed} says no
     * failover: keypool tries nothing else for a reservation its holder settles by hand
     * ({@link ApiKeyRotator#executeWithFallback} does, and says so).
     *
     * @return the classified failure
     */
    public Failure fail(Throwable error) {
        return fail(FailureClassifier.classify(error));
    }

    /** Like {@link #fail(Throwable)} with a failure already classified. */
    public Failure fail(Failure failure) {
        failLater(failure).announce(false);
        return failure;
    }

    /** Releases the tokens and applies the reaction now; the events wait for the announcement. */
    Reactions.FailureNotice failLater(Failure failure) {
        if (settle()) {
            manager.inFlight().release(this, ticket);
        }
        return manager.reactions().applyFailure(key, failure, probing);
    }

    /**
     * Settles what a call left unsettled when it threw something that is not a provider failure:
     * an exception (keypool's own signals charge what reached the provider before they throw) gives
     * the tokens back; an {@link Error} charges them, since nothing says how far the call got.
     */
    void abandon(Throwable error) {
        if (error instanceof Error) {
            commitReportedOrReserved();
        } else {
            release();
        }
    }

    /** Releases the reservation if it was not settled. */
    @Override
    public void close() {
        release();
    }

    private boolean settle() {
        if (settled.compareAndSet(false, true)) {
            freeSlot();
            return true;
        }
        return false;
    }

    /**
     * Gives the key's slot back, once whichever comes first calls it: the settling, or the
     * maintenance that found the ticket expired (a holder that never settles frees it then).
     */
    void freeSlot() {
        if (slot.compareAndSet(true, false)) {
            manager.freeSlot(this, ticket);
        }
    }

    @Override
    public String toString() {
        return "Reservation[" + key.id() + " " + key.maskedKey() + ", " + ticket.tokens() + " tokens, model="
                + model + (settled.get() ? ", settled" : "") + "]";
    }
}
