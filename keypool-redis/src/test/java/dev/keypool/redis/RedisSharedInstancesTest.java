package dev.keypool.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keypool.config.KeyId;
import dev.keypool.config.Provider;
import dev.keypool.config.WindowLimits;
import dev.keypool.failure.FailureKind;
import dev.keypool.redis.testing.RedisServerExtension;
import dev.keypool.testing.AdmissionLedger;
import dev.keypool.testing.ClockSteps;
import dev.keypool.testing.ManualClock;
import dev.keypool.usage.DayWindow;
import dev.keypool.usage.DenialReason;
import dev.keypool.usage.KeyState;
import dev.keypool.usage.KeyUsage;
import dev.keypool.usage.ReserveResult;
import dev.keypool.usage.Ticket;
import dev.keypool.usage.UsageStoreContract;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Two stores on one Redis, each with its own client and connection, as two gateway instances have:
 * between them they never admit more than a key's limits, they see each other's key states at once,
 * and either one releases what the other reserved and never settled.
 */
class RedisSharedInstancesTest {

    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();

    private static final AtomicInteger PREFIXES = new AtomicInteger();
    private static final ZoneId UTC = ZoneOffset.UTC;
    private static final KeyId KEY = KeyId.of(Provider.OPENAI, 0);

    private final List<RedisClient> clients = new ArrayList<>();
    private final List<RedisUsageStore> stores = new ArrayList<>();
    private String prefix;

    @BeforeEach
    void choosePrefix() {
        prefix = "shared-" + PREFIXES.incrementAndGet();
    }

    @AfterEach
    void closeInstances() {
        stores.forEach(RedisUsageStore::close);
        clients.forEach(RedisClient::shutdown);
    }

    /** A gateway instance's store: its own client, its own connection, the shared prefix. */
    private RedisUsageStore instance() {
        RedisClient client = RedisClient.create(REDIS.server().url());
        clients.add(client);
        RedisUsageStore store = new RedisUsageStore(client, RedisStoreConfig.custom().prefix(prefix).build());
        store.register(UsageStoreContract.registeredKeys(KEY, HOT_KEYS.get(1), HOT_KEYS.get(2)));
        stores.add(store);
        return store;
    }

    private static ReserveResult reserve(RedisUsageStore store, WindowLimits limits, long tokens, long now, long expires) {
        return store.reserve(KEY, limits, tokens, now, DayWindow.at(now, UTC), expires);
    }

    // ---- key state ---------------------------------------------------------------------------------

    @Test
    void stateSetThroughOneInstance_isSeenByTheOtherAtOnce() {
        RedisUsageStore first = instance();
        RedisUsageStore second = instance();
        long now = Instant.parse("2026-01-15T10:00:00Z").toEpochMilli();
        KeyState cooling = KeyState.coolingDown(FailureKind.RATE_LIMITED, "429", now + 30_000);

        first.setState(KEY, cooling);

        assertThat(second.state(KEY)).isEqualTo(cooling);
        assertThat(second.usage(KEY, now, DayWindow.at(now, UTC)).state()).isEqualTo(cooling);
        assertThat(reserve(second, WindowLimits.NONE, 1, now, now + 60_000))
                .isEqualTo(new ReserveResult.Denied(DenialReason.COOLING_DOWN, now + 30_000));

        assertThat(second.compareAndSetState(KEY, cooling, KeyState.ACTIVE)).isTrue();

        assertThat(first.compareAndSetState(KEY, cooling, KeyState.ACTIVE)).as("already reset by the other").isFalse();
        assertThat(reserve(first, WindowLimits.NONE, 1, now, now + 60_000)).isInstanceOf(ReserveResult.Granted.class);
    }

    // ---- a crashed instance --------------------------------------------------------------------------

