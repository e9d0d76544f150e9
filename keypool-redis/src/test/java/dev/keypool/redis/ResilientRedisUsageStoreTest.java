package dev.keypool.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.keypool.config.KeyId;
import dev.keypool.config.Provider;
import dev.keypool.config.WindowLimits;
import dev.keypool.failure.FailureKind;
import dev.keypool.redis.testing.RedisServer;
import dev.keypool.testing.ManualClock;
import dev.keypool.usage.DayWindow;
import dev.keypool.usage.DenialReason;
import dev.keypool.usage.KeyState;
import dev.keypool.usage.KeyStatus;
import dev.keypool.usage.ReserveResult;
import dev.keypool.usage.UsageStoreContract;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Two instances' stores on a Redis of this test's own, which it stops, restarts (empty, as a Redis
 * without persistence comes back), pauses ({@code SIGSTOP}, a hung Redis) and resumes in the
 * middle of traffic: no call fails for lack of Redis, each instance admits at most its share
 * meanwhile, the instances come back in step, and a Redis that lost its data does not reopen
 * every window. Time is the manual clock's; the stores' maintenance ({@code releaseExpired}) is
 * called by the test, as the key manager calls it every second.
 */
class ResilientRedisUsageStoreTest {

    static final KeyId KEY = KeyId.of(Provider.OPENAI, 0);
    static final WindowLimits LIMITS = WindowLimits.of(1_000, 10_000);
    static final Duration TIMEOUT = Duration.ofMillis(500);

    private final ManualClock clock = ManualClock.atNoonish();
    private final List<ResilientRedisUsageStore> stores = new ArrayList<>();
    private RedisServer server;
    private ResilientRedisUsageStore a;
    private ResilientRedisUsageStore b;

    @BeforeEach
    void start() {
        server = RedisServer.start();
        a = instance();
        b = instance();
        tick();
    }

    @AfterEach
    void stop() {
        if (server.isRunning()) {
            server.resume();
        }
        stores.forEach(ResilientRedisUsageStore::close);
        server.close();
    }

    private ResilientRedisUsageStore instance() {
        ResilientRedisUsageStore store = new ResilientRedisUsageStore(new RedisUsageStore(server.url(),
                RedisStoreConfig.custom().clock(clock).commandTimeout(TIMEOUT).build()), 2);
        store.register(UsageStoreContract.registeredKeys(KEY));
        stores.add(store);
        return store;
    }

    private DayWindow day() {
        return DayWindow.at(clock.millis(), ZoneOffset.UTC);
    }

    private ReserveResult reserve(ResilientRedisUsageStore store, WindowLimits limits, long tokens) {
        return store.reserve(KEY, limits, tokens, clock.millis(), day(), clock.millis() + 60_000);
    }

    /** One second of both instances' maintenance: heartbeats on Redis, probes while degraded. */
    private void tick(ResilientRedisUsageStore... which) {
        clock.advance(Duration.ofMillis(ResilientRedisUsageStore.PROBE_MILLIS));
        for (ResilientRedisUsageStore store : which.length == 0 ? List.of(a, b) : List.of(which)) {
            store.releaseExpired(clock.millis(), day());
        }
    }

    /** Reserves and settles {@code tokens} at a time until refused; returns the tokens admitted. */
    private long spend(ResilientRedisUsageStore store, long tokens) {
        long admitted = 0;
        for (int i = 0; i < 100; i++) {
            ReserveResult result = reserve(store, LIMITS, tokens);
            if (!(result instanceof ReserveResult.Granted granted)) {
                assertThat(((ReserveResult.Denied) result).reason()).isEqualTo(DenialReason.MINUTE_LIMIT);
                return admitted;
            }
            store.settle(granted.ticket(), tokens, clock.millis(), day());
            admitted += tokens;
        }
        throw new AssertionError("never refused");
    }

    /** How many requests one instance admitted in a row, and the refusal that ended them. */
    private record Admitted(int requests, ReserveResult.Denied refusal) {
    }

