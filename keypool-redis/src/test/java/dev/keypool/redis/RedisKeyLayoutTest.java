package dev.keypool.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keypool.config.KeyId;
import dev.keypool.config.Provider;
import dev.keypool.config.WindowLimits;
import dev.keypool.failure.FailureKind;
import dev.keypool.redis.testing.RedisServerExtension;
import dev.keypool.testing.ManualClock;
import dev.keypool.usage.DayWindow;
import dev.keypool.usage.DenialReason;
import dev.keypool.usage.KeyState;
import dev.keypool.usage.KeyStatus;
import dev.keypool.usage.KeyUsage;
import dev.keypool.usage.ReserveResult;
import dev.keypool.usage.Ticket;
import dev.keypool.usage.UsageStoreContract;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.cluster.SlotHash;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Where the store puts a key's data in Redis, and that all of it goes away by itself. */
class RedisKeyLayoutTest {

    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();

    private static final AtomicInteger STORES = new AtomicInteger();
    private static final KeyId KEY = KeyId.of(Provider.OPENAI, 3);
    private static final long SECOND = 1_000;

    private static RedisClient client;
    private static StatefulRedisConnection<String, String> inspection;
    private static RedisCommands<String, String> redis;

    private final ManualClock clock = ManualClock.atNoonish();
    private String prefix;
    private RedisUsageStore store;

    @BeforeAll
    static void connect() {
        client = RedisClient.create(REDIS.server().url());
        inspection = client.connect();
        redis = inspection.sync();
    }

    @AfterAll
    static void disconnect() {
        inspection.close();
        client.shutdown();
    }

    @BeforeEach
    void createStore() {
        prefix = "layout-" + STORES.incrementAndGet();
        store = new RedisUsageStore(client, RedisStoreConfig.custom().prefix(prefix).clock(clock).build());
        store.register(UsageStoreContract.registeredKeys(KEY));
    }

    @AfterEach
    void closeStore() {
        store.close();
    }

    /** {@code prefix:{openai:<fingerprint>}:}: where the key's data is. */
    private String base() {
        return prefix + ":{" + store.fingerprint(KEY) + "}:";
    }

    private Ticket reserve(long tokens, long expires) {
        long now = clock.millis();
        ReserveResult result = store.reserve(KEY, WindowLimits.of(1_000, 10_000), tokens, now,
                DayWindow.at(now, ZoneOffset.UTC), expires);
        assertThat(result).isInstanceOf(ReserveResult.Granted.class);
        return ((ReserveResult.Granted) result).ticket();
    }

    /** Reserves and settles {@code tokens} at once. */
    private Ticket spend(long tokens) {
        Ticket ticket = reserve(tokens, clock.millis() + 30 * SECOND);
        store.settle(ticket, tokens, clock.millis(), DayWindow.at(clock.millis(), ZoneOffset.UTC));
        return ticket;
    }

    @Test
    void reserve_writesTheKeysDataUnderOneHashTag_andNamesTheKeyInTheRegistry() {
        spend(100);
        reserve(100, clock.millis() + 30 * SECOND);

        assertThat(redis.keys(prefix + ":*")).containsExactlyInAnyOrder(
                base() + "minute", base() + "day", base() + "pending", base() + "meta",
                prefix + ":keys", prefix + ":key-id-secret");
        assertThat(redis.smembers(prefix + ":keys")).containsExactly(store.fingerprint(KEY).toString());
        int slot = SlotHash.getSlot(base() + "minute");
        assertThat(SlotHash.getSlot(base() + "day")).isEqualTo(slot);
        assertThat(SlotHash.getSlot(base() + "pending")).isEqualTo(slot);
        assertThat(SlotHash.getSlot(base() + "state")).isEqualTo(slot);
    }

    @Test
    void reserve_holdsTheTokensInTheDayHash_andSettleChargesThemInTheBucketOfTheSettle() {
        clock.advanceMillis(250);
        long now = clock.millis();
        Ticket ticket = reserve(100, now + 30 * SECOND);

        assertThat(redis.exists(base() + "minute")).as("held tokens are in no bucket").isZero();
        assertThat(redis.hgetall(base() + "day"))
                .containsEntry("day", Long.toString(ticket.epochDay()))
                .containsEntry("tokens", "0")
                .containsEntry("held", "100");
        assertThat(redis.zrangeWithScores(base() + "pending", 0, -1))
                .singleElement()
                .satisfies(member -> assertThat(member.getScore()).isEqualTo(now + 30 * SECOND));

        clock.advanceMillis(2_500);
        store.settle(ticket, 80, clock.millis(), DayWindow.at(clock.millis(), ZoneOffset.UTC));

        long settleBucket = Math.floorDiv(clock.millis(), 1_000);
        assertThat(redis.hgetall(base() + "minute"))
                .containsOnly(Map.entry("head", Long.toString(settleBucket)), Map.entry(Long.toString(settleBucket), "80"),
                        Map.entry("r" + settleBucket, "1"));
        assertThat(redis.hgetall(base() + "day")).containsEntry("tokens", "80").containsEntry("held", "0")
                .containsEntry("requests", "1");
        assertThat(redis.zcard(base() + "pending")).isZero();
    }

