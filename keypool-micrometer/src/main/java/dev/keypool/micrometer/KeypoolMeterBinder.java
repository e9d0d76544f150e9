package dev.keypool.micrometer;

import dev.keypool.rotation.ApiKeyManager;
import dev.keypool.rotation.ApiKeyRotator;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.time.Duration;
import java.util.Objects;

/**
 * The pool's meters, on any Micrometer registry, under the names {@code keypool-server/README.md}
 * lists ("Metrics"): the gateway's {@code /metrics} and an application's in-process pool (the
 * Spring Boot starter) expose the same ones, so one dashboard reads both.
 *
 * <ul>
 *   <li>per provider: {@code keypool_keys_active}, {@code keypool_keys_configured}, and with a
 *       rotator whose requests may wait, {@code keypool_wait_queue_length};</li>
 *   <li>per key, tagged {@code provider} and {@code key_index} (never the key): availability,
 *       cooling down, deactivated, requests in flight, and the tokens and requests in each window
 *       with their limits' usage ratios; a reload moves these with the keys;</li>
 *   <li>from the pool's events: requests by outcome, failures and failovers by kind, tokens by
 *       type, reservations by result, reserved tokens, state changes, upstream duration,
 *       {@code keypool_pool_exhausted_total{reason}}, {@code keypool_wait{outcome}} and
 *       {@code keypool_reloads_total{outcome}}.</li>
 * </ul>
 *
 * Each registry it is bound to gets meters of its own, moved by a listener on the manager's events.
 */
public final class KeypoolMeterBinder implements MeterBinder {

    private static final Duration[] LATENCY_BUCKETS = {
            Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500),
            Duration.ofSeconds(1), Duration.ofMillis(2500), Duration.ofSeconds(5), Duration.ofSeconds(10),
            Duration.ofSeconds(30), Duration.ofSeconds(60), Duration.ofSeconds(120)};

    private final ApiKeyManager manager;
    private final ApiKeyRotator rotator;

    public KeypoolMeterBinder(ApiKeyManager manager) {
        this(manager, null);
    }

    /** @param rotator whose wait queues to measure, or {@code null} */
    public KeypoolMeterBinder(ApiKeyManager manager, ApiKeyRotator rotator) {
        this.manager = Objects.requireNonNull(manager, "manager");
        this.rotator = rotator;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        PoolMeters meters = new PoolMeters(manager, registry);
        if (rotator != null) {
            meters.watchWaitQueues(rotator);
        }
        manager.events().addListener(meters);
    }

    /** Histogram buckets for upstream calls (and the gateway's requests), 50 ms to two minutes. */
    public static Duration[] latencyBuckets() {
        return LATENCY_BUCKETS.clone();
    }
}
