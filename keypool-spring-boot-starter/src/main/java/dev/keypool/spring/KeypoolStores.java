package dev.keypool.spring;

import dev.keypool.config.ConfigException;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Settings;
import dev.keypool.usage.AffinityStore;
import dev.keypool.usage.DurableAffinityStore;
import dev.keypool.usage.DurableUsageStore;
import dev.keypool.usage.InMemoryAffinityStore;
import dev.keypool.usage.InMemoryUsageStore;
import dev.keypool.usage.UsageStore;
import java.time.Clock;
import org.springframework.util.ClassUtils;

/**
 * The stores the gateway would open for the same configuration: Redis (shared by every instance)
 * when {@code keypool.redis-url} is set, the durable embedded store when {@code keypool.data-dir}
 * is, else memory. A Redis URL without {@code keypool-redis} on the class path stops start-up
 * rather than keep the usage in memory and let every instance spend the limits on its own.
 */
final class KeypoolStores {

    private static final String REDIS_STORE = "dev.keypool.redis.RedisUsageStore";

    private KeypoolStores() {
    }

    /** @param classes where the application's classes are found (whether {@code keypool-redis} is there) */
    static UsageStore usage(KeypoolConfig config, Clock clock, ClassLoader classes) {
        if (Settings.text(config, "KEYPOOL_REDIS_URL") != null) {
            requireRedisModule(classes);
            return RedisStores.usage(config, clock);
        }
        if (config.dataDir() != null) {
            return DurableUsageStore.open(config.dataDir(), clock);
        }
        return new InMemoryUsageStore();
    }

    /** Beside the usage: which key created each upstream object (stored responses, files, searches). */
    static AffinityStore affinity(KeypoolConfig config, UsageStore store, Clock clock) {
        if ("redis".equals(store.kind())) {
            return RedisStores.affinity(config, store);
        }
        if (store instanceof DurableUsageStore && config.dataDir() != null) {
            return DurableAffinityStore.open(config.dataDir(), clock.millis());
        }
        return new InMemoryAffinityStore();
    }

    private static void requireRedisModule(ClassLoader classes) {
        if (!ClassUtils.isPresent(REDIS_STORE, classes)) {
            throw new ConfigException("KEYPOOL_REDIS_URL", "keypool.redis-url is set but dev.keypool:keypool-redis is"
                    + " not on the class path; add it, or unset the URL to keep usage in this process");
        }
    }
}