    /** Data written before keys had request limits has no request fields: it reads as no requests, and serves on. */
    @Test
    void dataWrittenBeforeRequestLimits_readsAsNoRequests_andTakesRequestLimitsFromThere() {
        spend(100);
        long bucket = Math.floorDiv(clock.millis(), 1_000);
        redis.hdel(base() + "minute", "r" + bucket);
        redis.hdel(base() + "day", "requests");

        long now = clock.millis();
        KeyUsage usage = store.usage(KEY, now, DayWindow.at(now, ZoneOffset.UTC));
        assertThat(usage.minuteTokens()).isEqualTo(100);
        assertThat(usage.dayTokens()).isEqualTo(100);
        assertThat(usage.minuteRequests()).isZero();
        assertThat(usage.dayRequests()).isZero();
        WindowLimits oneRequest = WindowLimits.ofRequests(1, 1);
        assertThat(store.reserve(KEY, oneRequest, 1, now, DayWindow.at(now, ZoneOffset.UTC), now + 30 * SECOND))
                .isInstanceOf(ReserveResult.Granted.class);
        assertThat(store.reserve(KEY, oneRequest, 1, now, DayWindow.at(now, ZoneOffset.UTC), now + 30 * SECOND))
                .isEqualTo(new ReserveResult.Denied(DenialReason.REQUEST_DAY_LIMIT,
                        DayWindow.at(now, ZoneOffset.UTC).nextStartMillis()));
    }

    @Test
    void minuteData_expiresAFewSecondsAfterItsNewestBucketLeavesTheWindow() {
        spend(100);

        assertThat(redis.pttl(base() + "minute"))
                .isBetween(60_000L, 61_000L + RedisUsageStore.MINUTE_SLACK_MILLIS);
    }

    @Test
    void dayCounterAndPendingTickets_expireTwoDaysAfterTheLastReservation() {
        reserve(100, clock.millis() + 30 * SECOND);

        assertThat(redis.pttl(base() + "day"))
                .isBetween(RedisUsageStore.DAY_TTL_MILLIS - 10_000, RedisUsageStore.DAY_TTL_MILLIS);
        assertThat(redis.pttl(base() + "pending"))
                .isBetween(RedisUsageStore.DAY_TTL_MILLIS - 10_000, RedisUsageStore.DAY_TTL_MILLIS);
    }

    @Test
    void staleBuckets_areDeletedByTheNextReservation() {
        spend(100);
        clock.advance(Duration.ofMinutes(2));
        spend(50);

        reserve(50, clock.millis() + 30 * SECOND);

        long bucket = Math.floorDiv(clock.millis(), 1_000);
        assertThat(redis.hgetall(base() + "minute")).containsOnlyKeys("head", Long.toString(bucket), "r" + bucket);
    }

    @Test
    void coolingState_isAHashThatExpiresAnHourAfterTheRestEnds() {
        store.setState(KEY, KeyState.coolingDown(FailureKind.RATE_LIMITED, "429 from upstream",
                clock.millis() + 30 * SECOND));

        assertThat(redis.hgetall(base() + "state")).containsOnly(
                Map.entry("status", "COOLING_DOWN"), Map.entry("kind", "RATE_LIMITED"),
                Map.entry("reason", "429 from upstream"),
                Map.entry("until", Long.toString(clock.millis() + 30 * SECOND)));
        assertThat(redis.pttl(base() + "state"))
                .isBetween(RedisUsageStore.STATE_GRACE_MILLIS + 20 * SECOND,
                        RedisUsageStore.STATE_GRACE_MILLIS + 30 * SECOND);
    }

    @Test
    void deactivationUntilAReset_neverExpires() {
        store.setState(KEY, KeyState.deactivated(FailureKind.INVALID_KEY, "invalid", KeyState.NEVER));

        assertThat(redis.pttl(base() + "state")).isEqualTo(-1);
    }

    @Test
    void activeState_isNoHashAtAll() {
        store.setState(KEY, KeyState.deactivated(null, "by an admin", KeyState.NEVER));

        store.setState(KEY, KeyState.ACTIVE);

        assertThat(redis.exists(base() + "state")).isZero();
        assertThat(store.state(KEY)).isEqualTo(KeyState.ACTIVE);
    }

    @Test
    void stateWithNullFields_roundTripsExactly() {
        KeyState bare = new KeyState(KeyStatus.DEACTIVATED, null, null, 1234);

        store.setState(KEY, bare);

        assertThat(store.state(KEY)).isEqualTo(bare);
        assertThat(store.compareAndSetState(KEY, new KeyState(bare.status(), null, "", 1234), KeyState.ACTIVE))
                .as("an empty reason is not a missing one").isFalse();
        assertThat(store.compareAndSetState(KEY, bare, KeyState.ACTIVE)).isTrue();
    }

    @Test
    void register_aKeyIndexBeyondWhatTicketIdsCanName_isRefused() {
        KeyId huge = KeyId.of(Provider.GEMINI, 1 << 19);

        assertThatThrownBy(() -> store.register(UsageStoreContract.registeredKeys(huge)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("gemini#524288");
    }
}
