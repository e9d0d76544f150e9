package dev.keypool.providers;

import dev.keypool.config.KeyId;
import dev.keypool.config.Provider;
import dev.keypool.failure.Failure;
import dev.keypool.failure.UpstreamException;
import dev.keypool.rotation.ApiKeyRotator;
import dev.keypool.rotation.NoAvailableKeyException;
import dev.keypool.rotation.Reservation;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The inner retry: one provider's keys, each at most once, for one request. It is
 * {@link ApiKeyRotator#executeWithFallback} with two differences a provider client needs: the call
 * settles its own reservation (a stream commits what it streamed, not what it reserved), and
 * exceptions are taken as the client classified them ({@link UpstreamException}) rather than guessed
 * from text, so that a caller abandoning a stream is never mistaken for a provider failure.
 *
 * <p>On an {@link UpstreamException} the key gets its reaction ({@link Reservation#fail(Failure)}:
 * cool down, deactivate, or nothing for a client error), the try is recorded as an {@link Attempt},
 * and the next key is taken if the kind fails over; a client error goes back at once. Any other
 * exception releases an unsettled reservation and propagates unchanged.
 */
final class KeyRotation {

    /** A call made with one reserved key; it commits the reservation when it succeeds. */
    @FunctionalInterface
    interface KeyCall<T> {
        T call(Reservation reservation);
    }

    private final ApiKeyRotator rotator;

    KeyRotation(ApiKeyRotator rotator) {
        this.rotator = rotator;
    }

    /**
     * @throws NoAvailableKeyException when no key is left to try: as the pool said when nothing was
     *                                 tried, else with the last failure as its cause
     * @throws UpstreamException       a client error, unchanged
     */
    <T> T run(Provider provider, String model, long tokens, List<Attempt> attempts, KeyCall<T> call) {
        return run(provider, model, tokens, attempts, null, call);
    }

    /**
     * Like {@link #run(Provider, String, long, List, KeyCall)}; with {@code pinned} set, only that
     * key is tried (a request on an object it created), once.
     */
    <T> T run(Provider provider, String model, long tokens, List<Attempt> attempts, KeyId pinned, KeyCall<T> call) {
        Set<KeyId> tried = new HashSet<>();
        UpstreamException lastFailure = null;
        while (true) {
            Reservation reservation;
            try {
                if (pinned != null && !tried.isEmpty()) {
                    // No other key knows the object: its key's failure is the answer.
                    throw exhaustedAfterFailures(provider, tried, new NoAvailableKeyException(provider,
                            NoAvailableKeyException.Reason.ALL_KEYS_FAILED,
                            rotator.manager().store().state(pinned).untilMillis(),
                            "only " + pinned + " holds the object the request names", null), lastFailure);
                }
                reservation = pinned != null ? rotator.acquireOn(pinned, model, tokens)
                        : rotator.acquire(provider, model, tokens, tried);
            } catch (NoAvailableKeyException e) {
                if (lastFailure == null) {
                    throw e;
                }
                throw exhaustedAfterFailures(provider, tried, e, lastFailure);
            }
            tried.add(reservation.keyId());
            try {
                return call.call(reservation);
            } catch (UpstreamException e) {
                Failure failure = e.failure();
                reservation.fail(failure);
                attempts.add(new Attempt(provider, reservation.index(), failure.kind(), failure.message()));
                if (!failure.kind().failsOver()) {
                    throw e;
                }
                lastFailure = e;
            } catch (RuntimeException | Error e) {
                reservation.release();
                throw e;
            }
        }
    }

    /**
     * The pool's own answer (its reason, and the soonest any key frees up, tried keys included)
     * with the last failure as the cause.
     */
    private static NoAvailableKeyException exhaustedAfterFailures(Provider provider, Set<KeyId> tried,
            NoAvailableKeyException pool, UpstreamException lastFailure) {
        String message = "No " + provider.id() + " key could serve: " + tried.size() + " tried and failed ("
                + pool.getMessage() + "); last failure: " + lastFailure.getMessage();
        return new NoAvailableKeyException(provider, pool.reason(), pool.retryAtMillis(), message, lastFailure);
    }
}
