package dev.keypool.spring;

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

    private RedisStores() {
    }

    static UsageStore usage(KeypoolConfig config, Clock clock) {
        return new ResilientRedisUsageStore(
                new RedisUsageStore(RedisStoreConfig.url(config), RedisStoreConfig.custom().clock(clock).build()),
                ResilientRedisUsageStore.instances(config));
    }

    static AffinityStore affinity(KeypoolConfig config, UsageStore store) {
        if (store instanceof ResilientRedisUsageStore redis) {
            return new RedisAffinityStore(RedisStoreConfig.url(config), redis.redis().config());
        }
        return new InMemoryAffinityStore();
    }
}