    /** Reserves and settles requests of {@code tokens} each until refused. */
    private Admitted admit(ResilientRedisUsageStore store, WindowLimits limits, long tokens) {
        for (int i = 0; i < 100; i++) {
            ReserveResult result = reserve(store, limits, tokens);
            if (!(result instanceof ReserveResult.Granted granted)) {
                return new Admitted(i, (ReserveResult.Denied) result);
            }
            store.settle(granted.ticket(), tokens, clock.millis(), day());
        }
        throw new AssertionError("never refused");
    }

    private void awaitBack(ResilientRedisUsageStore... which) {
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            tick(which);
            return List.of(which).stream().noneMatch(ResilientRedisUsageStore::degraded);
        });
    }

    @Test
    void redisStoppedMidTraffic_eachInstanceSpendsOnlyItsShare_andRedisGetsTheOutagesUsage() {
        // Before the outage: 300 tokens through Redis, which both instances have seen.
        for (ResilientRedisUsageStore store : List.of(a, b, a)) {
            ReserveResult.Granted granted = (ReserveResult.Granted) reserve(store, LIMITS, 100);
            store.settle(granted.ticket(), 100, clock.millis(), day());
        }
        assertThat(a.usage(KEY, clock.millis(), day()).dayTokens()).isEqualTo(300);
        assertThat(b.usage(KEY, clock.millis(), day()).dayTokens()).isEqualTo(300);

        server.stop();

        // Each instance takes half of what was left of the minute, but no more than half the limit
        // less what it was granted itself (a 200, b 100), and no call throws.
        long spentByA = spend(a, 50);
        long spentByB = spend(b, 50);
        assertThat(a.degraded()).isTrue();
        assertThat(b.degraded()).isTrue();
        assertThat(spentByA).isEqualTo(1_000 / 2 - 200);
        assertThat(spentByB).isEqualTo((1_000 - 300) / 2 / 50 * 50);
        assertThat(300 + spentByA + spentByB).isLessThanOrEqualTo(LIMITS.perMinute());
        assertThat(a.pendingCount()).isZero();

        server.restart();
        awaitBack(a, b);

        // Redis came back empty: the day restarts from what the instances last saw (300), plus the outage's usage.
        assertThat(a.redis().usage(KEY, clock.millis(), day()).dayTokens()).isEqualTo(300 + spentByA + spentByB);
        assertThat(b.usage(KEY, clock.millis(), day()).dayTokens()).isEqualTo(300 + spentByA + spentByB);
    }

    /**
     * Issue 11's fault suite: Redis killed (or stopped) right after a burst of reservations on two
     * gateways, and they admitted half as much again as a limit (697 tokens a day against 600): each
     * took its share from its last usage answer, which held neither its own latest grants nor its
     * peer's.
     */
    @Test
    void outageRightAfterReservations_theyCountInTheShares() {
        assertThat(a.usage(KEY, clock.millis(), day()).dayTokens()).isZero();
        for (int i = 0; i < 3; i++) {
            assertThat(reserve(b, LIMITS, 100)).isInstanceOf(ReserveResult.Granted.class);
        }
        assertThat(reserve(a, LIMITS, 100)).isInstanceOf(ReserveResult.Granted.class);

        server.stop();

        // a knows nothing of b's 300: it takes at most half the limit less its own 100; b half less its 300.
        long spentByA = spend(a, 50);
        long spentByB = spend(b, 50);
        assertThat(a.degraded()).isTrue();
        assertThat(spentByA).isEqualTo(1_000 / 2 - 100);
        assertThat(spentByB).isEqualTo(1_000 / 2 - 300);
        assertThat(400 + spentByA + spentByB).isLessThanOrEqualTo(LIMITS.perMinute());
    }

    @Test
    void settlementOfARedisTicketDuringTheOutage_doesNotFailAndIsReplayedWhenRedisReturns() {
        ReserveResult.Granted granted = (ReserveResult.Granted) reserve(a, LIMITS, 400);
        server.stop();
        assertThat(a.settle(granted.ticket(), 150, clock.millis(), day())).isTrue();
        tick(a);
        assertThat(a.degraded()).isTrue();

        server.restart();
        awaitBack(a);

        // The ticket went with Redis's data: the replayed settlement refunds nothing, and the day
        // restarts from the 400 this instance last saw.
        assertThat(a.pendingCount()).isZero();
        assertThat(a.usage(KEY, clock.millis(), day()).dayTokens()).isEqualTo(400);
    }

    @Test
    void keyDeactivatedInRedis_staysOutDuringTheOutage() {
        a.setState(KEY, KeyState.deactivated(FailureKind.INVALID_KEY, "invalid", KeyState.NEVER));
        assertThat(a.usage(KEY, clock.millis(), day()).state().status()).isEqualTo(KeyStatus.DEACTIVATED);
        server.stop();

        ReserveResult result = reserve(a, LIMITS, 10);

        assertThat(a.degraded()).isTrue();
        assertThat(result).isInstanceOfSatisfying(ReserveResult.Denied.class,
                denied -> assertThat(denied.reason()).isEqualTo(DenialReason.DEACTIVATED));
    }

    /**
     * Issue 11: a Redis restart without persistence silently reopened every window: the provider
     * saw 1,200 tokens in 22 s against 600.
     */
    @Test
    void redisRestartedEmpty_countsEveryMinuteAsFullForAMinute_insteadOfReopeningIt() {
        WindowLimits limits = WindowLimits.of(600, 10_000);
        ReserveResult.Granted granted = (ReserveResult.Granted) reserve(a, limits, 600);
        a.settle(granted.ticket(), 600, clock.millis(), day());

        server.restart();
        clock.advance(Duration.ofSeconds(5));

        await().atMost(Duration.ofSeconds(10)).ignoreExceptions().until(() -> {
            tick();
            return a.redis().isConnected() && b.redis().isConnected() && !a.degraded() && !b.degraded();
        });
        for (ResilientRedisUsageStore store : List.of(b, a)) {
            ReserveResult refused = reserve(store, limits, 300);
            assertThat(refused).as("the lost minute counts as spent").isInstanceOfSatisfying(ReserveResult.Denied.class,
                    denied -> assertThat(denied.reason()).isEqualTo(DenialReason.MINUTE_LIMIT));
        }
        assertThat(a.usage(KEY, clock.millis(), day()).minuteFullUntilMillis()).isGreaterThan(clock.millis());
        assertThat(a.usage(KEY, clock.millis(), day()).dayTokens()).isGreaterThanOrEqualTo(600);

        clock.advance(Duration.ofSeconds(61));
        assertThat(reserve(b, limits, 300)).isInstanceOf(ReserveResult.Granted.class);
    }

    /** Issue 11: Redis down at start-up made the gateway exit, so a gateway restarted during an outage stayed down. */
    @Test
    void redisDownAtStart_startsDegraded_holdsTheMinute_dayLimitedKeysWait_andComesBackWhenRedisAnswers() {
        server.stop();
        ResilientRedisUsageStore late = instance();

        assertThat(late.degraded()).isTrue();
        assertThat(late.health().degraded()).isTrue();
        assertThat(late.health().problem()).contains("since it started");
        WindowLimits minuteOnly = WindowLimits.of(1_000, WindowLimits.UNLIMITED);
        assertThat(((ReserveResult.Denied) reserve(late, minuteOnly, 100)).reason())
                .as("it may be a restart of an instance that spent its share a moment ago")
                .isEqualTo(DenialReason.MINUTE_LIMIT);
        assertThat(((ReserveResult.Denied) reserve(late, LIMITS, 100)).reason()).isEqualTo(DenialReason.DAY_LIMIT);
        clock.advance(Duration.ofSeconds(61));
        assertThat(reserve(late, minuteOnly, 100)).isInstanceOf(ReserveResult.Granted.class);
        assertThat(reserve(late, minuteOnly, 500)).as("at most its share").isInstanceOf(ReserveResult.Denied.class);

        server.restart();
        awaitBack(late);

        assertThat(late.fingerprint(KEY)).isNotNull();
        assertThat(reserve(late, LIMITS, 100)).isInstanceOf(ReserveResult.Granted.class);
    }

    /**
     * Issue 11: a hung Redis (SIGSTOP for 15 s) made every request wait the command timeout (32
     * requests a second for the whole outage), and "Redis is reachable again" was declared every
     * second without a round trip.
     */
    @Test
    void hungRedis_failsFastIntoDegradedMode_andComesBackOnlyAfterARealAnswer() throws Exception {
        server.pause();
        ExecutorService callers = Executors.newFixedThreadPool(8);
        try {
            long started = System.nanoTime();
            List<Future<ReserveResult>> calls = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                calls.add(callers.submit(() -> reserve(a, LIMITS, 10)));
            }
            for (Future<ReserveResult> call : calls) {
                assertThat(call.get()).isNotNull();
            }
            Duration took = Duration.ofNanos(System.nanoTime() - started);

            // 40 calls on 8 threads would take 5 timeouts if each waited for Redis; the hang costs one.
            assertThat(took).isLessThan(TIMEOUT.multipliedBy(3));
            assertThat(a.degraded()).isTrue();
            for (int i = 0; i < 3; i++) {
                tick(a);
                assertThat(a.degraded()).as("no answer, no return").isTrue();
            }
        } finally {
            callers.shutdownNow();
        }

        server.resume();
        awaitBack(a);
        assertThat(a.health().degraded()).isFalse();
    }

    /**
     * Issue 11: after Redis came back, the first instance to reconcile served the full limits from
     * Redis before the second had added its local usage: 900 tokens in 16 s against 600.
     */
    @Test
    void afterAnOutage_theFirstInstanceBack_holdsBackTheShareOfThePeerNotBackYet() {
        WindowLimits limits = WindowLimits.of(600, 100_000);
        // A hung Redis keeps its data: the outage is the only thing to recover from. The instances
        // find it hung in their maintenance (so no reserve of theirs waits in Redis's queue).
        server.pause();
        tick();
        for (ResilientRedisUsageStore store : List.of(a, b)) {
            assertThat(store.degraded()).isTrue();
            ReserveResult.Granted granted = (ReserveResult.Granted) reserve(store, limits, 300);
            store.settle(granted.ticket(), 300, clock.millis(), day());
            assertThat(reserve(store, limits, 1)).as("its share is spent").isInstanceOf(ReserveResult.Denied.class);
        }

        server.resume();
        awaitBack(a);
        assertThat(b.degraded()).as("b has not tried Redis yet").isTrue();

        // Redis has a's 300; b's 300 are only in b, which may still spend its share: a holds it back.
        assertThat(a.heldBackPeers()).isEqualTo(1);
        assertThat(((ReserveResult.Denied) reserve(a, limits, 100)).reason()).isEqualTo(DenialReason.MINUTE_LIMIT);

        awaitBack(b);
        tick(a);
        assertThat(a.heldBackPeers()).isZero();
        assertThat(a.usage(KEY, clock.millis(), day()).minuteTokens()).isEqualTo(600);
        assertThat(((ReserveResult.Denied) reserve(a, limits, 100)).reason()).isEqualTo(DenialReason.MINUTE_LIMIT);
    }

    // ---- request limits: shared during an outage, handed back to Redis, the same as tokens ----------

    @Test
    void requestMinuteLimit_duringAnOutage_eachInstanceAdmitsItsHalf_andTheRetryMomentIsTrue() {
        WindowLimits limits = LIMITS.withRequests(6, 1_000);
        server.stop();

        Admitted byA = admit(a, limits, 10);
        Admitted byB = admit(b, limits, 10);

        assertThat(a.degraded()).isTrue();
        assertThat(byA.requests()).isEqualTo(3);
        assertThat(byB.requests()).isEqualTo(3);
        assertThat(byA.refusal().reason()).isEqualTo(DenialReason.REQUEST_MINUTE_LIMIT);
        long retryAt = byA.refusal().retryAtMillis();
        assertThat(retryAt).isGreaterThan(clock.millis()).isLessThanOrEqualTo(clock.millis() + 61_000);

        // Not before the moment it named, and at that moment again at most its share.
        clock.set(java.time.Instant.ofEpochMilli(retryAt - 1));
        assertThat(reserve(a, limits, 10)).isInstanceOf(ReserveResult.Denied.class);
        clock.set(java.time.Instant.ofEpochMilli(retryAt));
        assertThat(admit(a, limits, 10).requests()).isEqualTo(3);
        assertThat(a.degraded()).isTrue();
    }

    @Test
    void requestMinuteLimit_duringAnOutage_theTokenShareStillApplies() {
        WindowLimits limits = LIMITS.withRequests(6, 1_000);
        server.stop();

        // 300 tokens fit once in a's 500 tokens; its request share (3) is not what stops it.
        Admitted large = admit(a, limits, 300);
        assertThat(large.requests()).isEqualTo(1);
        assertThat(large.refusal().reason()).isEqualTo(DenialReason.MINUTE_LIMIT);
        // Small requests fill the request share then: 3 requests in all, 320 tokens.
        Admitted small = admit(a, limits, 10);
        assertThat(small.requests()).isEqualTo(2);
        assertThat(small.refusal().reason()).isEqualTo(DenialReason.REQUEST_MINUTE_LIMIT);
    }

    @Test
    void requestMinuteLimit_afterAHungRedis_theOutagesRequestsAreInRedis_andTheFirstBackHoldsBackThePeersShare() {
        WindowLimits limits = WindowLimits.of(100_000, 1_000_000).withRequests(6, 1_000);
        server.pause();
        tick();
        assertThat(a.degraded()).isTrue();
        assertThat(b.degraded()).isTrue();
        assertThat(admit(a, limits, 10).requests()).isEqualTo(3);
        // b's last one is still pending when Redis returns: it counts as a request all the same.
        for (int i = 0; i < 2; i++) {
            ReserveResult.Granted granted = (ReserveResult.Granted) reserve(b, limits, 10);
            b.settle(granted.ticket(), 10, clock.millis(), day());
        }
        ReserveResult.Granted pending = (ReserveResult.Granted) reserve(b, limits, 10);
        assertThat(((ReserveResult.Denied) reserve(b, limits, 10)).reason()).isEqualTo(DenialReason.REQUEST_MINUTE_LIMIT);

        server.resume();
        awaitBack(a);
        assertThat(b.degraded()).as("b has not tried Redis yet").isTrue();

        // Redis has a's 3; b's are only in b, which may still spend its share: a holds it back.
        assertThat(a.heldBackPeers()).isEqualTo(1);
        assertThat(a.usage(KEY, clock.millis(), day()).minuteRequests()).isEqualTo(3);
        assertThat(((ReserveResult.Denied) reserve(a, limits, 10)).reason()).isEqualTo(DenialReason.REQUEST_MINUTE_LIMIT);

        awaitBack(b);
        tick(a);
        assertThat(a.heldBackPeers()).isZero();
        assertThat(a.usage(KEY, clock.millis(), day()).minuteRequests()).isEqualTo(3 + 3);
        assertThat(a.usage(KEY, clock.millis(), day()).dayRequests()).isEqualTo(3 + 3);
        assertThat(((ReserveResult.Denied) reserve(a, limits, 10)).reason()).isEqualTo(DenialReason.REQUEST_MINUTE_LIMIT);
        assertThat(b.settle(pending.ticket(), 10, clock.millis(), day())).isTrue();
    }

    @Test
    void requestDayLimit_duringAnOutage_eachInstanceTakesHalfOfWhatWasLeft_andRedisBackEmptyGetsTheOutagesRequests() {
        WindowLimits limits = LIMITS.withRequests(100, 20);
        // Before the outage: 3 requests through Redis, which both instances have seen.
        for (ResilientRedisUsageStore store : List.of(a, b, a)) {
            ReserveResult.Granted granted = (ReserveResult.Granted) reserve(store, limits, 10);
            store.settle(granted.ticket(), 10, clock.millis(), day());
        }
        assertThat(a.usage(KEY, clock.millis(), day()).dayRequests()).isEqualTo(3);
        assertThat(b.usage(KEY, clock.millis(), day()).dayRequests()).isEqualTo(3);

        server.stop();

        // Each takes half of the 17 left, rounded down, and no more than half the limit less its own (a 2, b 1).
        Admitted byA = admit(a, limits, 10);
        Admitted byB = admit(b, limits, 10);
        assertThat(byA.requests()).isEqualTo(8);
        assertThat(byB.requests()).isEqualTo(8);
        for (Admitted admitted : List.of(byA, byB)) {
            assertThat(admitted.refusal().reason()).isEqualTo(DenialReason.REQUEST_DAY_LIMIT);
            assertThat(admitted.refusal().retryAtMillis()).isEqualTo(day().nextStartMillis());
        }
        // A new minute does not reopen the day.
        clock.advance(Duration.ofSeconds(61));
        assertThat(((ReserveResult.Denied) reserve(a, limits, 10)).reason()).isEqualTo(DenialReason.REQUEST_DAY_LIMIT);

        server.restart();
        awaitBack(a, b);
        tick();

        // Redis came back empty: the day restarts from what the instances last saw (3), plus the outage's requests.
        assertThat(a.heldBackPeers()).isZero();
        assertThat(b.heldBackPeers()).isZero();
        assertThat(a.usage(KEY, clock.millis(), day()).dayRequests()).isEqualTo(3 + 8 + 8);
        assertThat(b.usage(KEY, clock.millis(), day()).dayRequests()).isEqualTo(3 + 8 + 8);
        clock.advance(Duration.ofSeconds(61));
        assertThat(reserve(b, limits, 10)).as("the last request of the day").isInstanceOf(ReserveResult.Granted.class);
        assertThat(((ReserveResult.Denied) reserve(a, limits, 10)).reason()).isEqualTo(DenialReason.REQUEST_DAY_LIMIT);
    }

    /** A share is the limit divided by the instances rounded down, for requests as for tokens: together they never pass it. */
    @Test
    void limitsThatDoNotDivideEvenly_roundTheShareDown_forRequestsAsForTokens() {
        WindowLimits fiveRequests = WindowLimits.of(100_000, 1_000_000).withRequests(5, 1_000);
        WindowLimits fiveTokens = WindowLimits.of(5, 1_000_000);
        KeyId other = KeyId.of(Provider.OPENAI, 1);
        for (ResilientRedisUsageStore store : List.of(a, b)) {
            store.register(UsageStoreContract.registeredKeys(other));
        }
        server.stop();

        for (ResilientRedisUsageStore store : List.of(a, b)) {
            Admitted requests = admit(store, fiveRequests, 10);
            assertThat(requests.requests()).isEqualTo(2);
            assertThat(requests.refusal().reason()).isEqualTo(DenialReason.REQUEST_MINUTE_LIMIT);
            int tokens = 0;
            while (store.reserve(other, fiveTokens, 1, clock.millis(), day(), clock.millis() + 60_000)
                    instanceof ReserveResult.Granted) {
                tokens++;
            }
            assertThat(tokens).isEqualTo(2);
        }
    }

    /** A limit smaller than the instances gives no share: the key waits for Redis, for requests as for tokens. */
    @Test
    void limitBelowTheInstances_givesNoShare_theKeyWaitsForRedis() {
        server.stop();

        ReserveResult requests = reserve(a, WindowLimits.of(100_000, 1_000_000).withRequests(1, 1_000), 10);
        ReserveResult tokens = reserve(a, WindowLimits.of(1, 1_000_000), 1);

        assertThat(a.degraded()).isTrue();
        assertThat(requests).isInstanceOfSatisfying(ReserveResult.Denied.class, denied -> {
            assertThat(denied.reason()).isEqualTo(DenialReason.REQUEST_MINUTE_LIMIT);
            assertThat(denied.retryAtMillis()).isGreaterThan(clock.millis());
        });
        assertThat(tokens).isInstanceOfSatisfying(ReserveResult.Denied.class, denied -> {
            assertThat(denied.reason()).isEqualTo(DenialReason.MINUTE_LIMIT);
            assertThat(denied.retryAtMillis()).isGreaterThan(clock.millis());
        });
    }
}
