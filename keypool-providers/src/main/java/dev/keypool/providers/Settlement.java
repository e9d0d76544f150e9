package dev.keypool.providers;

import dev.keypool.failure.UpstreamException;
import dev.keypool.providers.internal.AnswerScanner;
import dev.keypool.rotation.ApiKeyManager;
import dev.keypool.rotation.Reservation;
import dev.keypool.rotation.TokenUsage;

/**
 * How one answer's reservation is settled, from what its {@link AnswerScanner} read of it. The
 * reservation is committed with the provider's reported usage, an overshoot charged; when the
 * answer reported none, or broke off, or the caller went away, the whole reservation is charged
 * ({@link #chargeReserved()}): the provider may have billed it, and keypool never refunds what it
 * cannot see. Settling happens once, whichever of these comes first; a keyless answer (Ollama) has
 * no reservation and only its reported usage is kept.
 */
final class Settlement {

    private final ApiKeyManager manager;
    private final KeyAffinity affinity;
    /** {@code null} for a keyless answer. */
    private final Reservation reservation;
    private final AnswerScanner scanner;
    private boolean committed;
    private TokenUsage usage;

    Settlement(ApiKeyManager manager, KeyAffinity affinity, Reservation reservation, AnswerScanner scanner) {
        this.manager = manager;
        this.affinity = affinity;
        this.reservation = reservation;
        this.scanner = scanner;
    }

    /**
     * Settles the reservation with what the answer reported, or on the safe side when it reported
     * nothing, and remembers the objects it created. Done before the answer's last bytes reach the
     * caller, so a caller that read its answer whole sees it accounted.
     */
    void commit() {
        if (committed) {
            return;
        }
        committed = true;
        TokenUsage reported = scanner.usage();
        if (reservation != null) {
            if (reported != null) {
                reservation.commit(reported);
                usage = reported;
            } else {
                chargeReserved();
                usage = TokenUsage.total(reservation.tokens());
            }
            affinity.rememberObjects(scanner.ids(), reservation.key());
        } else {
            usage = reported;
        }
    }

    /** Charges the whole reservation (or the usage read so far, when more), unless it is settled. */
    void chargeReserved() {
        if (reservation != null && !reservation.isSettled()) {
            TokenUsage reported = scanner.usage();
            long tokens = Math.max(reservation.tokens(), reported == null ? 0 : reported.totalTokens());
            reservation.commit(TokenUsage.total(tokens));
        }
    }

    /** Gives the key its reaction to a failure after its answer had begun: no other key is tried. */
    void blame(UpstreamException failure) {
        if (reservation != null) {
            manager.recordFailure(reservation.key(), failure.failure(), false);
        }
    }

    /** What was committed ({@link #commit()} first), or for a keyless answer what it reported. */
    TokenUsage usage() {
        return usage;
    }
}
