package dev.keypool.bench;

import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.config.SelectionStrategy;
import dev.keypool.config.WindowLimits;
import dev.keypool.rotation.ApiKeyManager;
import dev.keypool.rotation.ApiKeyRotator;
import dev.keypool.rotation.Reservation;
import dev.keypool.usage.InMemoryUsageStore;
import java.time.Clock;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The hot path of the library: reserve tokens on a key and settle them, against the in-memory
 * store and the system clock, beside the floor of one {@link AtomicLong} add in the same run.
 *
 * <ul>
 *   <li>{@code hot}: {@link SelectionStrategy#FILL_FIRST}, so every call lands on key 0 — the
 *       contended case when run with 2 threads.</li>
 *   <li>{@code spread}: {@link SelectionStrategy#ROUND_ROBIN}, each call on the next key.</li>
 *   <li>{@code least-used}: the default strategy, which reads every candidate's usage to rank
 *       them, so its cost grows with the number of keys.</li>
 * </ul>
 *
 * <p>Limits are set high enough never to refuse, so each operation is one grant and one commit.
 * Run with {@code bench/run-core-bench.sh}; threads are set there ({@code -t 1}, {@code -t 2}).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class AcquireCommitBenchmark {

    private static final long TOKENS = 1_000;

    @State(Scope.Benchmark)
    public static class Pool {

        @Param({"3", "100"})
        int keys;

        @Param({"hot", "spread", "least-used"})
        String pattern;

        ApiKeyRotator rotator;
        ApiKeyManager manager;

        @Setup(Level.Trial)
        public void setUp() {
            KeypoolConfig.Builder builder = KeypoolConfig.builder().selectionStrategy(switch (pattern) {
                case "hot" -> SelectionStrategy.FILL_FIRST;
                case "spread" -> SelectionStrategy.ROUND_ROBIN;
                default -> SelectionStrategy.LEAST_USED;
            });
            for (int i = 0; i < keys; i++) {
                builder.addKey(Provider.OPENAI, "bench-key-" + i, "gpt-4o",
                        WindowLimits.of(Long.MAX_VALUE / 4, Long.MAX_VALUE / 4));
            }
            manager = new ApiKeyManager(builder.build(), new InMemoryUsageStore(), Clock.systemUTC());
            rotator = new ApiKeyRotator(manager);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            manager.close();
        }
    }

    @State(Scope.Benchmark)
    public static class Floor {
        final AtomicLong counter = new AtomicLong();
    }

    @Benchmark
    public long acquireCommit(Pool pool) {
        Reservation reservation = pool.rotator.acquire(Provider.OPENAI, "gpt-4o", TOKENS);
        reservation.commit(TOKENS - 200);
        return reservation.tokens();
    }

    /** The floor: one shared atomic add, what any accounting must at least cost. */
    @Benchmark
    public long atomicLongAdd(Floor floor) {
        return floor.counter.addAndGet(TOKENS);
    }
}
