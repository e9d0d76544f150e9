package dev.keypool.rotation;

import dev.keypool.config.KeyId;
import dev.keypool.config.KeyMask;
import dev.keypool.config.Provider;
import dev.keypool.event.KeyEvent;
import dev.keypool.event.KeyEvents;
import dev.keypool.failure.Failure;
import dev.keypool.failure.FailureClassifier;
import dev.keypool.failure.UpstreamException;
import dev.keypool.usage.KeyState;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * keypool's one failover: the provider fallback around the key retry, for one request. Everything
 * that tries keys goes through it: {@link ApiKeyRotator#executeWithFallback}, and the relay under
 * the LLM service, the search service and the gateway.
 *
 * <h2>Order of composition</h2>
 * {@code across(routes, route -> onKeys(provider, call))} runs as
 * {@code ProviderFallback(KeyRetry(call))}, the way failsafe's {@code Failsafe.with(fallback, retry)}
 * runs {@code Fallback(RetryPolicy(supplier))}:
 * <ol>
 *   <li><b>Key retry</b> ({@link #onKeys}, inner): reserves the best key of one provider and runs
 *       the call; on a failure the {@link Classifier} says another key may not share
 *       ({@link dev.keypool.failure.FailureKind#failsOver()}), applies the key's reaction and takes
 *       the next key, each key at most once. A client error goes back at once, through every layer.
 *       When no key is left, a {@link NoAvailableKeyException} with the pool's own reason, the
 *       soonest a key frees up, and the last failure ({@link NoAvailableKeyException#lastFailure()}).</li>
 *   <li><b>Provider fallback</b> ({@link #across}, outer): tries the routes in order; a route whose
 *       keys are spent or all failed hands over to the next; when none is left, their refusals
 *       merged into one.</li>
 * </ol>
 *
 * <h2>Truthful events</h2>
 * A failed try's reaction is applied at once (no other request takes the key meanwhile), but its
 * {@link KeyEvent.KeyFailed} waits until the next try begins ({@code failover} true) or the request
 * ends ({@code false}). A {@link KeyEvent.PoolExhausted} is announced once, and only when the
 * request ends refused because some provider's pool had no key for it: not for a provider skipped
 * on the way to one that served, and not when every key was tried and failed.
 *
 * <h2>Settling</h2>
 * A call that returns with its reservation unsettled is committed with the usage it reported
 * ({@link Reservation#reportUsage}), else with the reserved tokens. A call that throws something the
 * classifier does not call a provider failure settles it too: released for an exception, charged
 * for an {@link Error} (nothing says how far the call got); never left for the reservation timeout.
 *
 * <p>Not thread-safe: one instance per request, made by {@link ApiKeyRotator#failover}.
 */
public final class Failover {

    private static final Logger LOG = LoggerFactory.getLogger(Failover.class);

    /** What a try's exception means for the key, or {@code null} when it is no failure of the provider's. */
    @FunctionalInterface
    public interface Classifier {
        Failure classify(Throwable error);
    }

    /** The seed's rule for a user's own operation: any exception, classified from its text. */
    public static final Classifier SEED = FailureClassifier::classify;

    /**
     * A provider client's rule: only what the client classified ({@link UpstreamException}) is the
     * provider's; anything else (a caller abandoning a stream) is not blamed on the key.
     */
    public static final Classifier UPSTREAM_ONLY = error -> error instanceof UpstreamException upstream
            ? upstream.failure() : null;

    /** Told of each failed try, for the record a caller keeps of them. */
    @FunctionalInterface
    public interface Listener {
        Listener NONE = (provider, keyIndex, failure) -> { };

        /** @param keyIndex the key's index, {@code -1} for a keyless provider */
        void failed(Provider provider, int keyIndex, Failure failure);
    }

    /** One call with one reserved key. */
    @FunctionalInterface
    public interface KeyCall<T> {
        T call(Reservation reservation) throws Exception;
    }

    /** One call to a keyless provider. */
    @FunctionalInterface
    public interface KeylessCall<T> {
        T call();
    }

    /** One route of the fallback; answers {@code null} when it skips the route without trying it. */
    @FunctionalInterface
    public interface RouteCall<T> {
        T call(Route route);
    }

    /** Where a request may go: a provider, and a model on it ({@code null}: each key's configured model). */
    public record Route(Provider provider, String model) {
        public Route {
            Objects.requireNonNull(provider, "provider");
        }
    }

    private final ApiKeyRotator rotator;
    private final Classifier classifier;
    private final Listener listener;
    /** The events of the last failed try, announced once it is known whether another try follows. */
    private Reactions.FailureNotice pending;
    /** Whether a route's refusal waits for a key ({@code KEYPOOL_MAX_WAIT_SECONDS}); off for a first pass over several. */
    private boolean mayWait = true;

    Failover(ApiKeyRotator rotator, Classifier classifier, Listener listener) {
        this.rotator = rotator;
        this.classifier = Objects.requireNonNull(classifier, "classifier");
        this.listener = Objects.requireNonNull(listener, "listener");
    }

    /**
     * The provider fallback: each route in order until one serves.
     *
     * @return what the first route that served answered, or {@code null} when every route was
     *         skipped without a try
     * @throws NoAvailableKeyException when every route tried was refused; the refusals merged
     */
    public <T> T across(List<Route> routes, RouteCall<T> call) {
        List<NoAvailableKeyException> refusals = new ArrayList<>(2);
        List<Route> refusedRoutes = new ArrayList<>(2);
        try {
            // With several routes, one that can serve now is taken before any waits for a key
            // (KEYPOOL_MAX_WAIT_SECONDS): a first pass refuses at once, then the route whose key
            // frees up soonest is waited on.
            mayWait = routes.size() == 1;
            for (int i = 0; i < routes.size(); i++) {
                Route route = routes.get(i);
                try {
                    T served = call.call(route);
                    if (served != null) {
                        return served;
                    }
                } catch (NoAvailableKeyException e) {
                    refusals.add(e);
                    refusedRoutes.add(route);
                    if (i + 1 < routes.size()) {
                        Route next = routes.get(i + 1);
                        LOG.info("{} could not serve ({}); trying {}{}", route.provider(), e.getMessage(),
                                next.provider(), next.model() == null ? "" : " " + next.model());
                    }
                }
            }
            if (refusals.isEmpty()) {
                return null;
            }
            int soonest = waitable(refusals);
            if (!mayWait && soonest >= 0) {
                mayWait = true;
                announce(true);
                try {
                    T served = call.call(refusedRoutes.get(soonest));
                    if (served != null) {
                        return served;
                    }
                } catch (NoAvailableKeyException e) {
                    refusals.set(soonest, e);
                }
            }
            NoAvailableKeyException refused = merged(refusals);
            for (NoAvailableKeyException refusal : refusals) {
                if (refusal.exhaustion() != null) {
                    rotator.manager().events().publish(refusal::exhaustion);
                    break;
                }
            }
            throw refused;
        } finally {
            announce(false);
        }
    }

    /**
     * The refusal whose key frees up soonest, among those that nothing was tried for and that name a
     * time within the maximum wait; -1 when none does, or requests never wait.
     */
    private int waitable(List<NoAvailableKeyException> refusals) {
        if (!rotator.waits()) {
            return -1;
        }
        long deadline = rotator.manager().clock().millis() + rotator.manager().config().maxWait().toMillis();
        int soonest = -1;
        for (int i = 0; i < refusals.size(); i++) {
            NoAvailableKeyException refusal = refusals.get(i);
            boolean frees = switch (refusal.reason()) {
                case NO_KEYS, REQUEST_TOO_LARGE, ALL_KEYS_FAILED -> false;
                case ALL_COOLING_DOWN, ALL_DEACTIVATED, NO_HEADROOM -> true;
            };
            if (frees && refusal.lastFailure() == null && refusal.retryAtMillis() <= deadline
                    && (soonest < 0 || refusal.retryAtMillis() < refusals.get(soonest).retryAtMillis())) {
                soonest = i;
            }
        }
        return soonest;
    }

    /**
     * The key retry: {@code call} with the best key of {@code provider}, then the next, each once.
     *
     * @param pinned when set, the one key the request may go to (an object it created), tried once
     * @throws NoAvailableKeyException when no key is left to try
     * @throws RuntimeException        a failure that does not fail over, as the call threw it (a
     *                                 checked one wrapped in {@link KeyOperationException})
     */
    public <T> T onKeys(Provider provider, String model, long tokens, KeyId pinned, KeyCall<T> call) {
        return onKeys(provider, model, tokens, pinned, null, call);
    }

    /**
     * Like {@link #onKeys(Provider, String, long, KeyId, KeyCall)}, trying {@code preferred} first
     * when it can take the request (a session's key): a preference, never a requirement.
     */
    public <T> T onKeys(Provider provider, String model, long tokens, KeyId pinned, KeyId preferred,
            KeyCall<T> call) {
        Set<KeyId> tried = new HashSet<>();
        Failure lastFailure = null;
        Throwable lastError = null;
        while (true) {
            Reservation reservation;
            try {
                if (pinned != null && !tried.isEmpty()) {
                    // No other key knows the object: its key's failure is the answer.
                    throw new NoAvailableKeyException(provider, NoAvailableKeyException.Reason.ALL_KEYS_FAILED,
                            rotator.manager().store().state(pinned).untilMillis(),
                            "only " + pinned + " holds the object the request names", null);
                }
                reservation = pinned != null ? rotator.acquireOn(pinned, model, tokens, mayWait, false)
                        : rotator.acquire(provider, model, tokens, tried, preferred, mayWait, false);
            } catch (NoAvailableKeyException e) {
                if (lastFailure == null) {
                    throw e;
                }
                throw new NoAvailableKeyException(provider, e.reason(), e.retryAtMillis(),
                        e.getMessage() + "; " + tried.size() + " tried, last failure: " + lastFailure.message(),
                        lastError, lastFailure, e.exhaustion());
            }
            announce(true);
            tried.add(reservation.keyId());
            try {
                T result = call.call(reservation);
                if (!reservation.isSettled()) {
                    reservation.commitReportedOrReserved();
                }
                return result;
            } catch (InterruptedException e) {
                // The caller is being stopped: not the key's fault, and no next key.
                reservation.release();
                Thread.currentThread().interrupt();
                throw new KeyOperationException("interrupted while calling " + provider.id(), e);
            } catch (Exception | Error e) {
                Failure failure = e instanceof Exception ? classifier.classify(e) : null;
                if (failure == null) {
                    reservation.abandon(e);
                    throw e instanceof RuntimeException || e instanceof Error ? sneaky(e)
                            : new KeyOperationException(provider.id() + " call failed", e);
                }
                failure = new Failure(failure.kind(), failure.retryAfter(),
                        KeyMask.scrub(failure.message(), reservation.apiKey()));
                pending = reservation.failLater(failure);
                listener.failed(provider, reservation.index(), failure);
                if (!failure.kind().failsOver()) {
                    announce(false);
                    throw e instanceof RuntimeException runtime ? runtime
                            : new KeyOperationException(failure.message(), e);
                }
                lastFailure = failure;
                lastError = e;
            }
        }
    }

    /**
     * One try of a keyless provider (Ollama), announced as a {@link KeyEvent.KeylessCalled}: a
     * failure that fails over is its refusal, for the fallback to take the next route.
     *
     * @param usage what the call's answer reported, {@code null} when nothing
     */
    public <T> T keyless(Provider provider, String model, KeylessCall<T> call, Function<T, TokenUsage> usage) {
        announce(true);
        KeyEvents events = rotator.manager().events();
        T served;
        try {
            served = call.call();
        } catch (RuntimeException e) {
            Failure failure = classifier.classify(e);
            if (failure != null) {
                long now = rotator.manager().clock().millis();
                events.publish(() -> new KeyEvent.KeylessCalled(now, provider, model, 0, 0, failure.kind()));
            }
            if (failure == null || !failure.kind().failsOver()) {
                throw e;
            }
            listener.failed(provider, -1, failure);
            throw new NoAvailableKeyException(provider, NoAvailableKeyException.Reason.ALL_KEYS_FAILED,
                    KeyState.NEVER, provider.id() + " failed: " + failure.message(), e, failure);
        }
        if (events.hasListeners()) {
            long now = rotator.manager().clock().millis();
            TokenUsage used = usage.apply(served);
            events.publish(() -> new KeyEvent.KeylessCalled(now, provider, model,
                    used == null ? 0 : used.promptTokens(), used == null ? 0 : used.completionTokens(), null));
        }
        return served;
    }

    private void announce(boolean failover) {
        Reactions.FailureNotice notice = pending;
        if (notice != null) {
            pending = null;
            notice.announce(failover);
        }
    }

    /**
     * One refusal for all routes: a single route's as it is; several as one, its reason theirs when
     * they agree, {@code ALL_KEYS_FAILED} when some route's keys all failed, else {@code NO_HEADROOM};
     * the soonest any key frees up; the last failure.
     */
    private static NoAvailableKeyException merged(List<NoAvailableKeyException> refusals) {
        if (refusals.size() == 1) {
            return refusals.get(0);
        }
        NoAvailableKeyException first = refusals.get(0);
        NoAvailableKeyException.Reason reason = first.reason();
        boolean agree = true;
        boolean anyFailed = false;
        NoAvailableKeyException lastFailed = null;
        long soonest = KeyState.NEVER;
        List<String> reasons = new ArrayList<>(refusals.size());
        for (NoAvailableKeyException refusal : refusals) {
            agree &= refusal.reason() == reason;
            anyFailed |= refusal.reason() == NoAvailableKeyException.Reason.ALL_KEYS_FAILED;
            if (refusal.lastFailure() != null) {
                lastFailed = refusal;
            }
            soonest = Math.min(soonest, refusal.retryAtMillis());
            reasons.add(refusal.getMessage());
        }
        NoAvailableKeyException.Reason merged = agree ? reason
                : anyFailed ? NoAvailableKeyException.Reason.ALL_KEYS_FAILED : NoAvailableKeyException.Reason.NO_HEADROOM;
        Provider provider = merged == NoAvailableKeyException.Reason.ALL_KEYS_FAILED && lastFailed != null
                ? lastFailed.provider() : first.provider();
        return new NoAvailableKeyException(provider, merged, soonest, String.join("; ", reasons),
                lastFailed == null ? null : lastFailed.getCause(), lastFailed == null ? null : lastFailed.lastFailure());
    }

    @SuppressWarnings("unchecked")
    private static <E extends Throwable> RuntimeException sneaky(Throwable error) throws E {
        throw (E) error;
    }
}
