package dev.keypool.redis;

import dev.keypool.config.KeyId;
import dev.keypool.config.SecretDigest;
import dev.keypool.config.WindowLimits;
import dev.keypool.usage.DayWindow;
import dev.keypool.usage.DenialReason;
import dev.keypool.usage.KeyFingerprint;
import dev.keypool.usage.KeyFingerprinter;
import dev.keypool.usage.KeyState;
import dev.keypool.usage.KeyUsage;
import dev.keypool.usage.ReserveResult;
import dev.keypool.usage.Ticket;
import dev.keypool.usage.UsageStore;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link UsageStore} that many gateway instances share through one Redis: each instance
 * admits only what the limits leave after every other instance's admissions, and sees every key
 * state the others set, at once.
 *
 * <h2>One script per operation</h2>
 * Reserve, settle, release and each state change is one Lua script, sent as {@code EVALSHA}
 * (scripts are loaded at start; a {@code NOSCRIPT} answer is retried once as {@code EVAL}). Redis
 * runs a script to its end before anything else, so "is the key up, has it room in the minute and
 * the day, then take the tokens" is one atomic step across all instances, in one round trip, with
 * no retry loop. A compare-and-swap design (read, compute, write-if-unchanged) collapses into
 * retries exactly where a key pool is busiest, on one hot key (bucket4j issues #404, #407); here
 * concurrent reserves on one key queue inside Redis and each costs one script run, a few
 * microseconds.
 *
 * <h2>Which key</h2>
 * A key's data is kept under its fingerprint ({@link KeyFingerprint}), an HMAC of its secret
 * under a secret every instance reads from Redis ({@code keypool:key-id-secret}, created once,
 * atomically, by the first instance that asks): instances whose {@code .env} list the keys in
 * different orders share each key, and a new key at an old index starts with nothing. Until the
 * store has reached Redis once it cannot name any key ({@link #fingerprint} is {@code null}); it
 * asks again on the next call. Data written by index ({@code keypool:{openai:0}:...}, before keys
 * had an identity) is moved once, when the store first reaches Redis, to the key configured at
 * that index in the configuration being started; the instance that moves it first decides.
 *
 * <h2>Layout and expiry</h2>
 * Each pool key's data sits under one hash tag, {@code keypool:{openai:3f9a…}:...} (see
 * {@link KeySpace}), so every script touches one Redis Cluster slot. The sliding minute is the
 * in-memory store's: reservations are held (a {@code held} counter in the day hash) until they are
 * settled, and the tokens actually used then go in a hash of bucket number to tokens, where tokens
 * of bucket {@code b} count until bucket {@code b + 60 s / bucket + 1} begins (refuse early by at
 * most a bucket, never admit late), so a request counts until a minute after it ended, where the
 * provider can have seen it. Requests are counted beside the tokens in the same two hashes: a
 * reservation's request is held as its member of the pending set (so the held requests are that
 * set's size), and settling puts one request in field {@code r<bucket>} of the minute hash and in
 * the day hash's {@code requests}; data written before request limits has neither and reads as no
 * requests. Reserve deletes the buckets that have left the window,
 * and everything expires by itself: the minute hash {@link #MINUTE_SLACK_MILLIS} after its newest
 * bucket leaves the window, the day counter and the pending tickets {@link #DAY_TTL_MILLIS} after
 * the key's last reservation, a resting key's state {@link #STATE_GRACE_MILLIS} after its rest
 * ends, and a deactivation that only an admin reset ends, never.
 *
 * <h2>Pending tickets and crashed instances</h2>
 * A granted reservation is a member of the key's pending sorted set, scored by its expiry, so that
 * {@link #releaseExpired} on <em>any</em> instance ends the reservations of an instance that died
 * before settling them, charging them in full (the provider may have served them). Settling and
 * releasing both begin by removing the member; Redis answers exactly one of them that it was
 * there, so a ticket ends once. Every key that has
 * had a reservation is named in {@code keypool:keys} (added once per key per instance), which is
 * where the sweeper finds the pending sets.
 *
 * <h2>Whose clock</h2>
 * Scripts use the caller's {@code nowMillis}, from the injected clock, never Redis's {@code TIME}:
 * the SPI has one time line, which tests drive by hand across minutes and midnights, and the
 * tickets, retry-at times and usage the store answers with are on it. Across instances the windows
 * are then as exact as the hosts' clocks agree. The minute's newest bucket only moves forward, so a
 * caller whose clock lags puts its tokens where they count longer, and on the store's own time line
 * no 60-second span of settlements ever holds more than the limit. In real
 * time, once a host whose clock runs {@code s} ms ahead has moved the newest bucket, buckets leave
 * the window up to {@code s} ms early: the limit holds over any {@code 60 s - s} span. With
 * NTP-synchronised hosts ({@code s} of a few ms, against buckets of a second) that is immaterial;
 * hosts without synchronised clocks should not share a Redis. The day follows the newest day any
 * instance has reached, so all instances reset together at the first one's midnight. Redis expiry
 * (in Redis's time) only removes data the callers' clocks have left behind, with slack for their
 * clocks running at slightly different rates.
 *
 * <h2>Round trips</h2>
 * Reserve, settle, {@link #usage}, {@link #state} and a state change: one each (plus one
 * {@code SADD} the first time an instance reserves on a key). {@link #usages}: one, its scripts
 * pipelined. {@link #releaseExpired} and {@link #pendingCount()}: two, the key registry then
 * pipelined per-key calls. Calls from many threads share one connection, which Lettuce pipelines.
 *
 * <h2>When Redis is not there</h2>
 * Every method throws {@link RedisUnavailableException} when Redis cannot answer within
 * {@link RedisStoreConfig#commandTimeout()}. A connection the store opens itself rejects commands
 * at once while it is reconnecting, instead of queueing them, and retries at least every
 * {@link #RECONNECT_DELAY_CAP}; a store built while Redis is down connects when it can.
 * Scripts a restarted Redis has forgotten are sent again in full. Nothing is decided locally here:
 * a wrapper that falls back to local accounting with a per-instance share of each limit catches
 * that exception ({@link ResilientRedisUsageStore}). A Redis that lost its data (a restart without
 * persistence, a flush, eviction) is detected by the epoch every key's data carries, and its lost
 * interval treated as spent ({@link #revalidate}); the registry of keys is rebuilt from the
 * instances. A script Redis ran and refused is a bug and throws {@link IllegalStateException}.
 */
public final class RedisUsageStore implements UsageStore {

    /** How long a key's minute hash outlives its newest bucket: covers clock-rate drift over a minute. */
    public static final long MINUTE_SLACK_MILLIS = 5_000;

    /**
     * How long a key's day counter and pending tickets outlive its last reservation: the day they
     * count, and the next one for instances whose clock lags.
     */
    public static final long DAY_TTL_MILLIS = Duration.ofDays(2).toMillis();

    /**
     * How long a resting key's state outlives the end of its rest, so that maintenance on some
     * instance turns it back to active (with its event) before Redis drops it.
     */
    public static final long STATE_GRACE_MILLIS = Duration.ofHours(1).toMillis();

    /**
     * The longest wait between reconnection attempts of a connection the store opens, so that it
     * is back on Redis within about this long of Redis's return.
     */
    public static final Duration RECONNECT_DELAY_CAP = RedisLink.RECONNECT_DELAY_CAP;

    /** The most tickets of one key that one release script ends, to keep each script short. */
    static final int RELEASE_BATCH = 1_000;

    /** Ticket ids are provider (4 bits), key index (19 bits), the key's ticket counter (40 bits). */
    private static final int SEQ_BITS = 40;
    private static final int INDEX_BITS = 19;
    private static final long SEQ_MASK = (1L << SEQ_BITS) - 1;

    private final RedisStoreConfig config;
    private final RedisLink link;
    private final RedisCalls calls;
    private final KeySpace keys;
    private static final Logger LOG = LoggerFactory.getLogger(RedisUsageStore.class);

    /** The keys this instance names in the registry, so it adds each once. */
    private final Set<KeyFingerprint> listed = ConcurrentHashMap.newKeySet();
    /** What {@link #register} was given; fingerprints are made from it once Redis gives the secret. */
    private volatile Map<KeyId, SecretDigest> digests = Map.of();
    /** The fingerprint of each registered handle, and back; {@code null} until Redis was reached. */
    private volatile Identity identity;
    /** What each key's day was seen to count: its floor if Redis loses it. */
    private final Map<KeyId, DaySeen> daysSeen = new ConcurrentHashMap<>();
    private final AtomicBoolean closed = new AtomicBoolean();

    private final String bucketArg;
    /** The ring length as the scripts take it: tokens settled in bucket b count until bucket b + ring length begins. */
    private final String ringArg;
    private final long bucketMillis;

    /** Connects to {@code redisUrl} ({@code KEYPOOL_REDIS_URL}) with the default settings. */
    public RedisUsageStore(String redisUrl) {
        this(redisUrl, RedisStoreConfig.ofDefaults());
    }

    /**
     * Connects to {@code redisUrl}: {@code redis://[[user]:password@]host[:port][/database]}, or
     * {@code rediss://} for TLS. The store owns the client and closes it. A Redis that cannot be
     * reached now is not an error: calls throw {@link RedisUnavailableException} until it can be,
     * and the connection is tried again at most once per {@link #RECONNECT_DELAY_CAP}.
     */
    public RedisUsageStore(String redisUrl, RedisStoreConfig config) {
        this(RedisLink.open(redisUrl, config), config);
    }

    /** Opens its own connection on {@code client}, and closes that connection (not the client). */
    public RedisUsageStore(RedisClient client, RedisStoreConfig config) {
        this(RedisLink.on(client), config);
    }

    /**
     * Uses {@code connection}, which the caller keeps and closes. Commands go to its database; how
     * it behaves while disconnected is the caller's choice of client options.
     */
    public RedisUsageStore(StatefulRedisConnection<String, String> connection, RedisStoreConfig config) {
        this(RedisLink.using(connection), config);
    }

    private RedisUsageStore(RedisLink link, RedisStoreConfig config) {
        this.config = Objects.requireNonNull(config, "config");
        this.link = link;
        this.calls = new RedisCalls(link, config.commandTimeout());
        this.keys = new KeySpace(config.prefix());
        this.bucketMillis = config.bucketMillis();
        this.bucketArg = Long.toString(bucketMillis);
        this.ringArg = Long.toString(MINUTE_MILLIS / bucketMillis + 1);
        link.onConnect(calls::loadScripts);
        if (link.isConnected()) {
            calls.loadScripts();
        }
    }

    public RedisStoreConfig config() {
        return config;
    }

    /** Which fingerprint each registered handle is, and which handle each fingerprint. */
    /**
     * @param secret the hex secret the fingerprints were made with
     * @param epoch  a digest of it, which every key's meta hash carries while Redis keeps the data
     */
    private record Identity(String secret, String epoch, Map<KeyId, KeyFingerprint> fingerprints,
            Map<KeyFingerprint, KeyId> handles) {
    }

    /** The most a key's day was seen to count (on {@code epochDay}), for restoring it if Redis loses it. */
    private record DaySeen(long epochDay, long tokens, long requests) {

        static DaySeen max(DaySeen a, DaySeen b) {
            if (a.epochDay != b.epochDay) {
                return a.epochDay > b.epochDay ? a : b;
            }
            return new DaySeen(a.epochDay, Math.max(a.tokens, b.tokens), Math.max(a.requests, b.requests));
        }
    }

    /**
     * Keeps the keys' digests and, when Redis can be reached, makes their fingerprints with the
     * shared secret and moves data Redis kept by index. When it cannot, the next call that needs a
     * key tries again (and throws {@link RedisUnavailableException} while Redis is away).
     */
    @Override
    public void register(Map<KeyId, SecretDigest> keys) {
        keys.keySet().forEach(RedisUsageStore::checkNumberable);
        Identity known;
        Map<KeyId, SecretDigest> joining = new HashMap<>();
        synchronized (this) {
            keys.forEach((key, digest) -> {
                SecretDigest bound = digests.get(key);
                if (bound != null && !bound.equals(digest)) {
                    throw new IllegalArgumentException(key + " is registered with another key already: a handle names"
                            + " one key for the store's life");
                }
                if (bound == null) {
                    joining.put(key, digest);
                }
            });
            if (joining.isEmpty()) {
                return;
            }
            Map<KeyId, SecretDigest> merged = new HashMap<>(digests);
            merged.putAll(joining);
            digests = Map.copyOf(merged);
            known = identity;
        }
        try {
            if (known == null) {
                identify();
            } else {
                identifyJoining(known, joining.keySet());
            }
        } catch (RedisUnavailableException e) {
            // The next call that needs a key that is not named yet names it (fingerprintOf).
            LOG.debug("Cannot name the keys in Redis yet: {}", e.getMessage());
        }
    }

    /**
     * Names keys that joined after the others were named (a reload): their fingerprints under the
     * same secret, and their data's mark. A key whose data has no mark yet is new to Redis (or was
     * lost while no instance had it): unlike a lost key of a running instance, nothing this
     * instance counted is missing from it, so it is not taken back. When Redis lost its secret
     * meanwhile, {@link #revalidate} takes every key back, the joining ones included.
     */
    private synchronized void identifyJoining(Identity known, Set<KeyId> joining) {
        Identity fresh = readIdentity();
        if (!fresh.secret().equals(known.secret())) {
            revalidate();
            return;
        }
        Map<KeyId, KeyFingerprint> added = new HashMap<>();
        joining.forEach(key -> added.put(key, fresh.fingerprints().get(key)));
        moveIndexLayout(added);
        claimEpoch(new Identity(fresh.secret(), fresh.epoch(), Map.copyOf(added), Map.of()));
        identity = fresh;
    }

    @Override
    public KeyFingerprint fingerprint(KeyId key) {
        Identity known = identity;
        if (known == null) {
            if (!digests.containsKey(key)) {
                throw notRegistered(key);
            }
            return null;
        }
        KeyFingerprint fingerprint = known.fingerprints().get(key);
        if (fingerprint == null && !digests.containsKey(key)) {
            throw notRegistered(key);
        }
        // Null for a key that joined while Redis could not be reached: named by the next call that needs it.
        return fingerprint;
    }

    /** Whether the connection to Redis is up now (for health checks; calls may still time out). */
    public boolean isConnected() {
        return link.isConnected();
    }

    /**
     * One round trip to Redis ({@code PING}), connecting first if it is time to try.
     *
     * @throws RedisUnavailableException when Redis does not answer within the command timeout
     */
    public void ping() {
        String answer = calls.await(calls.start(() -> calls.redis().ping(), "PING"), "PING");
        if (!"PONG".equals(answer)) {
            throw new IllegalStateException("Redis answered PING with " + answer);
        }
    }

    @Override
    public ReserveResult reserve(KeyId key, WindowLimits limits, long tokens, long nowMillis, DayWindow day,
            long expiresMillis) {
        Objects.requireNonNull(limits, "limits");
        Objects.requireNonNull(day, "day");
        if (tokens < 0) {
            throw new IllegalArgumentException("tokens must be >= 0, was " + tokens);
        }
        List<Object> answer = runReserve(key, limits, tokens, nowMillis, day, expiresMillis);
        if ("LOST".equals(answer.get(1))) {
            revalidate();
            answer = runReserve(key, limits, tokens, nowMillis, day, expiresMillis);
            if ("LOST".equals(answer.get(1))) {
                // Another instance is taking the key back this very moment: count it as full for now.
                return new ReserveResult.Denied(DenialReason.MINUTE_LIMIT, nowMillis + bucketMillis);
            }
        }
        if (number(answer.get(0)) == 1) {
            Ticket ticket = new Ticket(ticketId(key, number(answer.get(1))), key, tokens, number(answer.get(2)),
                    number(answer.get(3)), expiresMillis);
            saw(key, ticket.epochDay(), number(answer.get(4)), number(answer.get(6)));
            List<?> probing = (List<?>) answer.get(5);
            return new ReserveResult.Granted(ticket, probing.isEmpty() ? null : StateCodec.decode(probing));
        }
        DenialReason reason = DenialReason.valueOf((String) answer.get(1));
        long retryAt = switch (reason) {
            case COOLING_DOWN, DEACTIVATED, MINUTE_LIMIT, REQUEST_MINUTE_LIMIT -> number(answer.get(2));
            case DAY_LIMIT, REQUEST_DAY_LIMIT -> day.nextStartMillis();
            case EXCEEDS_LIMIT -> KeyState.NEVER;
            // The script never says it: the cap on requests in flight is the rotator's, per process.
            case AT_CONCURRENCY_CAP -> throw new IllegalStateException("the reserve script answered " + reason);
        };
        return new ReserveResult.Denied(reason, retryAt);
    }

    @Override
    public boolean settle(Ticket ticket, long actualTokens, long nowMillis, DayWindow day) {
        Objects.requireNonNull(ticket, "ticket");
        if (actualTokens < 0) {
            throw new IllegalArgumentException("actualTokens must be >= 0, was " + actualTokens);
        }
        List<Object> answer = calls.run(Script.SETTLE, names(ticket.key()).forSettle(), pendingMember(ticket),
                Long.toString(ticket.tokens()), Long.toString(actualTokens), Long.toString(nowMillis), bucketArg,
                ringArg, Long.toString(day.epochDay()), Long.toString(MINUTE_SLACK_MILLIS), Long.toString(DAY_TTL_MILLIS));
        saw(ticket.key(), day.epochDay(), number(answer.get(1)), number(answer.get(2)));
        return number(answer.get(0)) == 1;
    }

    @Override
    public KeyUsage usage(KeyId key, long nowMillis, DayWindow day) {
        return usages(List.of(key), nowMillis, day).get(0);
    }

    /**
     * Answers in one round trip: one read-only script per key, pipelined. An answer that says
     * Redis lost a key's data takes the key back first ({@link #revalidate}) and asks again.
     */
    @Override
    public List<KeyUsage> usages(List<KeyId> keyIds, long nowMillis, DayWindow day) {
        List<List<Object>> answers = readUsages(keyIds, nowMillis, day);
        if (answers.stream().anyMatch(answer -> number(answer.get(4)) == 0)) {
            revalidate();
            answers = readUsages(keyIds, nowMillis, day);
        }
        List<KeyUsage> usages = new ArrayList<>(keyIds.size());
        for (int i = 0; i < keyIds.size(); i++) {
            List<Object> answer = answers.get(i);
            KeyUsage usage = new KeyUsage(number(answer.get(0)), number(answer.get(1)),
                    StateCodec.decode((List<?>) answer.get(2)), number(answer.get(3)), number(answer.get(5)),
                    number(answer.get(6)));
            saw(keyIds.get(i), day.epochDay(), usage.dayTokens(), usage.dayRequests());
            usages.add(usage);
        }
        return usages;
    }

    private List<List<Object>> readUsages(List<KeyId> keyIds, long nowMillis, DayWindow day) {
        String epoch = identified().epoch();
        List<RedisCalls.ScriptCall<List<Object>>> started = new ArrayList<>(keyIds.size());
        for (KeyId key : keyIds) {
            started.add(calls.script(Script.USAGE, names(key).forUsage(), Long.toString(nowMillis), bucketArg, ringArg,
                    Long.toString(day.epochDay()), epoch));
        }
        List<List<Object>> answers = new ArrayList<>(keyIds.size());
        for (RedisCalls.ScriptCall<List<Object>> call : started) {
            answers.add(call.await());
        }
        return answers;
    }

    @Override
    public KeyState state(KeyId key) {
        String stateKey = names(key).state();
        Map<String, String> fields = calls.await(calls.start(() -> calls.redis().hgetall(stateKey), "reading a key state"),
                "reading a key state");
        return StateCodec.decode(fields);
    }

    @Override
    public void setState(KeyId key, KeyState state) {
        Objects.requireNonNull(state, "state");
        List<String> args = new ArrayList<>();
        args.add(Long.toString(stateTtl(state)));
        args.addAll(StateCodec.encode(state));
        calls.run(Script.SET_STATE, names(key).forState(), args.toArray(String[]::new));
    }

    @Override
    public boolean compareAndSetState(KeyId key, KeyState expected, KeyState next) {
        Objects.requireNonNull(next, "next");
        if (expected == null) {
            return false;
        }
        List<String> expectedPairs = StateCodec.encode(expected);
        List<String> args = new ArrayList<>();
        args.add(Integer.toString(expectedPairs.size()));
        args.addAll(expectedPairs);
        args.add(Long.toString(stateTtl(next)));
        args.addAll(StateCodec.encode(next));
        Long replaced = calls.run(Script.COMPARE_AND_SET_STATE, names(key).forState(), args.toArray(String[]::new));
        return replaced == 1;
    }

    /**
     * Adds tokens that {@code key} used while Redis could not count them: {@code minuteTokens} to
     * its newest minute bucket and {@code dayTokens} to {@code day}, whatever the key's state and
     * limits (they were spent already). One script round trip.
     *
     * @return the key's day tokens after the charge
     */
    public long charge(KeyId key, long minuteTokens, long dayTokens, long nowMillis, DayWindow day) {
        return charge(key, minuteTokens, dayTokens, 0, 0, nowMillis, day);
    }

    /**
     * Like {@link #charge(KeyId, long, long, long, DayWindow)}, with the requests used too:
     * {@code minuteRequests} to the newest minute bucket, {@code dayRequests} to the day.
     *
     * @return the key's day tokens after the charge
     */
    public long charge(KeyId key, long minuteTokens, long dayTokens, long minuteRequests, long dayRequests,
            long nowMillis, DayWindow day) {
        Objects.requireNonNull(day, "day");
        if (minuteTokens < 0 || dayTokens < 0 || minuteRequests < 0 || dayRequests < 0) {
            throw new IllegalArgumentException("tokens and requests must be >= 0, were " + minuteTokens + ", "
                    + dayTokens + ", " + minuteRequests + " and " + dayRequests);
        }
        KeySpace.Names names = names(key);
        list(key);
        Long tokens = calls.run(Script.CHARGE, names.forCharge(), Long.toString(minuteTokens),
                Long.toString(dayTokens), Long.toString(nowMillis), bucketArg, ringArg, Long.toString(day.epochDay()),
                Long.toString(MINUTE_SLACK_MILLIS), Long.toString(DAY_TTL_MILLIS), Long.toString(minuteRequests),
                Long.toString(dayRequests));
        saw(key, day.epochDay(), tokens, dayRequestsSeen(key, day.epochDay()) + dayRequests);
        return tokens;
    }

    /**
     * Says that {@code instance} serves on Redis now: one {@code ZADD} in the instances' set (and
     * the removal of instances silent for a day). The resilient store's coordination reads it.
     */
    void heartbeat(String instance, long nowMillis) {
        String members = keys.members();
        RedisFuture<Long> added = calls.start(() -> calls.redis().zadd(members, (double) nowMillis, instance),
                "sending a heartbeat");
        RedisFuture<Long> pruned = calls.start(() -> calls.redis().zremrangebyscore(members,
                io.lettuce.core.Range.create(Double.NEGATIVE_INFINITY, (double) (nowMillis - Duration.ofDays(1).toMillis()))),
                "sending a heartbeat");
        calls.await(added, "sending a heartbeat");
        calls.await(pruned, "sending a heartbeat");
    }

    /** Every instance's last heartbeat, by instance id. */
    Map<String, Long> members() {
        String members = keys.members();
        List<io.lettuce.core.ScoredValue<String>> scored = calls.await(calls.start(
                () -> calls.redis().zrangeWithScores(members, 0, -1), "reading the instances"), "reading the instances");
        Map<String, Long> heartbeats = new HashMap<>();
        scored.forEach(value -> heartbeats.put(value.getValue(), (long) value.getScore()));
        return heartbeats;
    }

    /** Takes {@code instance} out of the instances' set: it stops cleanly, nobody waits for it. */
    void leave(String instance) {
        String members = keys.members();
        calls.await(calls.start(() -> calls.redis().zrem(members, instance), "leaving"), "leaving");
    }

    /** Releases the expired tickets of every key any instance has reserved on. */
    @Override
    public List<Ticket> releaseExpired(long nowMillis, DayWindow day) {
        Objects.requireNonNull(day, "day");
        List<Ticket> released = new ArrayList<>();
        String[] args = {Long.toString(nowMillis), bucketArg, ringArg, Long.toString(MINUTE_SLACK_MILLIS),
                Integer.toString(RELEASE_BATCH), Long.toString(day.epochDay()), Long.toString(DAY_TTL_MILLIS)};
        Identity known = identified();
        List<KeyFingerprint> todo = new ArrayList<>(knownKeys());
        while (!todo.isEmpty()) {
            List<RedisCalls.ScriptCall<List<Object>>> started = new ArrayList<>(todo.size());
            for (KeyFingerprint key : todo) {
                started.add(calls.script(Script.RELEASE, keys.of(key).forSettle(), args));
            }
            List<KeyFingerprint> more = new ArrayList<>();
            for (int i = 0; i < todo.size(); i++) {
                List<Object> members = started.get(i).await();
                // A key this instance does not have is released all the same, for the instance that does.
                KeyId handle = known.handles().get(todo.get(i));
                for (Object member : members) {
                    if (handle != null) {
                        released.add(parseMember(handle, (String) member));
                    }
                }
                if (members.size() == RELEASE_BATCH) {
                    more.add(todo.get(i));
                }
            }
            todo = more;
        }
        return released;
    }

    /** Counts the pending tickets of every instance, not only this one's. */
    @Override
    public int pendingCount() {
        identified();
        List<RedisFuture<Long>> started = new ArrayList<>();
        for (KeyFingerprint key : knownKeys()) {
            String pending = keys.of(key).pending();
            started.add(calls.start(() -> calls.redis().zcard(pending), "counting pending tickets"));
        }
        long count = 0;
        for (RedisFuture<Long> future : started) {
            count += calls.await(future, "counting pending tickets");
        }
        return (int) Math.min(count, Integer.MAX_VALUE);
    }

    /** Closes the connection and client the store opened; a connection passed in stays open. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        link.close();
    }

    @Override
    public String toString() {
        return "RedisUsageStore[prefix=" + config.prefix() + ", bucketMillis=" + bucketMillis + "]";
    }

    // ---- internals --------------------------------------------------------------------------------

    private List<Object> runReserve(KeyId key, WindowLimits limits, long tokens, long nowMillis, DayWindow day,
            long expiresMillis) {
        KeySpace.Names names = names(key);
        list(key);
        return calls.run(Script.RESERVE, names.forReserve(),
                Long.toString(tokens), Long.toString(nowMillis), bucketArg, ringArg,
                limitArg(limits.perMinute()), limitArg(limits.perDay()), Long.toString(day.epochDay()),
                Long.toString(expiresMillis), Long.toString(MINUTE_SLACK_MILLIS), Long.toString(DAY_TTL_MILLIS),
                identified().epoch(), Long.toString(PROBE_MILLIS), Long.toString(STATE_GRACE_MILLIS),
                limitArg(limits.requestsPerMinute()), limitArg(limits.requestsPerDay()));
    }

    /** The most this instance saw {@code key}'s day {@code epochDay} count (0 when it saw none of that day). */
    long dayTokensSeen(KeyId key, long epochDay) {
        DaySeen seen = daysSeen.get(key);
        return seen != null && seen.epochDay == epochDay ? seen.tokens : 0;
    }

    /** The most requests this instance saw {@code key}'s day {@code epochDay} count (0 when it saw none of that day). */
    long dayRequestsSeen(KeyId key, long epochDay) {
        DaySeen seen = daysSeen.get(key);
        return seen != null && seen.epochDay == epochDay ? seen.requests : 0;
    }

    private void saw(KeyId key, long epochDay, long dayTokens, long dayRequests) {
        DaySeen seen = daysSeen.get(key);
        if (seen == null || seen.epochDay < epochDay
                || (seen.epochDay == epochDay && (seen.tokens < dayTokens || seen.requests < dayRequests))) {
            daysSeen.merge(key, new DaySeen(epochDay, dayTokens, dayRequests), DaySeen::max);
        }
    }

    /** Names the key in the registry the first time this instance reserves on it. */
    private void list(KeyId key) {
        KeyFingerprint fingerprint = fingerprintOf(identified(), key);
        if (listed.contains(fingerprint)) {
            return;
        }
        String member = KeySpace.member(fingerprint);
        calls.await(calls.start(() -> calls.redis().sadd(keys.registry(), member), "registering a key"),
                "registering a key");
        listed.add(fingerprint);
    }

    /**
     * Every key in the registry, and those this instance listed; those the registry lacks (Redis
     * restarted empty) are put back, so that other instances' sweepers find them again.
     */
    private Set<KeyFingerprint> knownKeys() {
        Set<String> members = calls.await(calls.start(() -> calls.redis().smembers(keys.registry()), "reading the key registry"),
                "reading the key registry");
        Set<KeyFingerprint> known = new HashSet<>();
        for (String member : members) {
            KeyFingerprint key = KeySpace.parse(member);
            if (key != null) {
                known.add(key);
            }
        }
        String[] lost = listed.stream().filter(key -> !known.contains(key)).map(KeySpace::member)
                .toArray(String[]::new);
        if (lost.length > 0) {
            calls.await(calls.start(() -> calls.redis().sadd(keys.registry(), lost), "registering keys again"),
                    "registering keys again");
            known.addAll(listed);
        }
        return known;
    }

    /** The Redis names of a registered key's data. */
    private KeySpace.Names names(KeyId key) {
        return keys.of(fingerprintOf(identified(), key));
    }

    private KeyFingerprint fingerprintOf(Identity known, KeyId key) {
        KeyFingerprint fingerprint = known.fingerprints().get(key);
        if (fingerprint == null) {
            if (!digests.containsKey(key)) {
                throw notRegistered(key);
            }
            return nameJoining(key);
        }
        return fingerprint;
    }

    /**
     * Names the keys registered while Redis could not be reached after the others were named.
     *
     * @throws RedisUnavailableException while it still cannot be
     */
    private synchronized KeyFingerprint nameJoining(KeyId key) {
        Identity current = identified();
        if (!current.fingerprints().containsKey(key)) {
            Set<KeyId> unnamed = new HashSet<>(digests.keySet());
            unnamed.removeAll(current.fingerprints().keySet());
            identifyJoining(current, unnamed);
        }
        return identity.fingerprints().get(key);
    }

    private static IllegalArgumentException notRegistered(KeyId key) {
        Objects.requireNonNull(key, "key");
        return new IllegalArgumentException(key + " was not registered with the store");
    }

    private Identity identified() {
        Identity known = identity;
        return known != null ? known : identify();
    }

    /**
     * Makes the registered keys' fingerprints with the secret in Redis (creating it if this is the
     * first instance), moves what Redis kept by index to the keys now at those indexes, and marks
     * every key's data with the epoch.
     *
     * @throws RedisUnavailableException when Redis cannot be reached; nothing is decided then
     */
    private synchronized Identity identify() {
        if (identity != null) {
            return identity;
        }
        Identity fresh = readIdentity();
        moveIndexLayout(fresh.fingerprints());
        // A key without the mark at the first start is a new one (or Redis lost it while no instance ran).
        claimEpoch(fresh);
        identity = fresh;
        return fresh;
    }

    /**
     * Checks that Redis still holds what this instance counted, and takes back whatever it lost:
     * all of it when the secret is gone or changed (Redis restarted without persistence, or was
     * flushed), a key's when only its mark is gone (evicted). A key taken back counts as full in
     * its minute for a minute, and its day restarts from the most this instance saw it count
     * ({@code restore.lua}); the lost interval is treated as spent.
     *
     * @return whether Redis lost everything (its secret, and so every instance's heartbeat too)
     * @throws RedisUnavailableException when Redis cannot be reached
     */
    synchronized boolean revalidate() {
        Identity known = identity;
        if (known == null) {
            identify();
            return false;
        }
        Identity current = readIdentity();
        List<KeyId> lost;
        if (!current.secret().equals(known.secret())) {
            lost = new ArrayList<>(current.fingerprints().keySet());
            listed.clear();
        } else {
            lost = claimEpoch(current);
        }
        identity = current;
        if (lost.isEmpty()) {
            return false;
        }
        long fullUntil = config.clock().millis() + MINUTE_MILLIS;
        List<RedisCalls.ScriptCall<Long>> restores = new ArrayList<>(lost.size());
        for (KeyId key : lost) {
            DaySeen seen = daysSeen.get(key);
            restores.add(calls.script(Script.RESTORE, keys.of(current.fingerprints().get(key)).forRestore(),
                    current.epoch(), Long.toString(fullUntil), Long.toString(seen == null ? 0 : seen.tokens()),
                    Long.toString(seen == null ? -1 : seen.epochDay()), Long.toString(DAY_TTL_MILLIS),
                    Long.toString(seen == null ? 0 : seen.requests())));
        }
        restores.forEach(RedisCalls.ScriptCall::await);
        LOG.warn("Redis lost the data of {} key(s) (it restarted without persistence, was flushed, or evicted them):"
                + " their minutes count as full until {}, and their days restart from the most this instance saw"
                + " them count", lost.size(), java.time.Instant.ofEpochMilli(fullUntil));
        return !current.secret().equals(known.secret());
    }

    /** The secret in Redis (made now if there is none) and the fingerprints and epoch it gives. */
    private Identity readIdentity() {
        String fresh = HexFormat.of().formatHex(KeyFingerprinter.newSecret());
        String secret = calls.run(Script.KEY_ID_SECRET, new String[] {keys.secret()}, fresh);
        byte[] bytes;
        try {
            bytes = HexFormat.of().parseHex(secret);
        } catch (IllegalArgumentException e) {
            bytes = new byte[0];
        }
        if (bytes.length != KeyFingerprinter.SECRET_BYTES) {
            throw new IllegalStateException("Redis key " + keys.secret() + " does not hold a keypool key-id secret ("
                    + KeyFingerprinter.SECRET_BYTES * 2 + " hex digits); is the prefix shared with something else?");
        }
        KeyFingerprinter fingerprinter = KeyFingerprinter.of(bytes);
        Map<KeyId, KeyFingerprint> fingerprints = new HashMap<>();
        Map<KeyFingerprint, KeyId> handles = new HashMap<>();
        digests.forEach((key, digest) -> {
            KeyFingerprint fingerprint = fingerprinter.fingerprint(digest);
            fingerprints.put(key, fingerprint);
            handles.put(fingerprint, key);
        });
        return new Identity(secret, epochOf(secret), Map.copyOf(fingerprints), Map.copyOf(handles));
    }

    /** Marks every registered key's data with the epoch where it has no mark; returns those it marked. */
    private List<KeyId> claimEpoch(Identity current) {
        List<KeyId> handles = new ArrayList<>(current.fingerprints().keySet());
        List<RedisFuture<Boolean>> started = new ArrayList<>(handles.size());
        for (KeyId key : handles) {
            String meta = keys.of(current.fingerprints().get(key)).meta();
            started.add(calls.start(() -> calls.redis().hsetnx(meta, "epoch", current.epoch()), "marking a key's data"));
        }
        List<KeyId> marked = new ArrayList<>();
        for (int i = 0; i < handles.size(); i++) {
            if (calls.await(started.get(i), "marking a key's data")) {
                marked.add(handles.get(i));
            }
        }
        return marked;
    }

    /** The mark every key's data carries while Redis keeps it: a digest of the secret, which goes with it. */
    private static String epochOf(String secret) {
        try {
            byte[] digest = java.security.MessageDigest.getInstance("SHA-256")
                    .digest(secret.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            return HexFormat.of().formatHex(digest, 0, 8);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("The JDK has no SHA-256", e);
        }
    }

    /**
     * Moves what Redis kept by index (before keys had an identity) to the key configured at each
     * index: one pipelined read of every index's old data, then for each index that had some, a
     * merge under the key's fingerprint (done once, whoever else merges too) and the old data's
     * deletion.
     */
    private void moveIndexLayout(Map<KeyId, KeyFingerprint> fingerprints) {
        List<KeyId> handles = new ArrayList<>(fingerprints.keySet());
        List<RedisCalls.ScriptCall<List<Object>>> reads = new ArrayList<>(handles.size());
        for (KeyId handle : handles) {
            reads.add(calls.script(Script.LEGACY_READ, keys.byIndex(handle).forLegacy()));
        }
        for (int i = 0; i < handles.size(); i++) {
            List<Object> data = reads.get(i).await();
            if (data.isEmpty()) {
                continue;
            }
            KeyId handle = handles.get(i);
            KeyFingerprint fingerprint = fingerprints.get(handle);
            List<String> args = new ArrayList<>();
            args.add(Long.toString(config.clock().millis()));
            args.add(bucketArg);
            args.add(ringArg);
            args.add(Long.toString(MINUTE_SLACK_MILLIS));
            args.add(Long.toString(DAY_TTL_MILLIS));
            addCounted(args, (List<?>) data.get(0));
            addCounted(args, (List<?>) data.get(1));
            addCounted(args, (List<?>) data.get(2));
            args.add(Long.toString(number(data.get(3))));
            calls.run(Script.LEGACY_MERGE, keys.of(fingerprint).forMerge(), args.toArray(String[]::new));
            String[] old = keys.byIndex(handle).forLegacy();
            calls.await(calls.start(() -> calls.redis().del(old), "deleting data kept by index"),
                    "deleting data kept by index");
            String member = KeySpace.indexMember(handle);
            calls.await(calls.start(() -> calls.redis().srem(keys.registry(), member), "deleting data kept by index"),
                    "deleting data kept by index");
            String listedMember = KeySpace.member(fingerprint);
            calls.await(calls.start(() -> calls.redis().sadd(keys.registry(), listedMember), "registering a key"),
                    "registering a key");
            LOG.info("Moved the usage Redis kept for {} by index to the key now configured there ({})", handle,
                    fingerprint);
        }
    }

    private static void addCounted(List<String> args, List<?> items) {
        args.add(Integer.toString(items.size()));
        items.forEach(item -> args.add(String.valueOf(item)));
    }

    /** Ticket ids carry the key's provider and index: refuses keys beyond what they can name. */
    private static void checkNumberable(KeyId key) {
        Objects.requireNonNull(key, "key");
        if (key.provider().ordinal() >= 1 << (Long.SIZE - 1 - INDEX_BITS - SEQ_BITS)
                || key.index() >= 1 << INDEX_BITS) {
            throw new IllegalArgumentException("keypool-redis numbers keys below " + (1 << INDEX_BITS) + ", was " + key);
        }
    }

    private static long ticketId(KeyId key, long seq) {
        return ((long) key.provider().ordinal() << (INDEX_BITS + SEQ_BITS))
                | ((long) key.index() << SEQ_BITS) | (seq & SEQ_MASK);
    }

    /** The ticket's member in its key's pending set; the reserve script writes the same text. */
    private static String pendingMember(Ticket ticket) {
        return (ticket.id() & SEQ_MASK) + ":" + ticket.tokens() + ":" + ticket.admittedMillis() + ":"
                + ticket.epochDay() + ":" + ticket.expiresMillis();
    }

    private static Ticket parseMember(KeyId key, String member) {
        String[] parts = member.split(":");
        if (parts.length != 5) {
            throw new IllegalStateException("Malformed pending ticket of " + key + ": '" + member + "'");
        }
        return new Ticket(ticketId(key, Long.parseLong(parts[0])), key, Long.parseLong(parts[1]),
                Long.parseLong(parts[2]), Long.parseLong(parts[3]), Long.parseLong(parts[4]));
    }

    /**
     * How long Redis keeps a state: an active key has no hash, a deactivation that only an admin
     * ends is kept for good, a rest until its end plus {@link #STATE_GRACE_MILLIS}.
     */
    private long stateTtl(KeyState state) {
        if (state.equals(KeyState.ACTIVE) || state.untilMillis() == KeyState.NEVER) {
            return 0;
        }
        long now = config.clock().millis();
        long until = state.untilMillis();
        if (until <= now) {
            return STATE_GRACE_MILLIS;
        }
        return until - now > Long.MAX_VALUE - STATE_GRACE_MILLIS ? 0 : until - now + STATE_GRACE_MILLIS;
    }

    /** A limit as the scripts take it: -1 for a window without a limit. */
    private static String limitArg(long limit) {
        return limit == WindowLimits.UNLIMITED ? "-1" : Long.toString(limit);
    }

    private static long number(Object value) {
        return value instanceof Long l ? l : Long.parseLong((String) value);
    }
}
