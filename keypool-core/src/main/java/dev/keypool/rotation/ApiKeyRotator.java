package dev.keypool.rotation;

import dev.keypool.config.KeyConfig;
import dev.keypool.config.KeyId;
import dev.keypool.config.Provider;
import dev.keypool.config.SelectionStrategy;
import dev.keypool.config.WindowLimits;
import dev.keypool.event.KeyEvent;
import dev.keypool.usage.DenialReason;
import dev.keypool.usage.KeyState;
import dev.keypool.usage.KeyUsage;
import dev.keypool.usage.ReserveResult;
import java.util.Arrays;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * The seed's {@code api_key_rotation}: picks a key with room for a request, and fails over to the
 * next key when one is rate-limited, out of quota, invalid or its provider errs.
 *
 * <h2>Choosing a key</h2>
 * Candidates are the provider's keys for the requested model: when some key is configured for it,
 * those keys first, then keys with no model configured; when none is, every key. Within that
 * order the {@link SelectionStrategy} ranks them; the first whose store reservation succeeds wins.
 * A key whose provider-reported budget ({@link ProviderBudget}) cannot cover the request is
 * skipped. When none can take it, {@link NoAvailableKeyException} says why and when the soonest
 * key frees up.
 *
 * <h2>Failover</h2>
 * {@link #executeWithFallback} tries each key of one provider at most once, on failures that
 * another key may not share; a client error goes back to the caller at once. It is a
 * {@link Failover} of one route: the key retry and the provider fallback live there, composed once
 * for this method, the LLM service, the search service and the gateway.
 */
public final class ApiKeyRotator {

    /**
     * When a key at its cap on requests in flight may take one again: nothing says when a request
     * ends, so a client is told to retry soon.
     */
    static final long CONCURRENCY_RETRY_MILLIS = 1_000;

    private final ApiKeyManager manager;
    private final Map<Provider, AtomicLong> roundRobin = new EnumMap<>(Provider.class);
    /** The requests waiting for each provider's keys; empty when {@code KEYPOOL_MAX_WAIT_SECONDS} is 0. */
    private final Map<Provider, WaitQueue> queues = new EnumMap<>(Provider.class);
    /** What selection derives from the manager's keys, rebuilt when a reload replaces them. */
    private volatile Selection selection;

    /** A rotator whose waiting requests ({@code KEYPOOL_MAX_WAIT_SECONDS}) are woken on the process's timer. */
    public ApiKeyRotator(ApiKeyManager manager) {
        this(manager, WakeScheduler.on(Objects.requireNonNull(manager, "manager").clock()));
    }

    /**
     * A rotator whose waiting requests are woken by {@code scheduler} when a time a refusal named
     * arrives (tests run what is due when they move their clock).
     */
    public ApiKeyRotator(ApiKeyManager manager, WakeScheduler scheduler) {
        this.manager = Objects.requireNonNull(manager, "manager");
        Objects.requireNonNull(scheduler, "scheduler");
        for (Provider provider : Provider.values()) {
            roundRobin.put(provider, new AtomicLong());
        }
        this.selection = new Selection(manager.snapshot(), null);
        long maxWait = manager.config().maxWait().toMillis();
        if (maxWait > 0) {
            for (Provider provider : Provider.values()) {
                if (provider.usesKeys()) {
                    queues.put(provider, new WaitQueue(provider, manager.clock(), scheduler, manager.events(), maxWait,
                            manager.config().maxQueue()));
                }
            }
            // Whatever settles a reservation or brings a key back may free what a waiter needs.
            manager.events().addListener(event -> {
                if (event instanceof KeyEvent.UsageCommitted || event instanceof KeyEvent.ReservationReleased
                        || event instanceof KeyEvent.KeyReactivated) {
                    WaitQueue queue = queues.get(event.provider());
                    if (queue != null) {
                        queue.wake();
                    }
                }
            });
        }
    }

    private Selection selection() {
        Keys keys = manager.snapshot();
        Selection current = selection;
        if (current.keys == keys) {
            return current;
        }
        synchronized (this) {
            if (selection.keys != keys) {
                selection = new Selection(keys, selection);
            }
            return selection;
        }
    }

    /**
     * The process-wide rotator, like the seed's {@code get_api_key_rotator()}: built on first use
     * from the environment and {@code ./.env}, on the in-memory store, logging its events and
     * maintaining its keys every second. Held by {@link ProcessWide}, with everything built on it.
     */
    public static ApiKeyRotator getApiKeyRotator() {
        return ProcessWide.rotator();
    }

    /**
     * Replaces the process-wide rotator (a server wires its own; tests install theirs); the
     * process-wide services built on the previous one are closed and rebuilt on this one when next
     * asked for. {@code null} resets.
     */
    public static void setApiKeyRotator(ApiKeyRotator rotator) {
        ProcessWide.install(rotator);
    }

    public ApiKeyManager manager() {
        return manager;
    }

    /** The seed's {@code get_key_for_provider}: a key reserved for {@code tokensNeeded} tokens. */
    public Reservation getKeyForProvider(String provider, long tokensNeeded) {
        return acquire(Provider.of(provider), null, tokensNeeded);
    }

    /** Reserves {@code tokens} on the best key of {@code provider} for {@code model} (may be null). */
    public Reservation acquire(Provider provider, String model, long tokens) {
        return acquire(provider, model, tokens, Set.of());
    }

    /**
     * Like {@link #acquire(Provider, String, long)}, never choosing a key in {@code exclude}. A
     * refusal is announced ({@link KeyEvent.PoolExhausted}): this acquisition is the request.
     */
    public Reservation acquire(Provider provider, String model, long tokens, Set<KeyId> exclude) {
        return acquire(provider, model, tokens, exclude, true);
    }

    /**
     * @param announce whether a refusal is announced now; a {@link Failover} announces it only when
     *                 it is the request's answer
     */
    Reservation acquire(Provider provider, String model, long tokens, Set<KeyId> exclude, boolean announce) {
        return acquire(provider, model, tokens, exclude, null, true, announce);
    }

    /**
     * @param preferred a key to try before the strategy's choice (a session's key), when it is a
     *                  candidate for the model and not excluded; {@code null} for none
     * @param mayWait   whether the request may wait for a key ({@code KEYPOOL_MAX_WAIT_SECONDS});
     *                  one that may not is still refused while others wait, not served ahead of them
     */
    Reservation acquire(Provider provider, String model, long tokens, Set<KeyId> exclude, KeyId preferred,
            boolean mayWait, boolean announce) {
        if (tokens < 0) {
            throw new IllegalArgumentException("tokens must be >= 0, was " + tokens);
        }
        return queued(provider, model, tokens, mayWait, announce,
                () -> tryAcquire(provider, model, tokens, exclude, preferred));
    }

    /** One try on the keys now: a reservation, or the refusal, not announced. */
    private Reservation tryAcquire(Provider provider, String model, long tokens, Set<KeyId> exclude, KeyId preferred) {
        long now = manager.clock().millis();
        Denials denials = new Denials();
        Selection selection = selection();
        List<List<KeyConfig>> tiers = selection.tiers(provider, model);
        if (preferred != null && !exclude.contains(preferred)) {
            KeyConfig key = candidate(tiers, preferred);
            // Its refusal is not counted: the strategy below tries it again, and that answer counts.
            Reservation reservation = key == null ? null : tryKey(key, model, tokens, now, new Denials());
            if (reservation != null) {
                return reservation;
            }
        }
        for (List<KeyConfig> tier : tiers) {
            Reservation reservation = switch (manager.config().selectionStrategy()) {
                case FILL_FIRST -> inOrder(tier, 0, model, tokens, exclude, now, denials);
                case ROUND_ROBIN -> inOrder(tier, (int) Math.floorMod(roundRobin.get(provider).getAndIncrement(),
                        (long) Math.max(1, tier.size())), model, tokens, exclude, now, denials);
                case LEAST_USED -> leastUsed(tier, model, tokens, exclude, now, denials);
                case WEIGHTED -> {
                    int start = selection.weightedPick(provider, tier, exclude);
                    yield start < 0 ? null : inOrder(tier, start, model, tokens, exclude, now, denials);
                }
            };
            if (reservation != null) {
                return reservation;
            }
        }
        if (!exclude.isEmpty()) {
            noteExcludedRestingKeys(tiers, exclude, now, denials);
        }
        throw denials.refusal(provider, model, tokens, now, denials.total == 0 && !exclude.isEmpty());
    }

    /** The key {@code id} when it is one of the candidates, else {@code null}. */
    private static KeyConfig candidate(List<List<KeyConfig>> tiers, KeyId id) {
        for (List<KeyConfig> tier : tiers) {
            for (KeyConfig key : tier) {
                if (key.id().equals(id)) {
                    return key;
                }
            }
        }
        return null;
    }

    /**
     * The attempt, through the provider's wait queue when waiting is configured; a refusal
     * announced when {@code announce}.
     */
    private Reservation queued(Provider provider, String model, long tokens, boolean mayWait, boolean announce,
            WaitQueue.Attempt attempt) {
        WaitQueue queue = queues.get(provider);
        try {
            return queue == null ? attempt.attempt()
                    : mayWait ? queue.acquire(model, tokens, attempt) : queue.withoutWaiting(model, tokens, attempt);
        } catch (NoAvailableKeyException e) {
            KeyEvent.PoolExhausted exhaustion = e.exhaustion();
            if (announce && exhaustion != null) {
                manager.events().publish(() -> exhaustion);
            }
            throw e;
        }
    }

    /** The provider's wait queue, or {@code null}; for tests. */
    WaitQueue queue(Provider provider) {
        return queues.get(provider);
    }

    /** Whether requests may wait for a key ({@code KEYPOOL_MAX_WAIT_SECONDS} above 0). */
    public boolean waits() {
        return !queues.isEmpty();
    }

    /**
     * The requests waiting for {@code provider}'s keys and the last waits, or {@code null} when
     * requests never wait (or the provider has no keys to wait for).
     */
    public WaitStatus waitStatus(Provider provider) {
        WaitQueue queue = queues.get(provider);
        return queue == null ? null : new WaitStatus(queue.length(), queue.capacity(),
                java.time.Duration.ofMillis(queue.maxWaitMillis()), queue.recentWaits());
    }

    /**
     * Reserves {@code tokens} on exactly the key {@code id}, for a request that must go to it (an
     * object it created upstream is invisible to the others).
     *
     * @throws NoAvailableKeyException when that key cannot take the request now, saying why and
     *                                 when it frees up
     */
    public Reservation acquireOn(KeyId id, String model, long tokens) {
        return acquireOn(id, model, tokens, true);
    }

    Reservation acquireOn(KeyId id, String model, long tokens, boolean announce) {
        return acquireOn(id, model, tokens, true, announce);
    }

    Reservation acquireOn(KeyId id, String model, long tokens, boolean mayWait, boolean announce) {
        if (tokens < 0) {
            throw new IllegalArgumentException("tokens must be >= 0, was " + tokens);
        }
        KeyConfig key = manager.key(id);
        return queued(key.provider(), model, tokens, mayWait, announce, () -> {
            long now = manager.clock().millis();
            Denials denials = new Denials();
            Reservation reservation = tryKey(key, model, tokens, now, denials);
            if (reservation != null) {
                return reservation;
            }
            throw denials.refusal(key.provider(), model, tokens, now, false);
        });
    }

    /**
     * Keys left out of this request (tried and failed) still say when the pool frees up: a
     * gateway's {@code Retry-After} must see when their rest ends, not that they vanished. They do
     * not change the reason, so every key tried still reads as {@code ALL_KEYS_FAILED}.
     */
    private void noteExcludedRestingKeys(List<List<KeyConfig>> tiers, Set<KeyId> exclude, long now,
            Denials denials) {
        for (List<KeyConfig> tier : tiers) {
            for (KeyConfig key : tier) {
                if (exclude.contains(key.id())) {
                    KeyState state = manager.store().state(key.id());
                    if (!state.availableAt(now)) {
                        denials.addExcluded(state);
                    }
                }
            }
        }
    }

    /**
     * The seed's {@code execute_with_fallback}: runs {@code operation} with a key of
     * {@code provider} reserved for {@code tokensNeeded}, and on a failure that another key may not
     * share, cools or deactivates that key and runs it again with the next, each key at most once.
     * The reservation is committed with the usage the operation reported
     * ({@link Reservation#reportUsage}), else with the reserved tokens.
     *
     * @throws NoAvailableKeyException when no key is left to try; its cause is the last failure
     */
    public <T> T executeWithFallback(String provider, KeyOperation<T> operation, long tokensNeeded, String model) {
        return executeWithFallback(Provider.of(provider), operation, tokensNeeded, model);
    }

    /**
     * {@link #executeWithFallback(String, KeyOperation, long, String)} with a typed provider: a
     * {@link Failover} of one provider, classifying what the operation throws from its text the
     * way the seed does ({@link Failover#SEED}).
     */
    public <T> T executeWithFallback(Provider provider, KeyOperation<T> operation, long tokensNeeded, String model) {
        Objects.requireNonNull(operation, "operation");
        Failover failover = failover(Failover.SEED, Failover.Listener.NONE);
        return failover.across(List.of(new Failover.Route(provider, model)),
                route -> failover.onKeys(route.provider(), route.model(), tokensNeeded, null, operation::apply));
    }

    /**
     * A new failover for one request: {@link Failover#across} its routes, {@link Failover#onKeys}
     * within each.
     *
     * @param classifier what a try's exception means ({@link Failover#SEED}, {@link Failover#UPSTREAM_ONLY})
     * @param listener   told of each failed try
     */
    public Failover failover(Failover.Classifier classifier, Failover.Listener listener) {
        return new Failover(this, classifier, listener);
    }

    /**
     * The seed's {@code @with_api_key_rotation}: wraps a function that takes the API key first
     * into one that takes only its argument and runs with failover.
     */
    public <A, R> Function<A, R> withApiKeyRotation(String provider, long tokensNeeded, KeyedFunction<A, R> function) {
        Provider parsed = Provider.of(provider);
        Objects.requireNonNull(function, "function");
        return argument -> executeWithFallback(parsed,
                reservation -> function.apply(reservation.apiKey(), argument), tokensNeeded, null);
    }

    /** The seed's {@code get_provider_status}: every key-using provider's keys. */
    public Map<Provider, ProviderStatus> getProviderStatus() {
        Map<Provider, ProviderStatus> status = new LinkedHashMap<>();
        for (Provider provider : Provider.values()) {
            if (provider.usesKeys()) {
                status.put(provider, manager.providerStatus(provider));
            }
        }
        return status;
    }

    // ---- selection --------------------------------------------------------------------------------

    /** Tries the tier's keys in order from {@code start}, wrapping around (fill-first and round-robin). */
    private Reservation inOrder(List<KeyConfig> tier, int start, String model, long tokens, Set<KeyId> exclude,
            long now, Denials denials) {
        int size = tier.size();
        for (int i = 0; i < size; i++) {
            KeyConfig key = tier.get((start + i) % size);
            if (!exclude.contains(key.id())) {
                Reservation reservation = tryKey(key, model, tokens, now, denials);
                if (reservation != null) {
                    return reservation;
                }
            }
        }
        return null;
    }

    /**
     * Tries the key with the most headroom first; only when it refuses (a race, or a provider
     * budget) ranks the rest, so the common case is one scan and one reserve.
     */
    private Reservation leastUsed(List<KeyConfig> tier, String model, long tokens, Set<KeyId> exclude, long now,
            Denials denials) {
        List<KeyConfig> open = exclude.isEmpty() ? tier : tier.stream().filter(k -> !exclude.contains(k.id())).toList();
        if (open.isEmpty()) {
            return null;
        }
        List<KeyUsage> usages = manager.store().usages(selection().ids(open), now, manager.day(now));
        int best = -1;
        double bestHeadroom = -1;
        long bestMinute = Long.MAX_VALUE;
        for (int i = 0; i < open.size(); i++) {
            KeyUsage usage = usages.get(i);
            if (!usage.state().availableAt(now)) {
                continue;
            }
            double headroom = headroom(open.get(i).limits(), usage, now);
            if (headroom > bestHeadroom || (headroom == bestHeadroom && usage.minuteTokens() < bestMinute)) {
                best = i;
                bestHeadroom = headroom;
                bestMinute = usage.minuteTokens();
            }
        }
        if (best >= 0) {
            Reservation reservation = tryKey(open.get(best), model, tokens, now, denials);
            if (reservation != null) {
                return reservation;
            }
        }
        Ranked[] ranked = new Ranked[open.size()];
        for (int i = 0; i < ranked.length; i++) {
            KeyUsage usage = usages.get(i);
            ranked[i] = new Ranked(open.get(i), usage.state().availableAt(now)
                    ? headroom(open.get(i).limits(), usage, now) : -1, usage.minuteTokens());
        }
        Arrays.sort(ranked, BY_HEADROOM);
        for (Ranked candidate : ranked) {
            if (best >= 0 && candidate.key == open.get(best)) {
                continue;
            }
            Reservation reservation = tryKey(candidate.key, model, tokens, now, denials);
            if (reservation != null) {
                return reservation;
            }
        }
        return null;
    }

    /**
     * Takes one of the key's slots for requests in flight, then reserves the tokens: a key at its
     * cap is skipped like a full one, and a slot the store's refusal leaves unused is given back.
     */
    private Reservation tryKey(KeyConfig key, String model, long tokens, long now, Denials denials) {
        long blockedUntil = manager.budgetBlockedUntil(key.id(), tokens, now);
        if (blockedUntil > 0) {
            denials.add(DenialReason.MINUTE_LIMIT, blockedUntil);
            return null;
        }
        if (!manager.inFlight().take(key)) {
            denials.add(DenialReason.AT_CONCURRENCY_CAP, now + CONCURRENCY_RETRY_MILLIS);
            return null;
        }
        Reservation reservation = null;
        try {
            ReserveResult result = manager.inFlight().reserve(key, tokens, now);
            if (result instanceof ReserveResult.Granted granted) {
                reservation = manager.inFlight().granted(key, granted, model != null ? model : key.model(), now);
                return reservation;
            }
            ReserveResult.Denied denied = (ReserveResult.Denied) result;
            denials.add(denied.reason(), denied.retryAtMillis());
            return null;
        } finally {
            if (reservation == null) {
                manager.inFlight().giveBack(key.id());
            }
        }
    }

    private static final Comparator<Ranked> BY_HEADROOM = Comparator.comparingDouble(Ranked::headroom).reversed()
            .thenComparingLong(Ranked::minuteTokens);

    private record Ranked(KeyConfig key, double headroom, long minuteTokens) {
    }

    private static double headroom(WindowLimits limits, KeyUsage usage, long now) {
        if (limits.anyMinuteLimited() && usage.minuteFullAt(now)) {
            return 0;
        }
        double minute = limits.minuteLimited() ? 1.0 - (double) usage.minuteTokens() / limits.perMinute() : 1.0;
        double day = limits.dayLimited() ? 1.0 - (double) usage.dayTokens() / limits.perDay() : 1.0;
        double requestMinute = limits.requestMinuteLimited()
                ? 1.0 - (double) usage.minuteRequests() / limits.requestsPerMinute() : 1.0;
        double requestDay = limits.requestDayLimited()
                ? 1.0 - (double) usage.dayRequests() / limits.requestsPerDay() : 1.0;
        return Math.min(Math.min(minute, day), Math.min(requestMinute, requestDay));
    }
}
