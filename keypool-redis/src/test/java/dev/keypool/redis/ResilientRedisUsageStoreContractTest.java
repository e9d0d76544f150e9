package dev.keypool.redis;

import dev.keypool.redis.testing.RedisServerExtension;
import dev.keypool.usage.UsageStore;
import dev.keypool.usage.UsageStoreContract;
import org.junit.jupiter.api.extension.RegisterExtension;

/** While Redis answers, the resilient store is the Redis store: the same contract, through the wrapper. */
class ResilientRedisUsageStoreContractTest extends UsageStoreContract {

    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();

    @Override
    protected UsageStore createStore() {
        return new ResilientRedisUsageStore(new RedisUsageStore(REDIS.server().url(), RedisStoreConfig.custom()
                .prefix("resilient-" + System.nanoTime()).bucketMillis(bucketMillis()).build()), 2);
    }
}
