package dev.keypool.bench;

import dev.keypool.config.KeyId;
import dev.keypool.config.Provider;
import dev.keypool.config.SecretDigest;
import dev.keypool.config.WindowLimits;
import dev.keypool.redis.RedisUsageStore;
import dev.keypool.usage.DayWindow;
import dev.keypool.usage.ReserveResult;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Throughput of the Redis store on ONE hot key: every caller reserves on the same pool key, so
 * the scripts queue inside Redis. One shared store (one Lettuce connection, which pipelines the
 * callers' commands), as a gateway instance uses it.
 *
 * <ul>
 *   <li>{@code reserveSettle}: {@code reserve} then {@code settle} of the ticket, two scripts.</li>
 *   <li>{@code reserveOnly}: {@code reserve} alone, the same command that
 *       {@code bench/run-redis-bench.sh} gives {@code redis-benchmark} (its pending set grows; the
 *       script does not depend on its size beyond one {@code ZADD}).</li>
 * </ul>
 *
 * <p>Limits are high enough never to refuse. Needs a Redis at {@code -Dkeypool.bench.redis}
 * (default {@code redis://127.0.0.1:6379}); run with {@code bench/run-redis-bench.sh}, which sets
 * the threads ({@code -t 1}, {@code -t 2}, {@code -t 16}).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(1)
public class RedisStoreBenchmark {

    static final long TOKENS = 1_000;
    static final long TICKET_MILLIS = 60_000;
    /** Never refuses within a run: ~1e15 tokens a minute and a day. */
    static final WindowLimits LIMITS = WindowLimits.of(1_000_000_000_000_000L, 1_000_000_000_000_000L);
    /** The hot key of reserve+settle; reserve-only uses index 1, so the two never share a pending set. */
    static final KeyId HOT = KeyId.of(Provider.OPENAI, 0);
    static final KeyId HOT_RESERVE_ONLY = KeyId.of(Provider.OPENAI, 1);

    @State(Scope.Benchmark)
    public static class Store {

        RedisUsageStore store;
        volatile DayWindow day;

        @Setup(Level.Trial)
        public void setUp() {
            store = new RedisUsageStore(System.getProperty("keypool.bench.redis", "redis://127.0.0.1:6379"));
            store.register(Map.of(HOT, SecretDigest.of(HOT.provider(), "bench-hot-key-0123456789"),
                    HOT_RESERVE_ONLY, SecretDigest.of(HOT.provider(), "bench-reserve-only-key-0123456789")));
            day = DayWindow.at(System.currentTimeMillis(), ZoneOffset.UTC);
        }

        DayWindow dayAt(long now) {
            DayWindow current = day;
            if (now >= current.nextStartMillis()) {
                current = DayWindow.at(now, ZoneOffset.UTC);
                day = current;
            }
            return current;
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            store.close();
        }
    }

    @Benchmark
    public boolean reserveSettle(Store s) {
        long now = System.currentTimeMillis();
        DayWindow day = s.dayAt(now);
        ReserveResult result = s.store.reserve(HOT, LIMITS, TOKENS, now, day, now + TICKET_MILLIS);
        if (!(result instanceof ReserveResult.Granted granted)) {
            throw new IllegalStateException("Refused: " + result);
        }
        return s.store.settle(granted.ticket(), TOKENS - 200, now, day);
    }

    @Benchmark
    public Object reserveOnly(Store s) {
        long now = System.currentTimeMillis();
        ReserveResult result = s.store.reserve(HOT_RESERVE_ONLY, LIMITS, TOKENS, now, s.dayAt(now), now + TICKET_MILLIS);
        if (!(result instanceof ReserveResult.Granted)) {
            throw new IllegalStateException("Refused: " + result);
        }
        return result;
    }
}
