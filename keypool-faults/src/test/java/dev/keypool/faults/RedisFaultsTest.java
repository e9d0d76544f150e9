package dev.keypool.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.keypool.redis.testing.RedisServer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two gateways sharing one real {@code redis-server}, under load from four clients spread over
 * both, while a gateway or Redis fails: a gateway killed with -9 and started again, Redis killed
 * with -9 and restarted empty (no persistence) or from its append-only file, Redis frozen by
 * {@code SIGSTOP} for three seconds, and both gateways started while Redis is down. Each time the
 * gateways must keep serving (degraded while Redis is away), come back to Redis by themselves, and
 * the provider's log must show no key above its limit.
 */
class RedisFaultsTest {

    @TempDir
    Path work;

    @Test
    void gatewayKilledMinus9_midLoad_andStartedAgain() {
        try (RedisServer redis = RedisServer.start(); FaultRun run = new FaultRun(work)) {
            Map<String, String> shared = shared(redis);
            GatewayProcess a = run.startTogether(shared, "a", "b").get(0);
            try (Load load = Load.start(run::serving, 4, false)) {
                await().atMost(Duration.ofSeconds(20)).until(() -> run.arrivals() >= 4);
                a.kill();
                load.awaitMore(40);
                run.start("a-again", shared);
                load.awaitMore(80);
                run.judge("4-redis-gateway-kill", "kill -9 of one of two gateways on Redis mid-load, then started again",
                        load.stop(), "Redis without persistence; the survivor serves on");
            }
        }
    }

    @Test
    void redisKilledMinus9_withoutPersistence_restartsEmpty() {
        try (RedisServer redis = RedisServer.start(); FaultRun run = new FaultRun(work)) {
            redisFails(run, redis, "5-redis-kill-empty", "kill -9 of Redis mid-load, restarted without its data",
                    "no persistence: the restart is empty, detected by its epoch", () -> {
                        redis.kill();
                        return redis::restart;
                    });
        }
    }

    @Test
    void redisKilledMinus9_withAppendOnlyFile_restartsWithItsData() {
        try (RedisServer redis = RedisServer.startAppendOnly(); FaultRun run = new FaultRun(work)) {
            redisFails(run, redis, "6-redis-kill-aof", "kill -9 of Redis mid-load, restarted from its append-only file",
                    "`appendonly yes`, `appendfsync everysec`", () -> {
                        redis.kill();
                        return redis::restart;
                    });
        }
    }

    @Test
    void redisStopped_forThreeSeconds_thenContinued() {
        try (RedisServer redis = RedisServer.start(); FaultRun run = new FaultRun(work)) {
            redisFails(run, redis, "7-redis-sigstop", "Redis frozen (SIGSTOP) for 3 s mid-load, then SIGCONT",
                    "its queued commands run when it continues", () -> {
                        redis.pause();
                        KillUnderLoadTest.pause(Duration.ofSeconds(3));
                        return redis::resume;
                    });
        }
    }

    @Test
    void redisDownAtStart_gatewaysStartDegraded_andJoinItWhenItComesUp() {
        try (RedisServer redis = RedisServer.start(); FaultRun run = new FaultRun(work)) {
            redis.stop();
            List<GatewayProcess> both = run.startTogether(shared(redis), "a", "b");
            assertThat(both).extracting(GatewayProcess::health).containsOnly("DEGRADED");
            try (Load load = Load.start(run::serving, 4, false)) {
                load.awaitMore(60);
                redis.restart();
                awaitBackOnRedis(run);
                load.awaitMore(80);
                run.judge("8-redis-down-at-start", "both gateways started while Redis is down, then Redis started",
                        load.stop(), "they start degraded: minutes full, days wait for Redis");
            }
        }
    }

    /**
     * Under load on two gateways, {@code fault} breaks Redis and answers how to mend it; after some
     * degraded load it is mended, and the load goes on once both gateways are back on Redis.
     */
    private void redisFails(FaultRun run, RedisServer redis, String order, String fault, String notes,
            Supplier<Runnable> breakIt) {
        run.startTogether(shared(redis), "a", "b");
        try (Load load = Load.start(run::serving, 4, false)) {
            await().atMost(Duration.ofSeconds(20)).until(() -> run.arrivals() >= 4);
            Runnable mend = breakIt.get();
            load.awaitMore(60);
            mend.run();
            awaitBackOnRedis(run);
            load.awaitMore(80);
            run.judge(order, fault, load.stop(), notes);
        }
    }

    private static void awaitBackOnRedis(FaultRun run) {
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
                .untilAsserted(() -> assertThat(run.serving()).extracting(GatewayProcess::health).containsOnly("UP"));
    }

    private static Map<String, String> shared(RedisServer redis) {
        return Map.of("KEYPOOL_REDIS_URL", redis.url(), "KEYPOOL_INSTANCES", "2");
    }
}
