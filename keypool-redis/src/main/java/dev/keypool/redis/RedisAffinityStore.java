package dev.keypool.redis;

import dev.keypool.usage.AffinityStore;
import dev.keypool.usage.InMemoryAffinityStore;
import io.lettuce.core.SetArgs;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which key created an upstream object, shared by every gateway instance on one Redis: a string
 * {@code {prefix}:affinity:{objectId}} holding the key's reference, expiring with the object. Each
 * instance also keeps what it saw in memory, answered first: a follow-up request usually comes back
 * to the instance that served the first, and while Redis is unreachable that memory still answers.
 */
public final class RedisAffinityStore implements AffinityStore {

    private static final Logger LOG = LoggerFactory.getLogger(RedisAffinityStore.class);

    private final RedisStoreConfig config;
    private final RedisLink link;
    private final RedisCalls calls;
    private final InMemoryAffinityStore local = new InMemoryAffinityStore();
    private final AtomicBoolean warned = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();

    /**
     * Connects to {@code redisUrl} on a connection of its own, which it closes. A Redis that cannot
     * be reached now is no error: the memory answers meanwhile and the connection is tried again.
     */
    public RedisAffinityStore(String redisUrl, RedisStoreConfig config) {
        this.config = Objects.requireNonNull(config, "config");
        this.link = RedisLink.open(redisUrl, config);
        this.calls = new RedisCalls(link, config.commandTimeout());
    }

    @Override
    public void remember(String objectId, String keyRef, long expiresAtMillis) {
        local.remember(objectId, keyRef, expiresAtMillis);
        try {
            calls.await(calls.start(() -> calls.redis().set(key(objectId), keyRef,
                    SetArgs.Builder.pxAt(expiresAtMillis)), "remembering an object's key"), "remembering an object's key");
            warned.set(false);
        } catch (RedisUnavailableException e) {
            if (warned.compareAndSet(false, true)) {
                LOG.warn("Redis is unreachable: which key created {} is kept on this instance only ({})", objectId,
                        e.getMessage());
            }
        }
    }

    @Override
    public String recall(String objectId, long nowMillis) {
        String known = local.recall(objectId, nowMillis);
        if (known != null) {
            return known;
        }
        try {
            return calls.await(calls.start(() -> calls.redis().get(key(objectId)), "recalling an object's key"),
                    "recalling an object's key");
        } catch (RedisUnavailableException e) {
            return null;
        }
    }

    private String key(String objectId) {
        return config.prefix() + ":affinity:" + objectId;
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        link.close();
    }
}