    /**
     * Issue 11: after kill -9 of one of two gateways, the survivor refunded the dead one's
     * reservations when they expired, although the provider had served them: 920 tokens reached
     * the provider in 60 s against 600.
     */
    @Test
    void reservationsOfACrashedInstance_areChargedByAnotherOne_notRefunded() {
        long now = Instant.parse("2026-01-15T10:00:00Z").toEpochMilli();
        RedisUsageStore crashing = instance();
        Ticket abandoned = ((ReserveResult.Granted) reserve(crashing, WindowLimits.of(1_000, 5_000), 800, now,
                now + 10_000)).ticket();
        crashing.close();
        RedisUsageStore survivor = instance();
        assertThat(reserve(survivor, WindowLimits.of(1_000, 5_000), 300, now + 1_000, now + 60_000))
                .as("the abandoned tokens still count").isInstanceOf(ReserveResult.Denied.class);

        List<Ticket> released = survivor.releaseExpired(now + 10_000, DayWindow.at(now + 10_000, UTC));

        assertThat(released).containsExactly(abandoned);
        assertThat(survivor.usage(KEY, now + 10_000, DayWindow.at(now, UTC))).isEqualTo(new KeyUsage(800, 800, KeyState.ACTIVE, 0, 1, 1));
        assertThat(survivor.pendingCount()).isZero();
        assertThat(reserve(survivor, WindowLimits.of(1_000, 5_000), 300, now + 10_000, now + 60_000))
                .as("the crashed instance's 800 still count").isInstanceOf(ReserveResult.Denied.class);
    }

    @Test
    void keyRegistryLostByRedis_isRebuiltByTheInstancesThatKnowTheKeys_soSweepersFindTheirTicketsAgain() {
        long now = Instant.parse("2026-01-15T10:00:00Z").toEpochMilli();
        RedisUsageStore first = instance();
        RedisUsageStore second = instance();
        reserve(first, WindowLimits.NONE, 100, now, now + 60_000);
        try (StatefulRedisConnection<String, String> admin = clients.get(0).connect()) {
            admin.sync().del(prefix + ":keys");
        }
        Ticket afterTheLoss = ((ReserveResult.Granted) reserve(first, WindowLimits.NONE, 200, now, now + 5_000)).ticket();
        assertThat(second.releaseExpired(now + 5_000, DayWindow.at(now + 5_000, UTC))).as("nobody names the key yet").isEmpty();

        first.releaseExpired(now, DayWindow.at(now, UTC));

        assertThat(second.releaseExpired(now + 5_000, DayWindow.at(now + 5_000, UTC))).containsExactly(afterTheLoss);
    }

    @Test
    void ticketSettledThroughTheOtherInstance_isSettledOnce() {
        long now = Instant.parse("2026-01-15T10:00:00Z").toEpochMilli();
        RedisUsageStore first = instance();
        RedisUsageStore second = instance();
        Ticket ticket = ((ReserveResult.Granted) reserve(first, WindowLimits.NONE, 500, now, now + 10_000)).ticket();

        assertThat(second.settle(ticket, 200, now + 1_000, DayWindow.at(now, UTC))).isTrue();

        assertThat(first.releaseExpired(now + 20_000, DayWindow.at(now + 20_000, UTC))).isEmpty();
        assertThat(first.usage(KEY, now + 1_000, DayWindow.at(now, UTC)).dayTokens()).isEqualTo(200);
    }

    // ---- both instances at once -------------------------------------------------------------------------

    private static final List<KeyId> HOT_KEYS = List.of(KeyId.of(Provider.OPENAI, 0), KeyId.of(Provider.SERP, 1),
            KeyId.of(Provider.GEMINI, 0));
    /**
     * Small limits, so that both windows refuse often: each day fills within two minutes. The third
     * key's request limits bind long before its tokens do.
     */
    private static final Map<KeyId, WindowLimits> HOT_LIMITS = Map.of(
            HOT_KEYS.get(0), WindowLimits.of(600, 1_000),
            HOT_KEYS.get(1), WindowLimits.of(250, 450),
            HOT_KEYS.get(2), WindowLimits.of(1_000_000, 1_000_000).withRequests(8, 12));
    private static final int THREADS_PER_INSTANCE = 3;
    private static final int OPERATIONS_PER_THREAD = 600;
    /** The shared clock moves this much every {@link #OPERATIONS_PER_STEP} operations, over all threads. */
    private static final long STEP_MILLIS = 150;
    private static final int OPERATIONS_PER_STEP = 4;
    private static final long ABANDONED_LIFETIME = 3_000;
    private static final ClockSteps CLOCK_STEPS = new ClockSteps();

