package dev.keypool.rotation;

import dev.keypool.config.ConfigException;
import dev.keypool.config.KeyChanges;
import dev.keypool.config.KeyConfig;
import dev.keypool.config.KeyId;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.event.KeyEvent;
import dev.keypool.event.KeyEvents;
import dev.keypool.failure.Failure;
import dev.keypool.failure.FailureKind;
import dev.keypool.usage.DayWindow;
import dev.keypool.usage.InMemoryUsageStore;
import dev.keypool.usage.KeyStatus;
import dev.keypool.usage.KeyUsage;
import dev.keypool.usage.Periodic;
import dev.keypool.usage.Ticket;
import dev.keypool.usage.UsageStore;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
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
    private final InFlight inFlight = new InFlight(this);
    private final Roster roster;
    private final Reactions reactions = new Reactions(this);
    private final Statuses statuses = new Statuses(this);
    private final Map<KeyId, ProviderBudget> budgets = new ConcurrentHashMap<>();
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
        this.roster = new Roster(config, store, inFlight);
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
        return roster.keys().byProvider.get(provider);
    }

    /** Every key in service, by provider then {@code .env} order. */
    public List<KeyConfig> allKeys() {
        return List.copyOf(roster.keys().byId.values());
    }

    /** The key in service with that handle. @throws IllegalArgumentException when none is */
    public KeyConfig key(KeyId id) {
        KeyConfig key = roster.keys().byId.get(id);
        if (key == null) {
            throw new IllegalArgumentException("No key " + id + " is configured ("
                    + keys(id.provider()).size() + " " + id.provider() + " keys)");
        }
        return key;
    }

    /** The snapshot of the keys in service, for the rotator's caches (which it rebuilds when this changes). */
    Keys snapshot() {
        return roster.keys();
    }

    /**
     * The removed keys of a provider whose requests in flight have not all settled yet, as the
     * admin API shows them: out of the selection, still counting until they are gone.
     */
    public List<KeyStatusSnapshot> leavingKeys(Provider provider) {
        List<KeyConfig> list = roster.leaving(provider);
        return list.isEmpty() ? List.of() : statuses.of(list);
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
        Keys before = roster.keys();
        Keys after;
        try {
            after = roster.replace(next);
        } catch (ConfigException e) {
            throw refused(e);
        }
        budgets.keySet().retainAll(after.byId.keySet());
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
        return inFlight.count(id);
    }

    /** The key as the admin API shows it. */
    public KeyStatusSnapshot status(KeyId id) {
        return statuses.of(key(id));
    }

    /** Every key of a provider as the admin API shows it. */
    public ProviderStatus providerStatus(Provider provider) {
        return new ProviderStatus(provider, statuses.of(keys(provider)));
    }

    /**
     * Puts a key out of service until an admin reset.
     *
     * @param reason shown in the status and the dashboard
     */
    public void deactivate(KeyId id, String reason) {
        reactions.deactivate(key(id), reason == null || reason.isBlank() ? "deactivated by an admin" : reason);
    }

    /**
     * Brings a key back into service, whatever its state (the seed's reset).
     *
     * @return whether it was cooling down or deactivated
     */
    public boolean activate(KeyId id) {
        KeyConfig key = key(id);
        budgets.remove(id);
        return reactions.activate(key);
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
        reactions.applyFailure(key, failure, null).announce(failover);
    }

    /**
     * Records what the provider last said a key has left; the rotator skips the key while that
     * cannot cover a request.
     */
    public void observeBudget(KeyId id, ProviderBudget budget) {
        Objects.requireNonNull(budget, "budget");
        if (roster.removed(id)) {
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
        inFlight.freeExpired(now);
        for (Ticket ticket : store.releaseExpired(now, day(now))) {
            KeyConfig key = roster.known(ticket.key());
            if (key != null) {
                events.publish(() -> new KeyEvent.ReservationReleased(now, key.id(), key.maskedKey(),
                        ticket.tokens(), true));
            }
        }
        // One batched read of every key, used or not: it keeps a shared store's last-known usage
        // fresh (its share of each limit should it lose Redis) and finds data Redis lost.
        store.usages(roster.keys().allIds, now, day(now));
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

    InFlight inFlight() {
        return inFlight;
    }

    Reactions reactions() {
        return reactions;
    }

    /** A reservation settled or expired: its slot is free (called once per reservation, by it). */
    void freeSlot(Reservation reservation, Ticket ticket) {
        if (inFlight.settled(reservation, ticket) == 0) {
            roster.lastSettled(reservation);
        }
    }
}
