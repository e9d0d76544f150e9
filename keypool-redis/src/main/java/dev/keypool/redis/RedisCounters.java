package dev.keypool.redis;

import io.lettuce.core.RedisFuture;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Counters that every gateway instance adds to and reads from, as Redis hashes of field to count:
 * the cluster-wide usage history behind the admin report. Additions are {@code HINCRBY}s (and a
 * {@code PEXPIRE} per hash), pipelined on one connection; additions from many instances commute, so
 * no script is needed. Names are {@code {prefix}:usage:{name}}.
 *
 * <p>Every method throws {@link RedisUnavailableException} when Redis cannot answer within
 * {@link RedisStoreConfig#commandTimeout()}; the caller keeps its additions and tries again.
 */
public final class RedisCounters implements AutoCloseable {

    private final RedisStoreConfig config;
    private final RedisLink link;
    private final RedisCalls calls;
    private final AtomicBoolean closed = new AtomicBoolean();

    /**
     * Connects to {@code redisUrl} on a connection of its own, which it closes; a Redis that
     * cannot be reached now is tried again by later calls, like {@link RedisUsageStore}'s.
     */
    public RedisCounters(String redisUrl, RedisStoreConfig config) {
        this.config = Objects.requireNonNull(config, "config");
        this.link = RedisLink.open(redisUrl, config);
        this.calls = new RedisCalls(link, config.commandTimeout());
    }

    /**
     * Adds {@code deltas} (hash name → field → amount) and sets each named hash to expire
     * {@code ttl.get(name)} from now (none when absent).
     */
    public void add(Map<String, Map<String, Long>> deltas, Map<String, Duration> ttl) {
        List<RedisFuture<?>> started = new ArrayList<>();
        for (Map.Entry<String, Map<String, Long>> hash : deltas.entrySet()) {
            String key = key(hash.getKey());
            for (Map.Entry<String, Long> field : hash.getValue().entrySet()) {
                started.add(calls.start(() -> calls.redis().hincrby(key, field.getKey(), field.getValue()),
                        "adding to usage counters"));
            }
            Duration expiry = ttl.get(hash.getKey());
            if (expiry != null) {
                started.add(calls.start(() -> calls.redis().pexpire(key, expiry.toMillis()), "expiring usage counters"));
            }
        }
        for (RedisFuture<?> future : started) {
            calls.await(future, "adding to usage counters");
        }
    }

    /** The counters of each named hash, in order (empty for a hash that does not exist). */
    public List<Map<String, Long>> read(List<String> names) {
        List<RedisFuture<Map<String, String>>> started = new ArrayList<>(names.size());
        for (String name : names) {
            String key = key(name);
            started.add(calls.start(() -> calls.redis().hgetall(key), "reading usage counters"));
        }
        List<Map<String, Long>> hashes = new ArrayList<>(names.size());
        for (RedisFuture<Map<String, String>> future : started) {
            Map<String, Long> counts = new LinkedHashMap<>();
            calls.await(future, "reading usage counters").forEach((field, value) -> counts.put(field, Long.parseLong(value)));
            hashes.add(counts);
        }
        return hashes;
    }

    /** Whether the connection to Redis is up now. */
    public boolean isConnected() {
        return link.isConnected();
    }

    private String key(String name) {
        return config.prefix() + ":usage:" + name;
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        link.close();
    }
}