    /**
     * @param start     where the shared clock starts; the run lasts about two minutes of it
     * @param lagMillis how far the second instance's clock runs behind the first's; kept away from
     *                  midnight, where a lagging caller's tokens can be placed just after a midnight
     *                  yet counted in the day before (as the in-memory store does too), which the
     *                  ledger's day check would flag
     * @param midnight  a midnight the run crosses, or none
     */
    @ParameterizedTest(name = "from {0}, second clock {1} ms behind")
    @CsvSource({"2026-01-15T23:58:30Z, 0, 2026-01-16T00:00:00Z", "2026-01-15T10:00:00Z, 300, "})
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void twoInstancesHammeringTheSameKeys_neverAdmitMoreThanTheLimitsBetweenThem_andLeakNothing(
            Instant start, long lagMillis, Instant midnight) throws Exception {
        RedisUsageStore first = instance();
        RedisUsageStore second = instance();
        ManualClock clock = new ManualClock(start);
        LongSupplier firstClock = clock::millis;
        LongSupplier secondClock = () -> clock.millis() - lagMillis;
        AdmissionLedger ledger = new AdmissionLedger();
        Map<DenialReason, AtomicLong> denials = new EnumMap<>(DenialReason.class);
        for (DenialReason reason : DenialReason.values()) {
            denials.put(reason, new AtomicLong());
        }
        AtomicLong operations = new AtomicLong();

        ExecutorService pool = Executors.newFixedThreadPool(2 * THREADS_PER_INSTANCE);
        try {
            List<Future<Void>> workers = new ArrayList<>();
            for (int thread = 0; thread < 2 * THREADS_PER_INSTANCE; thread++) {
                boolean onFirst = thread % 2 == 0;
                workers.add(pool.submit(worker(onFirst ? first : second, onFirst ? firstClock : secondClock,
                        onFirst ? second : first, clock, thread, ledger, denials, operations)));
            }
            for (Future<Void> worker : workers) {
                worker.get();
            }
        } finally {
            pool.shutdownNow();
        }
        clock.advanceMillis(ABANDONED_LIFETIME + lagMillis + 1);
        long end = clock.millis();
        for (Ticket released : second.releaseExpired(end, DayWindow.at(end, UTC))) {
            ledger.record(released, released.tokens(), end);
        }

        assertThat(denials.get(DenialReason.MINUTE_LIMIT).get()).as("minute refusals").isPositive();
        assertThat(denials.get(DenialReason.DAY_LIMIT).get()).as("day refusals").isPositive();
        assertThat(denials.get(DenialReason.REQUEST_MINUTE_LIMIT).get()).as("request minute refusals").isPositive();
        assertThat(denials.get(DenialReason.REQUEST_DAY_LIMIT).get()).as("request day refusals").isPositive();
        if (midnight != null) {
            assertThat(ledger.where(grant -> grant.ticket().admittedMillis() >= midnight.toEpochMilli()))
                    .as("grants after the midnight the run crossed").isNotEmpty();
        }
        ledger.assertNoOverAdmission(HOT_LIMITS, UTC);
        assertThat(first.pendingCount()).isZero();
        assertThat(second.pendingCount()).isZero();
        long now = clock.millis();
        DayWindow day = DayWindow.at(now, UTC);
        assertThat(first.usages(HOT_KEYS, now, day)).as("both instances see the same usage")
                .isEqualTo(second.usages(HOT_KEYS, now, day));
        for (KeyId key : HOT_KEYS) {
            KeyUsage usage = first.usage(key, now, day);
            // A lagging instance's tokens go in the newest bucket, which may be up to the lag later.
            assertThat(usage.minuteTokens()).as("minute tokens of %s", key)
                    .isBetween(ledger.expectedMinuteTokens(key, now, RedisStoreConfig.DEFAULT_BUCKET_MILLIS),
                            ledger.expectedMinuteTokens(key, now - lagMillis, RedisStoreConfig.DEFAULT_BUCKET_MILLIS));
            assertThat(usage.dayTokens()).as("day tokens of %s", key).isEqualTo(ledger.expectedDayTokens(key, day));
            assertThat(usage.minuteRequests()).as("minute requests of %s", key)
                    .isBetween(ledger.expectedMinuteRequests(key, now, RedisStoreConfig.DEFAULT_BUCKET_MILLIS),
                            ledger.expectedMinuteRequests(key, now - lagMillis, RedisStoreConfig.DEFAULT_BUCKET_MILLIS));
            assertThat(usage.dayRequests()).as("day requests of %s", key).isEqualTo(ledger.expectedDayRequests(key, day));
        }
    }

