package dev.keypool.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keypool.redis.testing.RedisServerExtension;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Which key created an upstream object, shared by every instance on one Redis. */
class RedisAffinityStoreTest {

    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();

    /** Redis expires entries on its own clock: these tests' times are around the real now. */
    private static final long NOW = Instant.now().toEpochMilli();

    private static RedisStoreConfig config(String prefix) {
        return RedisStoreConfig.custom().prefix(prefix).build();
    }

    @Test
    void anObjectRememberedByOneInstance_isRecalledByAnother() {
        try (RedisAffinityStore first = new RedisAffinityStore(REDIS.server().url(), config("affinity-a"));
                RedisAffinityStore second = new RedisAffinityStore(REDIS.server().url(), config("affinity-a"))) {
            first.remember("resp_68af3c1d2e", "openai#1", NOW + 60_000);

            assertThat(second.recall("resp_68af3c1d2e", NOW)).isEqualTo("openai#1");
            assertThat(second.recall("resp_never_made", NOW)).isNull();
        }
    }

    @Test
    void anEntryPastItsExpiry_isForgottenByRedis() {
        try (RedisAffinityStore first = new RedisAffinityStore(REDIS.server().url(), config("affinity-b"));
                RedisAffinityStore second = new RedisAffinityStore(REDIS.server().url(), config("affinity-b"))) {
            first.remember("file-gone", "openai#0", NOW - 1_000);

            assertThat(second.recall("file-gone", NOW)).isNull();
        }
    }

    @Test
    void instancesWithAnotherPrefix_shareNothing() {
        try (RedisAffinityStore first = new RedisAffinityStore(REDIS.server().url(), config("affinity-c"));
                RedisAffinityStore other = new RedisAffinityStore(REDIS.server().url(), config("affinity-d"))) {
            first.remember("cachedContents/abc", "gemini#0", NOW + 60_000);

            assertThat(other.recall("cachedContents/abc", NOW)).isNull();
        }
    }
}
