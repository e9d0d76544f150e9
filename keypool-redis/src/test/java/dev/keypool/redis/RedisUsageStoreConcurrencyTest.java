package dev.keypool.redis;

import dev.keypool.redis.testing.RedisServerExtension;
import dev.keypool.usage.UsageStore;
import dev.keypool.usage.UsageStoreConcurrencyContract;
import io.lettuce.core.RedisClient;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The concurrency contract against a real Redis, with fewer operations: each is a round trip. */
class RedisUsageStoreConcurrencyTest extends UsageStoreConcurrencyContract {

    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();

    private static final AtomicInteger STORES = new AtomicInteger();
    private static RedisClient client;

    @BeforeAll
    static void connect() {
        client = RedisClient.create(REDIS.server().url());
    }

    @AfterAll
    static void disconnect() {
        client.shutdown();
    }

    @Override
    protected UsageStore createStore() {
        return new RedisUsageStore(client, RedisStoreConfig.custom().prefix("concurrency-" + STORES.incrementAndGet()).build());
    }

    @Override
    protected int operationsPerThread() {
        return 3_000;
    }
}
