package dev.keypool.server.metrics;

import dev.keypool.micrometer.KeypoolMeterBinder;
import dev.keypool.micrometer.MeterMemo;
import dev.keypool.rotation.ApiKeyManager;
import dev.keypool.rotation.ApiKeyRotator;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.List;

/**
 * The gateway's Prometheus registry: the pool's meters ({@link KeypoolMeterBinder}, the same ones
 * the Spring Boot starter exposes), the JVM's, and per gateway endpoint the requests by status and
 * their duration.
 */
public final class KeypoolMetrics implements AutoCloseable {

    private static final Duration[] LATENCY_BUCKETS = KeypoolMeterBinder.latencyBuckets();

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final MeterMemo memo = new MeterMemo();
    private final JvmGcMetrics gcMetrics = new JvmGcMetrics();

    public KeypoolMetrics(ApiKeyManager manager, ApiKeyRotator rotator) {
        new JvmMemoryMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        gcMetrics.bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        new KeypoolMeterBinder(manager, rotator).bindTo(registry);
    }

    /** The Prometheus text exposition of every metric. */
    public String scrape() {
        return registry.scrape();
    }

    public PrometheusMeterRegistry registry() {
        return registry;
    }

    /** Counts one gateway request by endpoint and status. */
    public void recordRequest(String endpoint, int status, Duration duration) {
        memo.get(Counter.class, List.of("http_requests", endpoint, status), () -> Counter.builder("keypool_http_requests_total")
                .description("Gateway HTTP requests by endpoint and status")
                .tags("endpoint", endpoint, "status", Integer.toString(status)).register(registry)).increment();
        memo.get(Timer.class, List.of("http_duration", endpoint), () -> Timer.builder("keypool_http_request_duration_seconds")
                .description("Gateway HTTP request duration")
                .tags("endpoint", endpoint).serviceLevelObjectives(LATENCY_BUCKETS).register(registry))
                .record(duration);
    }

    @Override
    public void close() {
        gcMetrics.close();
        registry.close();
    }
}
