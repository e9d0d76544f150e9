package dev.keypool.redis;

import dev.keypool.redis.testing.RedisServerExtension;
import dev.keypool.usage.UsageStore;
import dev.keypool.usage.UsageStoreConcurrencyContract;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The concurrency contract against a real Redis, with fewer operations: each is a round trip. */
class RedisUsageStoreConcurrencyTest extends UsageStoreConcurrencyContract {

    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();

    private static final AtomicInteger STORES = new AtomicInteger();

    @Override
    protected UsageStore createStore() {
        return new RedisUsageStore(REDIS.client(), RedisStoreConfig.custom().prefix("concurrency-" + STORES.incrementAndGet()).build());
    }

    @Override
    protected int operationsPerThread() {
        return 3_000;
    }
}
