package dev.keypool.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keypool.config.KeyId;
import dev.keypool.config.Provider;
import dev.keypool.config.SecretDigest;
import dev.keypool.config.WindowLimits;
import dev.keypool.failure.FailureKind;
import dev.keypool.redis.testing.RedisServerExtension;
import dev.keypool.testing.ManualClock;
import dev.keypool.usage.DayWindow;
import dev.keypool.usage.KeyState;
import dev.keypool.usage.KeyStatus;
import dev.keypool.usage.ReserveResult;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Instances share a key's windows because it is the same key, not because it has the same index:
 * the store keeps data under the key's fingerprint, made with a secret every instance reads from
 * Redis, and moves data kept by index to the key configured at that index.
 */
class RedisKeyIdentityTest {

    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();

    private static final AtomicInteger PREFIXES = new AtomicInteger();
    private static final String KEY_X = "sk-proj-TEST.redis-identity-xxxxxxxx-keyX";
    private static final String KEY_Y = "sk-proj-TEST.redis-identity-yyyyyyyy-keyY";
    private static final KeyId FIRST = KeyId.of(Provider.OPENAI, 0);
    private static final KeyId SECOND = KeyId.of(Provider.OPENAI, 1);
    private static final WindowLimits LIMITS = WindowLimits.of(1_000, 10_000);

    private static StatefulRedisConnection<String, String> inspection;
    private static RedisCommands<String, String> redis;

    private final ManualClock clock = ManualClock.atNoonish();
    private final List<RedisUsageStore> stores = new ArrayList<>();
    private String prefix;

    @BeforeAll
    static void connect() {
        inspection = REDIS.client().connect();
        redis = inspection.sync();
    }

    @AfterAll
    static void disconnect() {
        inspection.close();
    }

    @BeforeEach
    void choosePrefix() {
        prefix = "identity-" + PREFIXES.incrementAndGet();
    }

    @AfterEach
    void closeStores() {
        stores.forEach(RedisUsageStore::close);
    }

    /** An instance whose {@code .env} lists {@code secrets} in this order. */
    private RedisUsageStore instance(String... secrets) {
        RedisUsageStore store = new RedisUsageStore(REDIS.client(), RedisStoreConfig.custom().prefix(prefix).clock(clock)
                .build());
        Map<KeyId, SecretDigest> keys = new LinkedHashMap<>();
        for (int i = 0; i < secrets.length; i++) {
            keys.put(KeyId.of(Provider.OPENAI, i), SecretDigest.of(Provider.OPENAI, secrets[i]));
        }
        store.register(keys);
        stores.add(store);
        return store;
    }

    private DayWindow day() {
        return DayWindow.at(clock.millis(), ZoneOffset.UTC);
    }

    @Test
    void instancesListingTheKeysInDifferentOrders_shareEachKeysWindows() {
        RedisUsageStore a = instance(KEY_X, KEY_Y);
        RedisUsageStore b = instance(KEY_Y, KEY_X);
        ReserveResult.Granted onX = (ReserveResult.Granted) a.reserve(FIRST, LIMITS, 600, clock.millis(), day(),
                clock.millis() + 60_000);
        a.settle(onX.ticket(), 600, clock.millis(), day());

        // X is b's second key: it sees X's 600, and its first key (Y) has none of them
        assertThat(b.usage(SECOND, clock.millis(), day()).minuteTokens()).isEqualTo(600);
        assertThat(b.usage(FIRST, clock.millis(), day()).minuteTokens()).isZero();
        assertThat(b.reserve(SECOND, LIMITS, 500, clock.millis(), day(), clock.millis() + 60_000))
                .isInstanceOf(ReserveResult.Denied.class);
        assertThat(b.fingerprint(SECOND)).isEqualTo(a.fingerprint(FIRST));

        b.setState(FIRST, KeyState.coolingDown(FailureKind.RATE_LIMITED, "429", clock.millis() + 30_000));
        assertThat(a.state(SECOND).status()).isEqualTo(KeyStatus.COOLING_DOWN);
        assertThat(a.state(FIRST)).isEqualTo(KeyState.ACTIVE);
    }

    @Test
    void fingerprintSecret_isMadeOnceInRedis_andNoKeyIsWrittenAnywhere() {
        RedisUsageStore a = instance(KEY_X, KEY_Y);
        String secret = redis.get(prefix + ":key-id-secret");
        RedisUsageStore b = instance(KEY_X);
        a.reserve(FIRST, LIMITS, 10, clock.millis(), day(), clock.millis() + 60_000);
        a.setState(SECOND, KeyState.deactivated(FailureKind.INVALID_KEY, "invalid", KeyState.NEVER));

        assertThat(secret).hasSize(64).matches("[0-9a-f]+");
        assertThat(redis.get(prefix + ":key-id-secret")).isEqualTo(secret);
        assertThat(b.fingerprint(FIRST)).isEqualTo(a.fingerprint(FIRST));
        for (String name : redis.keys(prefix + ":*")) {
            assertThat(name).doesNotContain("keyX").doesNotContain("keyY");
            String dump = String.valueOf(switch (redis.type(name)) {
                case "hash" -> redis.hgetall(name);
                case "zset" -> redis.zrange(name, 0, -1);
                case "set" -> redis.smembers(name);
                default -> redis.get(name);
            });
            assertThat(dump).as(name).doesNotContain(KEY_X).doesNotContain(KEY_Y);
        }
    }

    @Test
    void dataKeptByIndex_movesOnceToTheKeyConfiguredAtThatIndex() {
        long now = clock.millis();
        long bucket = now / 1_000;
        String epochDay = Long.toString(day().epochDay());
        // As keypool kept it before keys had an identity: openai#0 spent 40 today, openai#1 is cooling.
        redis.hset(prefix + ":{openai:0}:minute", Map.of(Long.toString(bucket), "40", "head", Long.toString(bucket)));
        redis.hset(prefix + ":{openai:0}:day", Map.of("day", epochDay, "tokens", "40", "seq", "3"));
        redis.hset(prefix + ":{openai:1}:state", Map.of("status", "COOLING_DOWN", "kind", "RATE_LIMITED",
                "reason", "429", "until", Long.toString(now + 3_600_000)));
        redis.sadd(prefix + ":keys", "openai:0");

        // The first instance to start decides: index 0 is Y in its .env, index 1 is X.
        RedisUsageStore migrated = instance(KEY_Y, KEY_X);
        RedisUsageStore other = instance(KEY_Y, KEY_X);

        assertThat(migrated.usage(FIRST, now, day()).dayTokens()).isEqualTo(40);
        assertThat(migrated.usage(FIRST, now, day()).minuteTokens()).isEqualTo(40);
        assertThat(other.usage(FIRST, now, day()).dayTokens()).as("moved once, not twice").isEqualTo(40);
        assertThat(migrated.state(SECOND).status()).isEqualTo(KeyStatus.COOLING_DOWN);
        assertThat(redis.keys(prefix + ":{openai:0}:*")).isEmpty();
        assertThat(redis.keys(prefix + ":{openai:1}:*")).isEmpty();
        assertThat(redis.smembers(prefix + ":keys")).doesNotContain("openai:0");

        // A ticket numbered by the old counter does not collide with the key's next one.
        ReserveResult.Granted next = (ReserveResult.Granted) migrated.reserve(FIRST, LIMITS, 1, now, day(), now + 60_000);
        assertThat(redis.hget(prefix + ":{" + migrated.fingerprint(FIRST) + "}:day", "seq")).isEqualTo("4");
        assertThat(next.ticket().key()).isEqualTo(FIRST);
    }
}
