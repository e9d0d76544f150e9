package dev.keypool.redis;

import dev.keypool.config.ConfigException;
import dev.keypool.config.KeyId;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Settings;
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
import java.util.UUID;
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
 * Redis returns, in step with the other instances.
 *
 * <h2>Degraded mode</h2>
 * The first {@link RedisUnavailableException} switches the store to a local
 * {@link InMemoryUsageStore} (a WARN once) whose limits are each key's limit divided by the number
 * of instances sharing the Redis ({@code KEYPOOL_INSTANCES}), never the full limit, after taking
 * away what Redis last said the key had used today (and, during the outage's first minute, in its
 * minute). That last-known usage and state come from every usage and state answer Redis gave,
 * which the selector asks for on the request path, so they are seconds old at most; key states
 * carry over into the local store, so a key deactivated in Redis stays out. The reservations Redis
 * granted since the question of the last kept answer count on top of it, and no share is more than
 * the limit's n-th less what this instance itself was granted in the window: what Redis last said
 * misses the peers' latest grants, what an instance was granted it knows exactly. Between them the
 * instances therefore admit at most each limit during the outage, provided they are at most
 * {@code KEYPOOL_INSTANCES}, unless one had spent more than its n-th in the moment before the
 * outage and its peers had not heard yet. Request limits are shared the same way, counted in requests
 * (each reservation one). While degraded, no request waits for Redis: calls go to the local
 * store at once. A Redis that hangs (a stopped process) costs the calls in flight at that moment
 * one command timeout between them ({@link RedisCalls}), then none.
 *
 * <h2>Starting without Redis</h2>
 * An instance that starts while Redis is down starts degraded, with less than a share: it knows
 * no last usage (it may be a restart of an instance that spent its share moments ago), so every
 * minute-limited key counts as full for its first minute, and day-limited keys wait for Redis.
 *
 * <h2>Coming back</h2>
 * Nothing on the request path tries Redis while degraded. {@link #releaseExpired}, which the key
 * manager's maintenance calls every second, sends a {@code PING} at most once per
 * {@link #PROBE_MILLIS}, and only a real answer starts the return: the store checks that Redis
 * still holds its data ({@link RedisUsageStore#revalidate}: a Redis that restarted empty has its
 * lost interval treated as spent), adds every key's local minute and day tokens (reservations still
 * pending included, so this errs towards charging) with {@link RedisUsageStore#charge}, replays
 * settlements of Redis tickets that failed, and rests in Redis the keys that rested locally. Then
 * a WARN says the store is back. Local reservations made during the outage settle in the local
 * store that made them. Degraded reserves take a read lock, the return the write lock, so no local
 * admission slips between the charge and the switch; in normal operation no lock is taken.
 *
 * <h2>Coordination</h2>
 * The other instances may not be back yet: their outage usage is not in Redis until they are, so
 * the first one back must not serve the limits in full. Every instance on Redis heartbeats
 * ({@link RedisUsageStore#heartbeat}, with each maintenance call); one that comes back counts the
 * peers that were alive when its outage began and have not heartbeat since Redis returned, and
 * holds back a share ({@code limit / KEYPOOL_INSTANCES}) of every limit for each of them, until
 * they heartbeat (which they do only once they have handed their usage to Redis) or
 * {@link #PEER_WAIT_MILLIS} passed (a peer that died meanwhile lost its local usage with it).
 */
public final class ResilientRedisUsageStore implements UsageStore {

    private static final Logger LOG = LoggerFactory.getLogger(ResilientRedisUsageStore.class);

    /** How often a degraded store tries Redis again. */
    public static final long PROBE_MILLIS = 1_000;

    /**
     * How long an instance back from an outage waits for the peers that are not back yet, holding
     * back their shares: long enough for a peer to reconnect, short enough not to starve the pool
     * for a peer that died during the outage.
     */
    public static final long PEER_WAIT_MILLIS = 120_000;

    /** A peer whose last heartbeat is this much before an outage began was gone already. */
    static final long HEARTBEAT_MARGIN_MILLIS = 3 * PROBE_MILLIS;

    private final RedisUsageStore redis;
    private final int instances;
    private final String instanceId = UUID.randomUUID().toString();
    private final ReadWriteLock switching = new ReentrantReadWriteLock();
    private final Map<KeyId, KeyUsage> lastKnown = new ConcurrentHashMap<>();
    /** The reservations Redis granted this instance that its last usage answer may not hold yet. */
    private final Map<KeyId, GrantsSince> grants = new ConcurrentHashMap<>();
    /** What Redis granted this instance on each key, in the last minute and today. */
    private final Map<KeyId, OwnGrants> own = new ConcurrentHashMap<>();
    /** Numbers the grants and the usage questions, so that an answer knows which grants it holds. */
    private final AtomicLong sequence = new AtomicLong();
    private final Set<KeyId> localKeys = ConcurrentHashMap.newKeySet();
    private final Map<Ticket, InMemoryUsageStore> localTickets = new ConcurrentHashMap<>();
    private final Queue<Settlement> unsettled = new ConcurrentLinkedQueue<>();
    private volatile Map<KeyId, SecretDigest> registered = Map.of();
    /** Keys registered while degraded: served only once Redis is back ({@link #register}). */
    private final Set<KeyId> joinedWhileDegraded = ConcurrentHashMap.newKeySet();
    private volatile InMemoryUsageStore local;
    private volatile boolean degraded;
    /** Started while Redis was down and has not reached it since: it knows no last usage. */
    private volatile boolean neverReached;
    private volatile long degradedSinceMillis;
    private volatile long nextProbeMillis;
    private volatile long lastKnownDay;
    /** The last day a call named: what the outage's usage is charged to. */
    private volatile DayWindow lastDay;
    /** When this instance came back from its last outage, and when that outage began. */
    private volatile long returnedAtMillis = Long.MIN_VALUE;
    private volatile long outageBeganMillis;
    /** Redis came back empty from the last outage: who was there went with its data. */
    private volatile boolean peersLost;
    /** How many peers this instance holds a share back for (not back from the outage yet). */
    private volatile int heldBackPeers;

    /** Two: the smallest cluster, so that a lone instance that loses Redis errs towards too little. */
    public static final int DEFAULT_INSTANCES = 2;

    /**
     * {@code KEYPOOL_INSTANCES}: how many instances share the Redis, {@link #DEFAULT_INSTANCES}
     * when unset; the gateway and the Spring Boot starter read it here.
     *
     * @throws ConfigException naming the variable when it is not a positive integer
     */
    public static int instances(KeypoolConfig config) {
        return Settings.positiveInt(config, "KEYPOOL_INSTANCES", DEFAULT_INSTANCES);
    }

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

    /** How many peers this instance holds back a share of every limit for, until they are back on Redis. */
    public int heldBackPeers() {
        return heldBackPeers;
    }

    /**
     * Registers the keys with Redis (which names them once it is reached) and with the local
     * accounting; when Redis cannot be reached now, the store starts degraded.
     */
    @Override
    public void register(Map<KeyId, SecretDigest> keys) {
        redis.register(keys);
        boolean first;
        switching.writeLock().lock();
        try {
            first = registered.isEmpty();
            local.register(keys);
            Map<KeyId, SecretDigest> merged = new java.util.HashMap<>(registered);
            merged.putAll(keys);
            // What the next outage's local store registers: every key, those that joined later too.
            registered = Map.copyOf(merged);
            if (!first && degraded) {
                // Keys that join while Redis is away wait for it: this instance knows nothing of
                // what the others spent on them, not even a last answer to take a share of.
                joinedWhileDegraded.addAll(keys.keySet());
            }
        } finally {
            switching.writeLock().unlock();
        }
        if (!first) {
            return;
        }
        try {
            redis.ping();
        } catch (RedisUnavailableException e) {
            long now = redis.config().clock().millis();
            neverReached = true;
            degrade(e, now);
        }
    }

    @Override
    public KeyFingerprint fingerprint(KeyId key) {
        return redis.fingerprint(key);
    }

    @Override
    public ReserveResult reserve(KeyId key, WindowLimits limits, long tokens, long nowMillis, DayWindow day,
            long expiresMillis) {
        noteDay(day);
        if (!degraded) {
            try {
                return reserved(key, reserveOnRedis(key, limits, tokens, nowMillis, day, expiresMillis), tokens, nowMillis, day);
            } catch (RedisUnavailableException e) {
                degrade(e, nowMillis);
            }
        }
        switching.readLock().lock();
        try {
            if (degraded) {
                return reserveLocally(key, limits, tokens, nowMillis, day, expiresMillis);
            }
        } finally {
            switching.readLock().unlock();
        }
        // Redis came back while this call waited for the switch.
        try {
            return reserved(key, reserveOnRedis(key, limits, tokens, nowMillis, day, expiresMillis), tokens, nowMillis, day);
        } catch (RedisUnavailableException e) {
            degrade(e, nowMillis);
            return new ReserveResult.Denied(DenialReason.MINUTE_LIMIT, nowMillis + PROBE_MILLIS);
        }
    }

    /** Reserves on this instance's share; the caller holds the read lock. */
    private ReserveResult reserveLocally(KeyId key, WindowLimits limits, long tokens, long nowMillis, DayWindow day,
            long expiresMillis) {
        InMemoryUsageStore store = local;
        if (joinedWhileDegraded.contains(key)) {
            return new ReserveResult.Denied(DenialReason.MINUTE_LIMIT, nowMillis + PROBE_MILLIS);
        }
        localKeys.add(key);
        if (neverReached && limits.dayLimited()) {
            // No share of a day this instance has never seen: it may have spent it before a restart.
            return new ReserveResult.Denied(DenialReason.DAY_LIMIT, nowMillis + PROBE_MILLIS);
        }
        if (neverReached && limits.requestDayLimited()) {
            return new ReserveResult.Denied(DenialReason.REQUEST_DAY_LIMIT, nowMillis + PROBE_MILLIS);
        }
        long minuteShare = minuteShare(key, limits.perMinute(), nowMillis, false);
        long dayShare = dayShare(key, limits.perDay(), day, false);
        long requestMinuteShare = minuteShare(key, limits.requestsPerMinute(), nowMillis, true);
        long requestDayShare = dayShare(key, limits.requestsPerDay(), day, true);
        // A request larger than the share is refused for now, not as too large for the key.
        if (tokens > dayShare && tokens <= limits.perDay()) {
            return new ReserveResult.Denied(DenialReason.DAY_LIMIT, day.nextStartMillis());
        }
        if (requestDayShare < 1) {
            return new ReserveResult.Denied(DenialReason.REQUEST_DAY_LIMIT, day.nextStartMillis());
        }
        if (tokens > minuteShare && tokens <= limits.perMinute()) {
            return new ReserveResult.Denied(DenialReason.MINUTE_LIMIT, nowMillis + PROBE_MILLIS);
        }
        if (requestMinuteShare < 1) {
            return new ReserveResult.Denied(DenialReason.REQUEST_MINUTE_LIMIT, nowMillis + PROBE_MILLIS);
        }
        ReserveResult result = store.reserve(key, new WindowLimits(Math.max(1, minuteShare), Math.max(1, dayShare),
                requestMinuteShare, requestDayShare), tokens, nowMillis, day, expiresMillis);
        if (result instanceof ReserveResult.Granted granted) {
            localTickets.put(granted.ticket(), store);
        }
        return result;
    }

    /** Reserves on Redis, holding back the shares of the peers that are not back from an outage yet. */
    private ReserveResult reserveOnRedis(KeyId key, WindowLimits limits, long tokens, long nowMillis, DayWindow day,
            long expiresMillis) {
        int peers = heldBackPeers;
        if (peers == 0) {
            return redis.reserve(key, limits, tokens, nowMillis, day, expiresMillis);
        }
        long perMinute = withoutShares(limits.perMinute(), peers);
        long perDay = withoutShares(limits.perDay(), peers);
        long requestsPerMinute = withoutShares(limits.requestsPerMinute(), peers);
        long requestsPerDay = withoutShares(limits.requestsPerDay(), peers);
        if (tokens > perMinute && tokens <= limits.perMinute()) {
            return new ReserveResult.Denied(DenialReason.MINUTE_LIMIT, nowMillis + PROBE_MILLIS);
        }
        if (tokens > perDay && tokens <= limits.perDay()) {
            return new ReserveResult.Denied(DenialReason.DAY_LIMIT, nowMillis + PROBE_MILLIS);
        }
        if (requestsPerMinute < 1) {
            return new ReserveResult.Denied(DenialReason.REQUEST_MINUTE_LIMIT, nowMillis + PROBE_MILLIS);
        }
        if (requestsPerDay < 1) {
            return new ReserveResult.Denied(DenialReason.REQUEST_DAY_LIMIT, nowMillis + PROBE_MILLIS);
        }
        return redis.reserve(key, new WindowLimits(Math.max(1, perMinute), Math.max(1, perDay), requestsPerMinute,
                requestsPerDay), tokens, nowMillis, day, expiresMillis);
    }

    private long withoutShares(long limit, int peers) {
        if (limit == WindowLimits.UNLIMITED) {
            return limit;
        }
        long share = (limit + instances - 1) / instances;
        return Math.max(0, limit - peers * share);
    }

    @Override
    public boolean settle(Ticket ticket, long actualTokens, long nowMillis, DayWindow day) {
        InMemoryUsageStore store = localTickets.remove(ticket);
        if (store != null) {
            return store.settle(ticket, actualTokens, nowMillis, day);
        }
        if (!degraded) {
            try {
                return redis.settle(ticket, actualTokens, nowMillis, day);
            } catch (RedisUnavailableException e) {
                degrade(e, nowMillis);
            }
        }
        unsettled.add(new Settlement(ticket, actualTokens, nowMillis, day));
        return true;
    }

    @Override
    public KeyUsage usage(KeyId key, long nowMillis, DayWindow day) {
        noteDay(day);
        if (!degraded) {
            try {
                long asked = sequence.incrementAndGet();
                return remember(key, redis.usage(key, nowMillis, day), day, asked);
            } catch (RedisUnavailableException e) {
                degrade(e, nowMillis);
            }
        }
        return local.usage(key, nowMillis, day);
    }

    @Override
    public List<KeyUsage> usages(List<KeyId> keys, long nowMillis, DayWindow day) {
        noteDay(day);
        if (!degraded) {
            try {
                long asked = sequence.incrementAndGet();
                List<KeyUsage> usages = redis.usages(keys, nowMillis, day);
                for (int i = 0; i < keys.size(); i++) {
                    remember(keys.get(i), usages.get(i), day, asked);
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

    /**
     * Releases expired tickets, and is the store's maintenance: while degraded it probes Redis (a
     * {@code PING} at most once per {@link #PROBE_MILLIS}) and comes back when Redis answers; on
     * Redis it heartbeats and follows the peers it holds shares back for.
     */
    @Override
    public List<Ticket> releaseExpired(long nowMillis, DayWindow day) {
        noteDay(day);
        List<Ticket> released = new ArrayList<>(local.releaseExpired(nowMillis, day));
        released.forEach(localTickets::remove);
        if (degraded) {
            probe(nowMillis);
            return released;
        }
        try {
            released.addAll(redis.releaseExpired(nowMillis, day));
            redis.heartbeat(instanceId, nowMillis);
            if (heldBackPeers > 0) {
                heldBackPeers = peersNotBack(nowMillis);
            }
        } catch (RedisUnavailableException e) {
            degrade(e, nowMillis);
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
    public String kind() {
        return "redis";
    }

    @Override
    public boolean connected() {
        return redis.isConnected();
    }

    @Override
    public StoreHealth health() {
        if (!degraded) {
            return StoreHealth.HEALTHY;
        }
        return StoreHealth.degraded("Redis is unreachable: this instance accounts locally with 1/" + instances
                + " of each key's limits until it returns" + (neverReached
                        ? "; it has not reached Redis since it started, so keys with a day limit wait for Redis" : ""));
    }

    /** Leaves the instances' set (nobody waits for a stopped instance) and closes the Redis store. */
    @Override
    public void close() {
        if (!degraded) {
            try {
                redis.leave(instanceId);
            } catch (RedisUnavailableException e) {
                LOG.debug("Could not leave the instances' set: {}", e.getMessage());
            }
        }
        redis.close();
    }

    @Override
    public String toString() {
        return "ResilientRedisUsageStore[" + redis + ", instances=" + instances + ", degraded=" + degraded + "]";
    }

    // ---- internals --------------------------------------------------------------------------------

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
            if (neverReached) {
                fresh.countMinutesFullUntil(nowMillis + MINUTE_MILLIS);
            }
            local = fresh;
            degradedSinceMillis = nowMillis;
            nextProbeMillis = nowMillis + PROBE_MILLIS;
            degraded = true;
        } finally {
            switching.writeLock().unlock();
        }
        LOG.warn("Redis is unreachable ({}); accounting locally with 1/{} of each key's limits until it returns{}",
                cause.getMessage(), instances, neverReached
                        ? " (started without it: every minute counts as full for a minute, day-limited keys wait)" : "");
    }

    /** Asks Redis for a real answer, at most once per probe interval, and comes back if it gives one. */
    private void probe(long nowMillis) {
        if (nowMillis < nextProbeMillis) {
            return;
        }
        nextProbeMillis = nowMillis + PROBE_MILLIS;
        try {
            redis.ping();
        } catch (RedisUnavailableException e) {
            LOG.debug("Redis is still unreachable: {}", e.getMessage());
            return;
        }
        recover(nowMillis);
    }

    /** Hands the outage's local accounting to Redis, then serves from Redis again; stays degraded if Redis fails meanwhile. */
    private void recover(long nowMillis) {
        int peers;
        switching.writeLock().lock();
        try {
            if (!degraded) {
                return;
            }
            boolean lostEverything = redis.revalidate();
            InMemoryUsageStore outage = local;
            DayWindow day = lastDay;
            for (KeyId key : localKeys) {
                if (day != null) {
                    KeyUsage used = outage.usage(key, nowMillis, day);
                    if (used.minuteTokens() > 0 || used.dayTokens() > 0 || used.minuteRequests() > 0
                            || used.dayRequests() > 0) {
                        redis.charge(key, used.minuteTokens(), used.dayTokens(), used.minuteRequests(),
                                used.dayRequests(), nowMillis, day);
                    }
                }
                KeyState rested = outage.state(key);
                if (!rested.equals(KeyState.ACTIVE) && redis.state(key).equals(KeyState.ACTIVE)) {
                    redis.setState(key, rested);
                }
            }
            for (Settlement settlement = unsettled.peek(); settlement != null; settlement = unsettled.peek()) {
                redis.settle(settlement.ticket(), settlement.actualTokens(), settlement.nowMillis(), settlement.day());
                unsettled.poll();
            }
            outageBeganMillis = degradedSinceMillis;
            returnedAtMillis = nowMillis;
            peersLost = lostEverything;
            // Heartbeat only now that this instance's usage is in Redis: peers wait for exactly that.
            redis.heartbeat(instanceId, nowMillis);
            peers = peersNotBack(nowMillis);
            heldBackPeers = peers;
            // Local tickets still pending settle in the outage store, whose usage Redis now has.
            local = newLocalStore();
            localKeys.clear();
            joinedWhileDegraded.clear();
            neverReached = false;
            degraded = false;
        } catch (RedisUnavailableException e) {
            LOG.debug("Redis answered a PING but failed while this instance handed its usage back: {}", e.getMessage());
            return;
        } finally {
            switching.writeLock().unlock();
        }
        LOG.warn("Redis is reachable again (it answered); the usage counted locally during the outage was added to it{}",
                peers == 0 ? "" : "; holding back a share of every limit for " + peers
                        + " instance(s) that have not handed theirs back yet");
    }

    /**
     * The peers that were alive when this instance's last outage began and have not heartbeat
     * since it came back: their outage usage may not be in Redis yet. When Redis came back empty,
     * nobody knows who was there: every other instance it is configured for counts, until it
     * heartbeats. None once {@link #PEER_WAIT_MILLIS} has passed since the return.
     */
    private int peersNotBack(long nowMillis) {
        if (nowMillis - returnedAtMillis >= PEER_WAIT_MILLIS) {
            return 0;
        }
        int waiting = 0;
        int back = 0;
        for (Map.Entry<String, Long> member : redis.members().entrySet()) {
            long heartbeat = member.getValue();
            if (member.getKey().equals(instanceId)) {
                continue;
            }
            if (heartbeat >= returnedAtMillis) {
                back++;
            } else if (heartbeat >= outageBeganMillis - HEARTBEAT_MARGIN_MILLIS) {
                waiting++;
            }
        }
        return peersLost ? Math.max(0, instances - 1 - back) : waiting;
    }

    /** Remembers the day calls name, for the outage's charge; read first, so the hot path writes it once a day. */
    private void noteDay(DayWindow day) {
        if (lastDay != day) {
            lastDay = day;
        }
    }

    private InMemoryUsageStore newLocalStore() {
        InMemoryUsageStore store = new InMemoryUsageStore(redis.config().bucketMillis());
        store.register(registered);
        return store;
    }

    /**
     * This instance's share of a limit (of tokens, or of requests) while Redis is away: what Redis
     * last said was left, divided among the instances. What Redis knew of the minute counts during
     * the outage's first minute.
     */
    private long minuteShare(KeyId key, long limit, long nowMillis, boolean requests) {
        if (nowMillis - degradedSinceMillis >= MINUTE_MILLIS) {
            return share(limit, 0);
        }
        KeyUsage known = lastKnown.get(key);
        OwnGrants mine = own.get(key);
        long knownUsed = known == null ? 0 : requests ? known.minuteRequests() : known.minuteTokens();
        return Math.min(share(limit, knownUsed + grantedSince(key, requests)),
                fairShare(limit, mine == null ? 0 : mine.minute(nowMillis, requests)));
    }

    private long dayShare(KeyId key, long limit, DayWindow day, boolean requests) {
        if (lastKnownDay != day.epochDay()) {
            return share(limit, 0);
        }
        KeyUsage known = lastKnown.get(key);
        long used = (known == null ? 0 : requests ? known.dayRequests() : known.dayTokens())
                + grantedSince(key, requests);
        long seen = requests ? redis.dayRequestsSeen(key, day.epochDay()) : redis.dayTokensSeen(key, day.epochDay());
        OwnGrants mine = own.get(key);
        return Math.min(share(limit, Math.max(used, seen)),
                fairShare(limit, mine == null ? 0 : mine.day(day.epochDay(), requests)));
    }

    /**
     * A limit's n-th less what this instance itself was granted of it. What Redis last said misses
     * the peers' grants since this instance last asked, up to a few requests each in the moment an
     * outage begins; what this instance was granted it knows to the last one. Shares below both
     * never sum above what was left, but when one instance had spent more than its n-th and its
     * peer did not know it yet.
     */
    private long fairShare(long limit, long granted) {
        if (limit == WindowLimits.UNLIMITED) {
            return limit;
        }
        return Math.max(0, limit / instances - granted);
    }

    private long grantedSince(KeyId key, boolean requests) {
        GrantsSince since = grants.get(key);
        return since == null ? 0 : requests ? since.requests() : since.tokens();
    }

    private long share(long limit, long used) {
        if (limit == WindowLimits.UNLIMITED) {
            return limit;
        }
        return Math.max(0, limit - used) / instances;
    }

    /**
     * Counts a reservation Redis granted in what this instance knows of the key until a usage
     * answer holds it. The usage answers alone come from questions asked before the latest grants
     * (the selector's, on other request threads), so reservations granted just before an outage
     * were left out of its share: two gateways under load admitted half as much again as a limit
     * when Redis was killed or stopped right after them (issue 11's fault suite).
     */
    private ReserveResult reserved(KeyId key, ReserveResult result, long tokens, long nowMillis, DayWindow day) {
        if (result instanceof ReserveResult.Granted) {
            lastKnownDay = day.epochDay();
            grants.computeIfAbsent(key, k -> new GrantsSince()).add(sequence.incrementAndGet(), tokens);
            own.computeIfAbsent(key, k -> new OwnGrants()).add(nowMillis, day.epochDay(), tokens);
        }
        return result;
    }

    /** Keeps Redis's answer to a question asked at {@code asked}, unless a later question's answer is kept already. */
    private KeyUsage remember(KeyId key, KeyUsage usage, DayWindow day, long asked) {
        lastKnownDay = day.epochDay();
        GrantsSince since = grants.computeIfAbsent(key, k -> new GrantsSince());
        synchronized (since) {
            if (asked > since.askedAt) {
                lastKnown.put(key, usage);
                since.answered(asked);
            }
        }
        return usage;
    }

    /**
     * The tokens and requests Redis granted this instance on one key: per second for the last minute (61
     * seconds are kept, erring towards counting), and for the day. Reservations are counted as
     * granted, whatever they settle at.
     */
    private static final class OwnGrants {

        private static final int SECONDS = (int) (MINUTE_MILLIS / 1_000) + 1;

        private final long[] second = new long[SECONDS];
        private final long[] tokens = new long[SECONDS];
        private final long[] requests = new long[SECONDS];
        private long epochDay = Long.MIN_VALUE;
        private long dayTokens;
        private long dayRequests;

        synchronized void add(long nowMillis, long epochDay, long granted) {
            long now = Math.floorDiv(nowMillis, 1_000);
            int slot = (int) Math.floorMod(now, (long) SECONDS);
            if (second[slot] != now) {
                second[slot] = now;
                tokens[slot] = 0;
                requests[slot] = 0;
            }
            tokens[slot] += granted;
            requests[slot]++;
            if (this.epochDay != epochDay) {
                this.epochDay = epochDay;
                dayTokens = 0;
                dayRequests = 0;
            }
            dayTokens += granted;
            dayRequests++;
        }

        /** The tokens (or the requests) granted in the last minute. */
        synchronized long minute(long nowMillis, boolean countRequests) {
            long now = Math.floorDiv(nowMillis, 1_000);
            long[] counts = countRequests ? requests : tokens;
            long sum = 0;
            for (int i = 0; i < SECONDS; i++) {
                if (second[i] > now - SECONDS && second[i] <= now) {
                    sum += counts[i];
                }
            }
            return sum;
        }

        /** The tokens (or the requests) granted on {@code epochDay}. */
        synchronized long day(long epochDay, boolean countRequests) {
            return this.epochDay == epochDay ? (countRequests ? dayRequests : dayTokens) : 0;
        }
    }

    /**
     * The grants of one key since the question its last kept usage answer replied to: the answer
     * may hold them or not, so they count on top of it.
     */
    private static final class GrantsSince {

        private record Grant(long sequence, long tokens) {
        }

        private final Queue<Grant> grants = new ConcurrentLinkedQueue<>();
        private long askedAt = -1;

        void add(long sequence, long tokens) {
            grants.add(new Grant(sequence, tokens));
        }

        /** The answer to the question asked at {@code asked} holds every grant before it. */
        void answered(long asked) {
            askedAt = asked;
            grants.removeIf(grant -> grant.sequence() < asked);
        }

        long tokens() {
            return grants.stream().mapToLong(Grant::tokens).sum();
        }

        long requests() {
            return grants.size();
        }
    }

    private record Settlement(Ticket ticket, long actualTokens, long nowMillis, DayWindow day) {
    }
}