    /**
     * Reserves and settles through {@code store} at {@code now}; every so many operations moves the
     * shared clock, and now and then sweeps expired tickets through the <em>other</em> instance, so
     * that one instance releases what the other abandoned.
     */
    private static Callable<Void> worker(RedisUsageStore store, LongSupplier now, RedisUsageStore other,
            ManualClock clock, int seed, AdmissionLedger ledger, Map<DenialReason, AtomicLong> denials, AtomicLong operations) {
        return () -> {
            // Operations read the clock and call the store under the read lock, the clock moves under
            // the write lock: besides the lag it is given, no thread's "now" lags another's.
            SplittableRandom random = new SplittableRandom(0xC1_0000L + seed);
            Deque<Ticket> open = new ArrayDeque<>();
            for (int i = 0; i < OPERATIONS_PER_THREAD; i++) {
                KeyId key = HOT_KEYS.get(random.nextInt(HOT_KEYS.size()));
                boolean abandon = random.nextInt(25) == 0;
                long tokens = 1 + random.nextLong(120);
                ReserveResult result = CLOCK_STEPS.at(now, at -> store.reserve(key, HOT_LIMITS.get(key), tokens, at,
                        DayWindow.at(at, UTC), at + (abandon ? ABANDONED_LIFETIME : 3_600_000)));
                if (result instanceof ReserveResult.Granted granted && !abandon) {
                    open.addLast(granted.ticket());
                } else if (result instanceof ReserveResult.Denied denied) {
                    denials.get(denied.reason()).incrementAndGet();
                }
                while (open.size() > random.nextInt(3)) {
                    Ticket ticket = open.removeFirst();
                    long actual = random.nextLong(ticket.tokens() + 1);
                    CLOCK_STEPS.runAt(now, settledAt -> {
                        assertThat(store.settle(ticket, actual, settledAt, DayWindow.at(settledAt, UTC))).isTrue();
                        ledger.record(ticket, actual, settledAt);
                    });
                }
                long done = operations.incrementAndGet();
                if (done % OPERATIONS_PER_STEP == 0) {
                    CLOCK_STEPS.step(clock, STEP_MILLIS);
                }
                if (done % 97 == 0) {
                    CLOCK_STEPS.runAt(clock::millis, sweptAt -> {
                        for (Ticket released : other.releaseExpired(sweptAt, DayWindow.at(sweptAt, UTC))) {
                            ledger.record(released, released.tokens(), sweptAt);
                        }
                    });
                }
            }
            while (!open.isEmpty()) {
                Ticket ticket = open.removeFirst();
                long settledAt = now.getAsLong();
                store.settle(ticket, ticket.tokens(), settledAt, DayWindow.at(settledAt, UTC));
                ledger.record(ticket, ticket.tokens(), settledAt);
            }
            return null;
        };
    }
}
