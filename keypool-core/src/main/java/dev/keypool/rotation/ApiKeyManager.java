package dev.keypool.rotation;

import dev.keypool.config.ConfigException;
import dev.keypool.config.KeyChanges;
import dev.keypool.config.KeyConfig;
import dev.keypool.config.KeyId;
import dev.keypool.config.KeyMask;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.config.SecretDigest;
import dev.keypool.config.WindowLimits;
import dev.keypool.event.KeyEvent;
import dev.keypool.event.KeyEvents;
import dev.keypool.failure.Failure;
import dev.keypool.failure.FailureKind;
import dev.keypool.usage.DayWindow;
import dev.keypool.usage.InMemoryUsageStore;
import dev.keypool.usage.KeyFingerprint;
import dev.keypool.usage.KeyState;
import dev.keypool.usage.KeyStatus;
import dev.keypool.usage.KeyUsage;
import dev.keypool.usage.Periodic;
import dev.keypool.usage.ReserveResult;
import dev.keypool.usage.Ticket;
import dev.keypool.usage.UsageStore;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The seed's {@code api_key_manager}: holds the configured keys, tracks their usage in the
 * {@link UsageStore}, says which are available, and activates and deactivates them. The
 * {@link ApiKeyRotator} chooses among the keys; this class owns what happens to one key.
 *
 * <p>It registers its keys with the store ({@link UsageStore#register}) when it is built, so the
 * store keeps each key's usage under its fingerprint; the index is this process's name for a key.
 *
 * <h2>Keys that change while it runs</h2>
 * {@link #reload} replaces the keys in service with those of a new configuration, as one volatile
 * write of an immutable snapshot: every reader (the rotator's selection, the status) sees the old
 * keys or the new ones, never a mix. A key is its secret: a secret still configured keeps its
 * handle ({@link KeyId}), its usage windows, its state and its history wherever it moved in
 * {@code .env}, and takes its new settings (model, limits, cap, weight). A removed key leaves the
 * selection at once; its requests in flight settle as before (the store never forgets a handle),
 * and it leaves the status once the last of them has. A new secret gets a handle that no other
 * secret had in this process, since in-flight tickets name handles: its position in {@code .env}
 * when no key had that index yet (so that at start-up, and when keys are appended, the index is
 * the position), else the lowest index never used. Handles are not kept across restarts: a
 * restart numbers the keys by position again, and the store knows them by fingerprint.
 *
 * <p>Everything else in a configuration (strategies, cool-downs, URLs, where to listen) stays as
 * it was built: {@link #config()} is the configuration the manager was built with, and a reload
 * names what it left unapplied ({@link KeyChanges#restartRequired()}).
 *
 * <p>Time comes from the injected {@link Clock}; {@link #maintain()} releases reservations nobody
 * settled and brings back keys whose rest is over. {@link #startMaintenance(Duration)} runs it in
 * the background; tests call it after moving their clock.
 */
public final class ApiKeyManager implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ApiKeyManager.class);

    private final KeypoolConfig config;
    private final UsageStore store;
    private final Clock clock;
    private final KeyEvents events = new KeyEvents();
    /** The keys in service, replaced whole by {@link #reload}. */
    private volatile Keys keys;
    /** Every key this process ever served, by handle, with its latest settings: events of a key that left still name it. */
    private final Map<KeyId, KeyConfig> known = new ConcurrentHashMap<>();
    /** Removed keys whose requests in flight have not all settled yet. */
    private final Set<KeyId> leaving = ConcurrentHashMap.newKeySet();
    /** The handle of every secret this process has served; guarded by {@code this}. */
    private final Map<SecretDigest, KeyId> handles = new HashMap<>();
    private final Map<KeyId, ProviderBudget> budgets = new ConcurrentHashMap<>();
    /** Each key's requests in flight in this process: from the reservation's grant to its settling. */
    private final Map<KeyId, AtomicInteger> inFlight = new ConcurrentHashMap<>();
    /** The reservations granted and not yet settled, by ticket: an expired one's slot is freed by {@link #maintain()}. */
    private final Map<Ticket, Reservation> unsettled = new ConcurrentHashMap<>();
    private volatile Periodic maintenance;
    /** The day of the last call: computing a zoned date costs more than the rest of a reserve. */
    private volatile DayWindow currentDay;

    /** A manager on the in-memory store and the system clock. */
    public ApiKeyManager(KeypoolConfig config) {
        this(config, new InMemoryUsageStore(), Clock.systemUTC());
    }

    public ApiKeyManager(KeypoolConfig config, UsageStore store, Clock clock) {
        this.config = Objects.requireNonNull(config, "config");
        this.store = Objects.requireNonNull(store, "store");
        this.clock = Objects.requireNonNull(clock, "clock");
        Map<Provider, List<KeyConfig>> byProvider = new EnumMap<>(Provider.class);
        Map<KeyId, SecretDigest> digests = new LinkedHashMap<>();
        for (Provider provider : Provider.values()) {
            List<KeyConfig> list = config.keys(provider);
            byProvider.put(provider, list);
            list.forEach(key -> digests.put(key.id(), key.secretDigest()));
        }
        store.register(digests);
        digests.forEach((id, digest) -> handles.put(digest, id));
        this.keys = new Keys(byProvider);
        this.keys.byId.forEach((id, key) -> {
            known.put(id, key);
            inFlight.put(id, new AtomicInteger());
        });
    }

    /** A manager on the process environment and {@code ./.env}. */
    public static ApiKeyManager fromEnvironment() {
        return new ApiKeyManager(KeypoolConfig.fromEnvironment());
    }

    /**
     * The configuration this manager was built with. Its keys are those of start-up: the keys in
     * service are {@link #keys(Provider)}, which a {@link #reload} may have changed.
     */
    public KeypoolConfig config() {
        return config;
    }

    public UsageStore store() {
        return store;
    }

    public Clock clock() {
        return clock;
    }

    /** Where listeners register for key events. */
    public KeyEvents events() {
        return events;
    }

    /** The keys of a provider in service, in their {@code .env} order. */
    public List<KeyConfig> keys(Provider provider) {
        return keys.byProvider.get(provider);
    }

    /** Every key in service, by provider then {@code .env} order. */
    public List<KeyConfig> allKeys() {
        return List.copyOf(keys.byId.values());
    }

    /** The key in service with that handle. @throws IllegalArgumentException when none is */
    public KeyConfig key(KeyId id) {
        KeyConfig key = keys.byId.get(id);
        if (key == null) {
            throw new IllegalArgumentException("No key " + id + " is configured ("
                    + keys(id.provider()).size() + " " + id.provider() + " keys)");
        }
        return key;
    }

    /** The snapshot of the keys in service, for the rotator's caches (which it rebuilds when this changes). */
    Keys snapshot() {
        return keys;
    }

    /**
     * The removed keys of a provider whose requests in flight have not all settled yet, as the
     * admin API shows them: out of the selection, still counting until they are gone.
     */
    public List<KeyStatusSnapshot> leavingKeys(Provider provider) {
        List<KeyConfig> list = leaving.stream().filter(id -> id.provider() == provider).sorted().map(known::get).toList();
        if (list.isEmpty()) {
            return List.of();
        }
        long now = clock.millis();
        List<KeyUsage> usages = store.usages(list.stream().map(KeyConfig::id).toList(), now, day(now));
        List<KeyStatusSnapshot> snapshots = new ArrayList<>(list.size());
        for (int i = 0; i < list.size(); i++) {
            snapshots.add(snapshot(list.get(i), usages.get(i), now));
        }
        return List.copyOf(snapshots);
    }

    /**
     * Puts the keys of {@code next} in service in place of the current ones (see the class
     * comment: kept keys keep their handle, windows, state and history; removed ones leave once
     * their requests in flight settle; new secrets get handles no other secret had), and announces
     * it ({@link KeyEvent.KeysReloaded}). Only the keys and their settings are applied; the other
     * settings that differ are named in {@link KeyChanges#restartRequired()}.
     *
     * @return what changed
     */
    public KeyChanges reload(KeypoolConfig next) {
        return reload(() -> next);
    }

    /**
     * Reads a configuration from {@code source} and applies its keys as {@link #reload(KeypoolConfig)}
     * does. When {@code source} refuses it ({@link ConfigException}: the messages start-up gives),
     * or the store cannot take its new keys, nothing changes: the refusal is announced and thrown.
     *
     * @throws ConfigException when the configuration is refused
     */
    public synchronized KeyChanges reload(Supplier<KeypoolConfig> source) {
        KeypoolConfig next;
        try {
            next = Objects.requireNonNull(source.get(), "the reloaded configuration");
        } catch (ConfigException e) {
            throw refused(e);
        }
        Keys before = keys;
        Map<Provider, List<KeyConfig>> byProvider = new EnumMap<>(Provider.class);
        Map<KeyId, SecretDigest> joining = new LinkedHashMap<>();
        Set<KeyId> taken = new HashSet<>(handles.values());
        for (Provider provider : Provider.values()) {
            List<KeyConfig> list = new ArrayList<>();
            for (KeyConfig key : next.keys(provider)) {
                SecretDigest digest = key.secretDigest();
                KeyId handle = handles.get(digest);
                if (handle == null) {
                    handle = Keys.freeHandle(provider, key.index(), taken);
                    taken.add(handle);
                    joining.put(handle, digest);
                }
                list.add(new KeyConfig(handle, key.secret(), key.model(), key.limits(), key.maxConcurrent(), key.weight()));
            }
            byProvider.put(provider, list);
        }
        if (!joining.isEmpty()) {
            try {
                store.register(joining);
            } catch (RuntimeException e) {
                throw refused(new ConfigException("API_KEYS", "the store cannot take the new keys: " + e.getMessage()));
            }
        }
        joining.forEach((handle, digest) -> {
            handles.put(digest, handle);
            inFlight.putIfAbsent(handle, new AtomicInteger());
        });
        Keys after = new Keys(byProvider);
        after.byId.forEach(known::put);
        for (KeyId id : before.allIds) {
            if (!after.byId.containsKey(id)) {
                leaving.add(id);
            }
        }
        leaving.removeAll(after.byId.keySet());
        keys = after;
        budgets.keySet().retainAll(after.byId.keySet());
        leaving.removeIf(id -> inFlight.get(id).get() == 0);
        // Against start-up's: what no reload applies stays unapplied until a restart, however many reloads pass.
        KeyChanges changes = before.changesTo(after, config.settingsDifferentFrom(next));
        long now = clock.millis();
        events.publish(() -> new KeyEvent.KeysReloaded(now, changes, List.of()));
        return changes;
    }

    private ConfigException refused(ConfigException e) {
        long now = clock.millis();
        events.publish(() -> new KeyEvent.KeysReloaded(now, null, List.of(e.getMessage())));
        return e;
    }

    /** Whether the key is up and has room for {@code tokens} and one more request in both windows right now. */
    public boolean isAvailable(KeyId id, long tokens) {
        KeyConfig key = key(id);
        long now = clock.millis();
        KeyUsage usage = store.usage(id, now, day(now));
        return usage.state().availableAt(now)
                && !(key.limits().anyMinuteLimited() && usage.minuteFullAt(now))
                && tokens <= key.limits().perMinute() - usage.minuteTokens()
                && tokens <= key.limits().perDay() - usage.dayTokens()
                && usage.minuteRequests() < key.limits().requestsPerMinute()
                && usage.dayRequests() < key.limits().requestsPerDay()
                && budgetBlockedUntil(id, tokens, now) == 0;
    }

    /**
     * The requests in flight on a key in this process: reservations granted and not yet settled
     * (committed, released, failed or expired).
     */
    public int requestsInFlight(KeyId id) {
        key(id);
        return inFlight.get(id).get();
    }

    /** The key as the admin API shows it. */
    public KeyStatusSnapshot status(KeyId id) {
        KeyConfig key = key(id);
        long now = clock.millis();
        return snapshot(key, store.usage(id, now, day(now)), now);
    }

    /** Every key of a provider as the admin API shows it. */
    public ProviderStatus providerStatus(Provider provider) {
        List<KeyConfig> list = keys(provider);
        long now = clock.millis();
        List<KeyUsage> usages = store.usages(list.stream().map(KeyConfig::id).toList(), now, day(now));
        List<KeyStatusSnapshot> snapshots = new ArrayList<>(list.size());
        for (int i = 0; i < list.size(); i++) {
            snapshots.add(snapshot(list.get(i), usages.get(i), now));
        }
        return new ProviderStatus(provider, List.copyOf(snapshots));
    }

    /**
     * Puts a key out of service until an admin reset.
     *
     * @param reason shown in the status and the dashboard
     */
    public void deactivate(KeyId id, String reason) {
        KeyConfig key = key(id);
        String text = reason == null || reason.isBlank() ? "deactivated by an admin" : reason;
        store.setState(id, KeyState.deactivated(null, text, KeyState.NEVER));
        long now = clock.millis();
        events.publish(() -> new KeyEvent.KeyDeactivated(now, id, key.maskedKey(), null, text, KeyState.NEVER));
    }

    /**
     * Brings a key back into service, whatever its state (the seed's reset).
     *
     * @return whether it was cooling down or deactivated
     */
    public boolean activate(KeyId id) {
        KeyConfig key = key(id);
        long now = clock.millis();
        KeyState before = store.state(id);
        store.setState(id, KeyState.ACTIVE);
        budgets.remove(id);
        boolean changed = before.statusAt(now) != KeyStatus.ACTIVE;
        if (changed) {
            events.publish(() -> new KeyEvent.KeyReactivated(now, id, key.maskedKey(), true));
        }
        return changed;
    }

    /** Reactivates every cooling or deactivated key of a provider; returns the keys it reset. */
    public List<KeyId> reset(Provider provider) {
        List<KeyId> reset = new ArrayList<>();
        for (KeyConfig key : keys(provider)) {
            if (store.state(key.id()).statusAt(clock.millis()) != KeyStatus.ACTIVE && activate(key.id())) {
                reset.add(key.id());
            }
        }
        return reset;
    }

    /** Reactivates every cooling or deactivated key; returns the keys it reset. */
    public List<KeyId> resetAll() {
        List<KeyId> reset = new ArrayList<>();
        for (Provider provider : Provider.values()) {
            reset.addAll(reset(provider));
        }
        return reset;
    }

    /**
     * Applies the reaction to a failure of a call made with {@code key}: cool down, deactivate, or
     * nothing for a client error ({@link FailureKind#reaction()}). A weaker state never replaces a
     * stronger or longer one (a late rate limit does not shorten an invalid key's deactivation).
     *
     * @param failover whether another key or provider is tried for the request, as its event says
     */
    public void recordFailure(KeyConfig key, Failure failure, boolean failover) {
        applyFailure(key, failure, null).announce(failover);
    }

    /**
     * The events of a failure whose reaction is applied: held until the request knows whether a
     * next key or provider is tried, so that {@link KeyEvent.KeyFailed#failover()} says what
     * happened rather than what might.
     */
    @FunctionalInterface
    interface FailureNotice {
        void announce(boolean failover);
    }

    /**
     * Applies the reaction now (so no other request picks the key meanwhile) and returns its
     * events to announce later. For a call that was the probe of a key back from a rest: a client
     * error means the provider answered (the key serves again), any other reaction replaces the
     * probe's state whatever its rank.
     */
    FailureNotice applyFailure(KeyConfig key, Failure failure, KeyState probing) {
        long now = clock.millis();
        String message = KeyMask.scrub(failure.message(), key.secret());
        FailureNotice failed = failover -> events.publish(() -> new KeyEvent.KeyFailed(now, key.id(),
                key.maskedKey(), failure.kind(), message, failover));
        KeyState next = reaction(failure, message, now);
        if (next == null) {
            if (probing != null) {
                probeSucceeded(key, probing);
            }
            return failed;
        }
        while (true) {
            KeyState current = store.state(key.id());
            if (!current.availableAt(now) && outranks(current, next) && !current.equals(probing)) {
                return failed;
            }
            if (store.compareAndSetState(key.id(), current, next)) {
                break;
            }
        }
        return failover -> {
            failed.announce(failover);
            if (next.status() == KeyStatus.COOLING_DOWN) {
                events.publish(() -> new KeyEvent.KeyCooledDown(now, key.id(), key.maskedKey(), failure.kind(),
                        next.untilMillis()));
            } else {
                events.publish(() -> new KeyEvent.KeyDeactivated(now, key.id(), key.maskedKey(), failure.kind(),
                        next.reason(), next.untilMillis()));
            }
        };
    }

    /**
     * Records what the provider last said a key has left; the rotator skips the key while that
     * cannot cover a request.
     */
    public void observeBudget(KeyId id, ProviderBudget budget) {
        Objects.requireNonNull(budget, "budget");
        if (!keys.byId.containsKey(id) && known.containsKey(id)) {
            // A key a reload removed, answering a request it had in flight: nothing selects it any more.
            return;
        }
        key(id);
        budgets.put(id, budget);
    }

    /**
     * Charges reservations nobody settled in time, with their event, and reads every key's usage
     * once. A key whose rest is over is not turned back to active here: its next reservation is
     * its probe, and the probe's success reactivates it ({@link Reservation}). Safe to call from
     * any thread, as often as wanted.
     */
    public void maintain() {
        long now = clock.millis();
        // By the ticket's own expiry, not by what the store hands back: with Redis another instance
        // may have released this one's abandoned tickets, and their slots are this process's.
        for (Reservation reservation : unsettled.values()) {
            if (reservation.expiresMillis() <= now) {
                reservation.freeSlot();
            }
        }
        for (Ticket ticket : store.releaseExpired(now, day(now))) {
            KeyConfig key = known.get(ticket.key());
            if (key != null) {
                events.publish(() -> new KeyEvent.ReservationReleased(now, key.id(), key.maskedKey(),
                        ticket.tokens(), true));
            }
        }
        // One batched read of every key, used or not: it keeps a shared store's last-known usage
        // fresh (its share of each limit should it lose Redis) and finds data Redis lost.
        store.usages(keys.allIds, now, day(now));
        budgets.values().removeIf(budget -> budget.tokensResetAtMillis() <= now && budget.requestsResetAtMillis() <= now);
    }

    /** Runs {@link #maintain()} every {@code period} on a daemon thread until {@link #close()}. */
    public void startMaintenance(Duration period) {
        startMaintenance(period, null);
    }

    /**
     * Runs {@link #maintain()} every {@code period} on {@code scheduler} (the process's one, which its
     * owner shuts down; {@code null}: a daemon thread of its own) until {@link #close()}.
     */
    public synchronized void startMaintenance(Duration period, ScheduledExecutorService scheduler) {
        if (maintenance != null) {
            return;
        }
        maintenance = Periodic.every(period, "keypool-maintenance", scheduler, () -> {
            try {
                maintain();
            } catch (RuntimeException e) {
                LOG.warn("Key maintenance failed; retrying in {} ms", period.toMillis(), e);
            }
        });
    }

    @Override
    public synchronized void close() {
        if (maintenance != null) {
            maintenance.close();
            maintenance = null;
        }
    }

    // ---- used by the rotator and reservations ---------------------------------------------------

    DayWindow day(long nowMillis) {
        DayWindow day = currentDay;
        if (day == null || !day.contains(nowMillis)) {
            day = DayWindow.at(nowMillis, config.dayZone());
            currentDay = day;
        }
        return day;
    }

    long budgetBlockedUntil(KeyId id, long tokens, long nowMillis) {
        ProviderBudget budget = budgets.get(id);
        return budget == null ? 0 : budget.blockedUntil(tokens, nowMillis);
    }

    /**
     * Takes one of the key's slots for a request in flight, unless it is at its cap: a CAS loop,
     * so that racing requests never take more than {@link KeyConfig#maxConcurrent()} between them.
     * Every slot taken is given back exactly once: by {@link #freeSlot} when the reservation it
     * admitted settles or expires, or by the rotator when the store then refuses the tokens.
     */
    boolean takeSlot(KeyConfig key) {
        AtomicInteger count = inFlight.get(key.id());
        if (!key.capped()) {
            count.incrementAndGet();
            return true;
        }
        int max = key.maxConcurrent();
        while (true) {
            int current = count.get();
            if (current >= max) {
                return false;
            }
            if (count.compareAndSet(current, current + 1)) {
                return true;
            }
        }
    }

    /** Gives back a slot {@link #takeSlot} took for a request that got no reservation. */
    void giveBackSlot(KeyId id) {
        inFlight.get(id).decrementAndGet();
    }

    /** A reservation settled or expired: its slot is free (called once per reservation, by it). */
    void freeSlot(Reservation reservation, Ticket ticket) {
        unsettled.remove(ticket);
        KeyId id = reservation.keyId();
        if (inFlight.get(id).decrementAndGet() == 0 && !leaving.isEmpty() && leaving.remove(id)) {
            LOG.info("{} {} has left the pool: its last request in flight settled", id, reservation.maskedKey());
        }
    }

    ReserveResult reserve(KeyConfig key, long tokens, long nowMillis) {
        long expires = nowMillis + config.reservationTimeout().toMillis();
        return store.reserve(key.id(), key.limits(), tokens, nowMillis, day(nowMillis), expires);
    }

    Reservation granted(KeyConfig key, ReserveResult.Granted granted, String model, long nowMillis) {
        Ticket ticket = granted.ticket();
        events.publish(() -> new KeyEvent.KeyAcquired(nowMillis, key.id(), key.maskedKey(), model, ticket.tokens()));
        Reservation reservation = new Reservation(this, key, ticket, model, granted.probing());
        unsettled.put(ticket, reservation);
        return reservation;
    }

    /**
     * The probe of a key back from a rest got an answer from the provider: the key serves again,
     * for everyone, with its event (unless its state changed meanwhile).
     */
    void probeSucceeded(KeyConfig key, KeyState probing) {
        long now = clock.millis();
        if (store.compareAndSetState(key.id(), probing, KeyState.ACTIVE)) {
            events.publish(() -> new KeyEvent.KeyReactivated(now, key.id(), key.maskedKey(), false));
        }
    }

    /** The probe ended without an answer (released unused): the next reservation probes the key instead. */
    void probeAbandoned(KeyConfig key, KeyState probing) {
        store.compareAndSetState(key.id(), probing, probing.withUntil(clock.millis()));
    }

    void commit(Reservation reservation, Ticket ticket, TokenUsage usage) {
        long now = clock.millis();
        store.settle(ticket, usage.totalTokens(), now, day(now));
        events.publish(() -> new KeyEvent.UsageCommitted(now, reservation.keyId(), reservation.maskedKey(),
                ticket.tokens(), usage.promptTokens(), usage.completionTokens()));
    }

    void release(Reservation reservation, Ticket ticket) {
        long now = clock.millis();
        store.settle(ticket, 0, now, day(now));
        events.publish(() -> new KeyEvent.ReservationReleased(now, reservation.keyId(), reservation.maskedKey(),
                ticket.tokens(), false));
    }

    // ---- internals --------------------------------------------------------------------------------

    /** The state {@link FailureKind#reaction()} puts the key in, or {@code null} when it leaves it alone. */
    private KeyState reaction(Failure failure, String message, long now) {
        FailureKind kind = failure.kind();
        String reason = kind.id().replace('_', ' ') + ": " + message;
        return switch (kind.reaction()) {
            case COOL_DOWN -> KeyState.coolingDown(kind, message,
                    now + orDefault(failure.retryAfter(), config.rateLimitCooldown()));
            case REST -> KeyState.coolingDown(kind, message,
                    now + orDefault(failure.retryAfter(), config.serverErrorCooldown()));
            case RETIRE_FOR_THE_DAY -> KeyState.deactivated(kind, reason, day(now).nextStartMillis());
            case RETIRE_UNTIL_RESET -> KeyState.deactivated(kind, reason, KeyState.NEVER);
            case NONE -> null;
        };
    }

    private static long orDefault(Duration given, Duration fallback) {
        return (given != null ? given : fallback).toMillis();
    }

    /** Whether {@code current} should stay rather than be replaced by {@code next}. */
    private static boolean outranks(KeyState current, KeyState next) {
        int currentRank = current.status() == KeyStatus.DEACTIVATED ? 2 : 1;
        int nextRank = next.status() == KeyStatus.DEACTIVATED ? 2 : 1;
        return currentRank > nextRank || (currentRank == nextRank && current.untilMillis() >= next.untilMillis());
    }

    private KeyStatusSnapshot snapshot(KeyConfig key, KeyUsage usage, long now) {
        WindowLimits limits = key.limits();
        KeyState state = usage.state();
        KeyStatus status = state.statusAt(now);
        boolean resting = status != KeyStatus.ACTIVE;
        Long availableAt = resting && state.untilMillis() != KeyState.NEVER ? state.untilMillis() : null;
        KeyFingerprint fingerprint = store.fingerprint(key.id());
        // A minute counted full (after an unclean stop, or data Redis lost) is shown as full.
        long minuteTokens = limits.minuteLimited() && usage.minuteFullAt(now)
                ? Math.max(usage.minuteTokens(), limits.perMinute()) : usage.minuteTokens();
        long minuteRequests = limits.requestMinuteLimited() && usage.minuteFullAt(now)
                ? Math.max(usage.minuteRequests(), limits.requestsPerMinute()) : usage.minuteRequests();
        return new KeyStatusSnapshot(
                key.id(), fingerprint == null ? null : fingerprint.value(), key.maskedKey(), key.model(), status,
                resting ? state.kind() : null, resting ? state.reason() : null, availableAt,
                minuteTokens, limits.minuteLimited() ? limits.perMinute() : null,
                percent(minuteTokens, limits.perMinute(), limits.minuteLimited()),
                usage.dayTokens(), limits.dayLimited() ? limits.perDay() : null,
                percent(usage.dayTokens(), limits.perDay(), limits.dayLimited()),
                inFlight.get(key.id()).get(), key.capped() ? key.maxConcurrent() : null, key.weight(),
                minuteRequests, limits.requestMinuteLimited() ? limits.requestsPerMinute() : null,
                percent(minuteRequests, limits.requestsPerMinute(), limits.requestMinuteLimited()),
                usage.dayRequests(), limits.requestDayLimited() ? limits.requestsPerDay() : null,
                percent(usage.dayRequests(), limits.requestsPerDay(), limits.requestDayLimited()));
    }

    private static Double percent(long used, long limit, boolean limited) {
        if (!limited) {
            return null;
        }
        return Math.round(used * 10_000.0 / limit) / 100.0;
    }
}
