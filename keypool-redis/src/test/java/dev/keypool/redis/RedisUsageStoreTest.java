package dev.keypool.redis;

import dev.keypool.redis.testing.RedisServerExtension;
import dev.keypool.usage.UsageStore;
import dev.keypool.usage.UsageStoreContract;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The store contract, against a real Redis; each test gets an empty store by its own key prefix. */
class RedisUsageStoreTest extends UsageStoreContract {

    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();

    private static final AtomicInteger STORES = new AtomicInteger();

    static RedisUsageStore newStore(long bucketMillis) {
        return new RedisUsageStore(REDIS.client(), RedisStoreConfig.custom()
                .prefix("contract-" + STORES.incrementAndGet()).bucketMillis(bucketMillis).build());
    }

    @Override
    protected UsageStore createStore() {
        return newStore(bucketMillis());
    }

    /** The same contract with tenth-of-a-second buckets, which Redis keeps as 601 hash fields. */
    @Nested
    class WithTenthOfASecondBuckets extends UsageStoreContract {

        @Override
        protected UsageStore createStore() {
            return newStore(100);
        }

        @Override
        protected long bucketMillis() {
            return 100;
        }
    }
}
