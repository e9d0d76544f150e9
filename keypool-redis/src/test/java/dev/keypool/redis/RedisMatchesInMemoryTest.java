package dev.keypool.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keypool.config.KeyId;
import dev.keypool.config.Provider;
import dev.keypool.config.WindowLimits;
import dev.keypool.failure.FailureKind;
import dev.keypool.redis.testing.RedisServerExtension;
import dev.keypool.usage.DayWindow;
import dev.keypool.usage.InMemoryUsageStore;
import dev.keypool.usage.KeyState;
import dev.keypool.usage.ReserveResult;
import dev.keypool.usage.Ticket;
import dev.keypool.usage.UsageStore;
import dev.keypool.usage.UsageStoreContract;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The Redis store against the reference: the same random sequence of reserves, settles, releases,
 * state changes and reads, with a clock that mostly moves forward, sometimes jumps minutes,
 * sometimes lags (another instance's clock) and crosses a midnight, must give the same answer
 * from both stores at every step. Ticket ids are the only thing allowed to differ.
 */
class RedisMatchesInMemoryTest {

    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();

    private static final AtomicInteger STORES = new AtomicInteger();
    private static final ZoneId ZONE = ZoneId.of("Europe/Berlin");
    private static final List<KeyId> KEYS = List.of(KeyId.of(Provider.OPENAI, 0), KeyId.of(Provider.GEMINI, 1),
            KeyId.of(Provider.SERP, 2));
    private static final Map<KeyId, WindowLimits> LIMITS = Map.of(
            KEYS.get(0), WindowLimits.of(1_000, 4_000),
            KEYS.get(1), WindowLimits.of(WindowLimits.UNLIMITED, 2_500),
            KEYS.get(2), WindowLimits.of(300, WindowLimits.UNLIMITED));
    private static final int STEPS = 1_500;


    static Stream<Arguments> runs() {
        return Stream.of(Arguments.of(1L, 1_000L), Arguments.of(2L, 1_000L), Arguments.of(3L, 250L),
                Arguments.of(4L, 60_000L));
    }

    @ParameterizedTest(name = "seed {0}, buckets of {1} ms")
    @MethodSource("runs")
    void randomOperations_answerExactlyAsTheInMemoryStoreDoes(long seed, long bucketMillis) {
        try (UsageStore memory = new InMemoryUsageStore(bucketMillis);
                UsageStore redis = new RedisUsageStore(REDIS.client(), RedisStoreConfig.custom()
                        .prefix("same-" + STORES.incrementAndGet()).bucketMillis(bucketMillis).build())) {
            memory.register(UsageStoreContract.registeredKeys(KEYS.toArray(KeyId[]::new)));
            redis.register(UsageStoreContract.registeredKeys(KEYS.toArray(KeyId[]::new)));
            new Run(new SplittableRandom(seed), memory, redis).go();
        }
    }

    /** One random run; {@code twins} pairs each in-memory ticket with the Redis ticket of the same reserve. */
    private static final class Run {

        private final SplittableRandom random;
        private final UsageStore memory;
        private final UsageStore redis;
        private final List<Ticket[]> open = new ArrayList<>();
        private final Map<Long, Ticket> twinOfRedisTicket = new HashMap<>();
        private long now = Instant.parse("2026-03-28T22:56:00Z").toEpochMilli();

        Run(SplittableRandom random, UsageStore memory, UsageStore redis) {
            this.random = random;
            this.memory = memory;
            this.redis = redis;
        }

        void go() {
            for (int step = 0; step < STEPS; step++) {
                moveClock();
                int op = random.nextInt(100);
                if (op < 50) {
                    reserve();
                } else if (op < 72) {
                    settle();
                } else if (op < 78) {
                    release();
                } else if (op < 84) {
                    changeState();
                } else {
                    compareUsage(step);
                }
            }
            long later = now + 10 * UsageStore.MINUTE_MILLIS;
            release(later);
            assertThat(redis.pendingCount()).isEqualTo(memory.pendingCount()).isZero();
        }

        private void moveClock() {
            int r = random.nextInt(100);
            if (r < 3) {
                now += random.nextLong(3 * UsageStore.MINUTE_MILLIS);
            } else if (r < 8) {
                now -= random.nextLong(5_000); // a caller whose clock lags behind the last one
            } else {
                now += random.nextLong(1_500);
            }
        }

        private DayWindow day() {
            return DayWindow.at(now, ZONE);
        }

        private void reserve() {
            KeyId key = KEYS.get(random.nextInt(KEYS.size()));
            long tokens = random.nextInt(10) == 0 ? 0 : 1 + random.nextLong(random.nextBoolean() ? 120 : 700);
            long expires = now + random.nextLong(1_000, 90_000);
            ReserveResult expected = memory.reserve(key, LIMITS.get(key), tokens, now, day(), expires);
            ReserveResult actual = redis.reserve(key, LIMITS.get(key), tokens, now, day(), expires);
            if (expected instanceof ReserveResult.Granted granted) {
                assertThat(actual).as("reserve %d on %s at %s", tokens, key, Instant.ofEpochMilli(now))
                        .isInstanceOf(ReserveResult.Granted.class);
                Ticket twin = ((ReserveResult.Granted) actual).ticket();
                assertThat(withId(twin, granted.ticket().id())).isEqualTo(granted.ticket());
                open.add(new Ticket[] {granted.ticket(), twin});
                twinOfRedisTicket.put(twin.id(), granted.ticket());
            } else {
                assertThat(actual).as("reserve %d on %s at %s", tokens, key, Instant.ofEpochMilli(now))
                        .isEqualTo(expected);
            }
        }

        private void settle() {
            if (open.isEmpty()) {
                return;
            }
            Ticket[] pair = open.remove(random.nextInt(open.size()));
            long actualTokens = random.nextInt(5) == 0 ? pair[0].tokens() + random.nextLong(200)
                    : random.nextLong(pair[0].tokens() + 1);
            assertThat(redis.settle(pair[1], actualTokens, now, day()))
                    .isEqualTo(memory.settle(pair[0], actualTokens, now, day()));
        }

        private void release() {
            release(now);
        }

        private void release(long at) {
            List<Ticket> expected = memory.releaseExpired(at, DayWindow.at(at, ZONE));
            List<Ticket> actual = redis.releaseExpired(at, DayWindow.at(at, ZONE));
            assertThat(actual.stream().map(ticket -> twinOfRedisTicket.get(ticket.id())).toList())
                    .containsExactlyInAnyOrderElementsOf(expected);
        }

        private void changeState() {
            KeyId key = KEYS.get(random.nextInt(KEYS.size()));
            KeyState next = switch (random.nextInt(4)) {
                case 0 -> KeyState.ACTIVE;
                case 1 -> KeyState.coolingDown(FailureKind.RATE_LIMITED, "429", now + random.nextLong(30_000));
                case 2 -> KeyState.deactivated(FailureKind.QUOTA_EXHAUSTED, "quota", day().nextStartMillis());
                default -> KeyState.deactivated(FailureKind.INVALID_KEY, "invalid", KeyState.NEVER);
            };
            if (random.nextBoolean()) {
                memory.setState(key, next);
                redis.setState(key, next);
            } else {
                KeyState expected = random.nextBoolean() ? memory.state(key) : KeyState.ACTIVE;
                assertThat(redis.compareAndSetState(key, expected, next))
                        .isEqualTo(memory.compareAndSetState(key, expected, next));
            }
            assertThat(redis.state(key)).isEqualTo(memory.state(key));
        }

        private void compareUsage(int step) {
            assertThat(redis.usages(KEYS, now, day())).as("usages at step %d, %s", step, Instant.ofEpochMilli(now))
                    .isEqualTo(memory.usages(KEYS, now, day()));
            assertThat(redis.pendingCount()).isEqualTo(memory.pendingCount());
        }

        private static Ticket withId(Ticket ticket, long id) {
            return new Ticket(id, ticket.key(), ticket.tokens(), ticket.admittedMillis(), ticket.epochDay(),
                    ticket.expiresMillis());
        }
    }
}
