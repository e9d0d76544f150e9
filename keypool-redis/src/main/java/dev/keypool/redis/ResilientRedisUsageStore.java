package dev.keypool.redis;

import dev.keypool.config.KeyId;
import dev.keypool.config.SecretDigest;
import dev.keypool.config.WindowLimits;
import dev.keypool.usage.DayWindow;
import dev.keypool.usage.DenialReason;
import dev.keypool.usage.InMemoryUsageStore;
import dev.keypool.usage.KeyFingerprint;
import dev.keypool.usage.KeyState;
import dev.keypool.usage.KeyUsage;
import dev.keypool.usage.ReserveResult;
import dev.keypool.usage.StoreHealth;
import dev.keypool.usage.Ticket;
import dev.keypool.usage.UsageStore;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link RedisUsageStore} that keeps serving when Redis cannot be reached: each instance then
 * accounts locally, with its share of every limit, and hands what it used back to Redis when
 * Redis returns.
 *
 * <h2>Degraded mode</h2>
 * The first {@link RedisUnavailableException} switches the store to a local
 * {@link InMemoryUsageStore} (a WARN once) whose limits are each key's limit divided by the number
 * of instances sharing the Redis ({@code KEYPOOL_INSTANCES}), never the full limit, after taking
 * away what Redis last said the key had used today (and, during the outage's first minute, in its
 * minute). That last-known usage and state come from every usage and state answer Redis gave,
 * which the selector asks for on the request path, so they are seconds old at most; key states
 * carry over into the local store, so a key deactivated in Redis stays out. Between them the
 * instances therefore admit at most each limit during the outage, provided they are at most
 * {@code KEYPOOL_INSTANCES}.
 *
 * <h2>Coming back</h2>
 * At most once per {@link #PROBE_MILLIS} a call tries Redis again. When Redis answers, the store
 * reconciles before it serves from Redis: every key's local minute and day tokens (reservations
 * still pending included, so this errs towards charging) are added to Redis with
 * {@link RedisUsageStore#charge}, settlements of Redis tickets that failed are replayed, and a key
 * that rested locally rests in Redis too unless Redis already has it resting. Then a WARN says the
 * store is back. Local reservations made during the outage settle in the local store that made
 * them. Degraded reserves take a read lock, reconciliation the write lock, so no local admission
 * slips between the charge and the switch back; in normal operation no lock is taken.
 */
public final class ResilientRedisUsageStore implements UsageStore {

    private static final Logger LOG = LoggerFactory.getLogger(ResilientRedisUsageStore.class);

    /** How often a degraded store tries Redis again. */
    public static final long PROBE_MILLIS = 1_000;

    private final RedisUsageStore redis;
    private final int instances;
    private final ReadWriteLock switching = new ReentrantReadWriteLock();
    private final Map<KeyId, KeyUsage> lastKnown = new ConcurrentHashMap<>();
    private final Set<KeyId> localKeys = ConcurrentHashMap.newKeySet();
    private final Map<Ticket, InMemoryUsageStore> localTickets = new ConcurrentHashMap<>();
    private final Queue<Settlement> unsettled = new ConcurrentLinkedQueue<>();
    private final AtomicLong nextProbeMillis = new AtomicLong();
    private volatile Map<KeyId, SecretDigest> registered = Map.of();
    private volatile InMemoryUsageStore local;
    private volatile boolean degraded;
    private volatile long degradedSinceMillis;
    private volatile long lastKnownDay;

    /**
     * @param instances how many gateway instances share the Redis: each one's share of a limit
     *                  while Redis is away is the limit divided by this
     */
    public ResilientRedisUsageStore(RedisUsageStore redis, int instances) {
        this.redis = Objects.requireNonNull(redis, "redis");
        if (instances < 1) {
            throw new IllegalArgumentException("instances must be >= 1, was " + instances);
        }
        this.instances = instances;
        this.local = new InMemoryUsageStore(redis.config().bucketMillis());
    }

    /** Whether the store is accounting locally because Redis cannot be reached. */
    public boolean degraded() {
        return degraded;
    }

    public RedisUsageStore redis() {
        return redis;
    }

    public int instances() {
        return instances;
    }

    /** Registers the keys with Redis (which names them once it is reached) and with the local accounting. */
    @Override
    public void register(Map<KeyId, SecretDigest> keys) {
        registered = Map.copyOf(keys);
        local.register(registered);
        redis.register(registered);
    }

    @Override
    public KeyFingerprint fingerprint(KeyId key) {
        return redis.fingerprint(key);
    }

    @Override
    public ReserveResult reserve(KeyId key, WindowLimits limits, long tokens, long nowMillis, DayWindow day,
            long expiresMillis) {
        if (onRedis(nowMillis, day)) {
            try {
                return redis.reserve(key, limits, tokens, nowMillis, day, expiresMillis);
            } catch (RedisUnavailableException e) {
                degrade(e, nowMillis);
            }
        }
        switching.readLock().lock();
        try {
            InMemoryUsageStore store = local;
            localKeys.add(key);
            long minuteShare = minuteShare(key, limits.perMinute(), nowMillis);
            long dayShare = dayShare(key, limits.perDay(), day);
            // A request larger than the share is refused for now, not as too large for the key.
            if (tokens > dayShare && tokens <= limits.perDay()) {
                return new ReserveResult.Denied(DenialReason.DAY_LIMIT, day.nextStartMillis());
            }
            if (tokens > minuteShare && tokens <= limits.perMinute()) {
                return new ReserveResult.Denied(DenialReason.MINUTE_LIMIT, nowMillis + PROBE_MILLIS);
            }
            ReserveResult result = store.reserve(key, WindowLimits.of(Math.max(1, minuteShare), Math.max(1, dayShare)),
                    tokens, nowMillis, day, expiresMillis);
            if (result instanceof ReserveResult.Granted granted) {
                localTickets.put(granted.ticket(), store);
            }
            return result;
        } finally {
            switching.readLock().unlock();
        }
    }

    @Override
    public boolean settle(Ticket ticket, long actualTokens, long nowMillis, DayWindow day) {
        InMemoryUsageStore store = localTickets.remove(ticket);
        if (store != null) {
            return store.settle(ticket, actualTokens, nowMillis, day);
        }
        try {
            return redis.settle(ticket, actualTokens, nowMillis, day);
        } catch (RedisUnavailableException e) {
            degrade(e, nowMillis);
            unsettled.add(new Settlement(ticket, actualTokens, nowMillis, day));
            return true;
        }
    }

    @Override
    public KeyUsage usage(KeyId key, long nowMillis, DayWindow day) {
        if (onRedis(nowMillis, day)) {
            try {
                return remember(key, redis.usage(key, nowMillis, day), day);
            } catch (RedisUnavailableException e) {
                degrade(e, nowMillis);
            }
        }
        return local.usage(key, nowMillis, day);
    }

    @Override
    public List<KeyUsage> usages(List<KeyId> keys, long nowMillis, DayWindow day) {
        if (onRedis(nowMillis, day)) {
            try {
                List<KeyUsage> usages = redis.usages(keys, nowMillis, day);
                for (int i = 0; i < keys.size(); i++) {
                    remember(keys.get(i), usages.get(i), day);
                }
                return usages;
            } catch (RedisUnavailableException e) {
                degrade(e, nowMillis);
            }
        }
        return local.usages(keys, nowMillis, day);
    }

    @Override
    public KeyState state(KeyId key) {
        if (!degraded) {
            try {
                return redis.state(key);
            } catch (RedisUnavailableException e) {
                degrade(e, redis.config().clock().millis());
            }
        }
        return local.state(key);
    }

    @Override
    public void setState(KeyId key, KeyState state) {
        if (!degraded) {
            try {
                redis.setState(key, state);
                return;
            } catch (RedisUnavailableException e) {
                degrade(e, redis.config().clock().millis());
            }
        }
        localKeys.add(key);
        local.setState(key, state);
    }

    @Override
    public boolean compareAndSetState(KeyId key, KeyState expected, KeyState next) {
        if (!degraded) {
            try {
                return redis.compareAndSetState(key, expected, next);
            } catch (RedisUnavailableException e) {
                degrade(e, redis.config().clock().millis());
            }
        }
        localKeys.add(key);
        return local.compareAndSetState(key, expected, next);
    }

    @Override
    public List<Ticket> releaseExpired(long nowMillis) {
        List<Ticket> released = new ArrayList<>(local.releaseExpired(nowMillis));
        released.forEach(localTickets::remove);
        if (onRedis(nowMillis, null)) {
            try {
                released.addAll(redis.releaseExpired(nowMillis));
            } catch (RedisUnavailableException e) {
                degrade(e, nowMillis);
            }
        }
        return released;
    }

    @Override
    public int pendingCount() {
        int pending = localTickets.size();
        if (!degraded) {
            try {
                pending += redis.pendingCount();
            } catch (RedisUnavailableException e) {
                degrade(e, redis.config().clock().millis());
            }
        }
        return pending;
    }

    @Override
    public StoreHealth health() {
        return degraded ? StoreHealth.degraded("Redis is unreachable: this instance accounts locally with 1/" + instances
                + " of each key's limits until it returns") : StoreHealth.HEALTHY;
    }

    @Override
    public void close() {
        redis.close();
    }

    @Override
    public String toString() {
        return "ResilientRedisUsageStore[" + redis + ", instances=" + instances + ", degraded=" + degraded + "]";
    }

    // ---- internals --------------------------------------------------------------------------------

    /**
     * Whether to ask Redis: yes unless degraded, and then once per probe interval on a call that
     * names the day (reconciling first).
     */
    private boolean onRedis(long nowMillis, DayWindow day) {
        if (!degraded) {
            return true;
        }
        if (day == null) {
            return false;
        }
        long due = nextProbeMillis.get();
        if (nowMillis < due || !nextProbeMillis.compareAndSet(due, nowMillis + PROBE_MILLIS)) {
            return false;
        }
        return recover(nowMillis, day);
    }

    private void degrade(RedisUnavailableException cause, long nowMillis) {
        switching.writeLock().lock();
        try {
            if (degraded) {
                return;
            }
            InMemoryUsageStore fresh = newLocalStore();
            lastKnown.forEach((key, usage) -> {
                if (!usage.state().equals(KeyState.ACTIVE)) {
                    fresh.setState(key, usage.state());
                }
            });
            local = fresh;
            degradedSinceMillis = nowMillis;
            nextProbeMillis.set(nowMillis + PROBE_MILLIS);
            degraded = true;
        } finally {
            switching.writeLock().unlock();
        }
        LOG.warn("Redis is unreachable ({}); accounting locally with 1/{} of each key's limits until it returns",
                cause.getMessage(), instances);
    }

    /** Hands the outage's local accounting to Redis, then serves from Redis again; false if Redis is still away. */
    private boolean recover(long nowMillis, DayWindow day) {
        switching.writeLock().lock();
        try {
            if (!degraded) {
                return true;
            }
            InMemoryUsageStore outage = local;
            for (KeyId key : localKeys) {
                KeyUsage used = outage.usage(key, nowMillis, day);
                if (used.minuteTokens() > 0 || used.dayTokens() > 0) {
                    redis.charge(key, used.minuteTokens(), used.dayTokens(), nowMillis, day);
                }
                KeyState rested = used.state();
                if (!rested.equals(KeyState.ACTIVE) && redis.state(key).equals(KeyState.ACTIVE)) {
                    redis.setState(key, rested);
                }
            }
            for (Settlement settlement = unsettled.peek(); settlement != null; settlement = unsettled.peek()) {
                redis.settle(settlement.ticket(), settlement.actualTokens(), settlement.nowMillis(), settlement.day());
                unsettled.poll();
            }
            // Local tickets still pending settle in the outage store, whose usage Redis now has.
            local = newLocalStore();
            localKeys.clear();
            degraded = false;
        } catch (RedisUnavailableException e) {
            LOG.debug("Redis is still unreachable: {}", e.getMessage());
            return false;
        } finally {
            switching.writeLock().unlock();
        }
        LOG.warn("Redis is reachable again; the usage counted locally during the outage was added to it");
        return true;
    }

    private InMemoryUsageStore newLocalStore() {
        InMemoryUsageStore store = new InMemoryUsageStore(redis.config().bucketMillis());
        store.register(registered);
        return store;
    }

    /**
     * This instance's share of a limit while Redis is away: what Redis last said was left, divided
     * among the instances. Minute tokens Redis knew of count during the outage's first minute.
     */
    private long minuteShare(KeyId key, long limit, long nowMillis) {
        KeyUsage known = lastKnown.get(key);
        long used = known != null && nowMillis - degradedSinceMillis < MINUTE_MILLIS ? known.minuteTokens() : 0;
        return share(limit, used);
    }

    private long dayShare(KeyId key, long limit, DayWindow day) {
        KeyUsage known = lastKnown.get(key);
        return share(limit, known != null && lastKnownDay == day.epochDay() ? known.dayTokens() : 0);
    }

    private long share(long limit, long used) {
        if (limit == WindowLimits.UNLIMITED) {
            return limit;
        }
        return Math.max(0, limit - used) / instances;
    }

    private KeyUsage remember(KeyId key, KeyUsage usage, DayWindow day) {
        lastKnown.put(key, usage);
        lastKnownDay = day.epochDay();
        return usage;
    }

    private record Settlement(Ticket ticket, long actualTokens, long nowMillis, DayWindow day) {
    }
}
