package dev.keypool.spring;

import dev.keypool.config.ConfigException;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.redis.RedisAffinityStore;
import dev.keypool.redis.RedisStoreConfig;
import dev.keypool.redis.RedisUsageStore;
import dev.keypool.redis.ResilientRedisUsageStore;
import dev.keypool.usage.AffinityStore;
import dev.keypool.usage.InMemoryAffinityStore;
import dev.keypool.usage.UsageStore;
import java.time.Clock;

/**
 * The Redis stores, as the gateway opens them; only loaded when {@code keypool-redis} is on the
 * class path ({@link KeypoolStores} checks first).
 */
final class RedisStores {

    /** As the gateway's {@code KEYPOOL_INSTANCES}: a lone instance that says nothing errs towards too little. */
    static final int DEFAULT_INSTANCES = 2;

    private RedisStores() {
    }

    static UsageStore usage(KeypoolConfig config, Clock clock) {
        return new ResilientRedisUsageStore(
                new RedisUsageStore(config.redisUrl(), RedisStoreConfig.custom().clock(clock).build()),
                instances(config));
    }

    static AffinityStore affinity(KeypoolConfig config, UsageStore store) {
        if (store instanceof ResilientRedisUsageStore redis) {
            return new RedisAffinityStore(config.redisUrl(), redis.redis().config());
        }
        return new InMemoryAffinityStore();
    }

    private static int instances(KeypoolConfig config) {
        String value = config.setting("KEYPOOL_INSTANCES");
        if (value == null || value.isBlank()) {
            return DEFAULT_INSTANCES;
        }
        try {
            int instances = Integer.parseInt(value.trim());
            if (instances > 0) {
                return instances;
            }
        } catch (NumberFormatException e) {
            // reported below, with the variable's name
        }
        throw new ConfigException("KEYPOOL_INSTANCES", "must be a positive integer, was '" + value.trim() + "'");
    }
}
