package dev.keypool.micrometer;

import dev.keypool.config.KeyConfig;
import dev.keypool.config.KeyId;
import dev.keypool.config.Provider;
import dev.keypool.config.WindowLimits;
import dev.keypool.event.KeyEvent;
import dev.keypool.event.KeyEventListener;
import dev.keypool.rotation.ApiKeyManager;
import dev.keypool.rotation.ApiKeyRotator;
import dev.keypool.rotation.KeyStatusSnapshot;
import dev.keypool.usage.KeyStatus;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The pool's meters on one registry, moved by the pool's events (see {@link KeypoolMeterBinder}).
 *
 * <h2>Upstream latency</h2>
 * A call runs on one thread from {@code key_acquired} to {@code usage_committed} or
 * {@code key_failed}, so the time between them on that thread is the upstream call (with its
 * streaming, for a stream). Calls settled on another thread are not timed.
 */
final class PoolMeters implements KeyEventListener {

    private static final Duration[] LATENCY_BUCKETS = KeypoolMeterBinder.latencyBuckets();

    private final MeterRegistry registry;
    private final ApiKeyManager manager;
    private final MeterMemo memo = new MeterMemo();
    /** The meters every successful call moves, found by one lookup on the key. */
    private final Map<KeyId, CallMeters> callMeters = new ConcurrentHashMap<>();
    private final ThreadLocal<CallStart> callStarts = ThreadLocal.withInitial(CallStart::new);
    /** Each key's gauges, so that a reload removes those of a key that left. */
    private final Map<KeyId, List<Meter>> gauges = new ConcurrentHashMap<>();

    PoolMeters(ApiKeyManager manager, MeterRegistry registry) {
        this.manager = manager;
        this.registry = registry;
        for (KeyConfig key : manager.allKeys()) {
            registerGauges(key);
        }
        for (Provider provider : Provider.values()) {
            if (provider.usesKeys()) {
                Gauge.builder("keypool_keys_active", manager, m -> m.providerStatus(provider).activeKeys())
                        .description("Keys of the provider that can serve now")
                        .tag("provider", provider.id()).register(registry);
                Gauge.builder("keypool_keys_configured", manager, m -> m.keys(provider).size())
                        .description("Keys configured for the provider")
                        .tag("provider", provider.id()).register(registry);
            }
        }
    }

    @Override
    public void onEvent(KeyEvent event) {
        switch (event) {
            case KeyEvent.KeyAcquired e -> {
                CallMeters call = callMeters(e.key());
                call.acquired.increment();
                call.reservedTokens.increment(e.tokens());
                CallStart start = callStarts.get();
                start.key = e.key();
                start.nanos = System.nanoTime();
            }
            case KeyEvent.UsageCommitted e -> {
                CallMeters call = callMeters(e.key());
                call.committed.increment();
                call.succeeded.increment();
                call.promptTokens.increment(e.promptTokens());
                call.completionTokens.increment(e.completionTokens());
                timeCall(e.key(), "success");
            }
            case KeyEvent.ReservationReleased e -> counter("keypool_reservations_total", "Reservations by result",
                    e.key(), "result", e.expired() ? "expired" : "released").increment();
            case KeyEvent.KeyFailed e -> {
                counter("keypool_key_requests_total", "Calls made with a key, by outcome", e.key(), "outcome", "failure")
                        .increment();
                counter("keypool_key_failures_total", "Failed calls by failure kind", e.key(), "kind", e.kind().id())
                        .increment();
                if (e.failover()) {
                    counter("keypool_failovers_total", "Failures after which another key or provider was tried",
                            e.key(), "kind", e.kind().id()).increment();
                }
                timeCall(e.key(), "failure");
            }
            case KeyEvent.KeyCooledDown e -> stateChange(e.key(), "cooling_down");
            case KeyEvent.KeyDeactivated e -> stateChange(e.key(), "deactivated");
            case KeyEvent.KeyReactivated e -> stateChange(e.key(), "reactivated");
            case KeyEvent.KeylessCalled e -> keyless(e);
            case KeyEvent.KeysReloaded e -> reloaded(e);
            case KeyEvent.PoolExhausted e -> Counter.builder("keypool_pool_exhausted_total")
                    .description("Requests refused because no key of the provider could take them")
                    .tags("provider", e.provider().id(), "reason",
                            e.reason() == null ? "no_keys" : e.reason().name().toLowerCase(Locale.ROOT))
                    .register(registry).increment();
            case KeyEvent.RequestWaited e -> Timer.builder("keypool_wait")
                    .description("Time requests waited for a key of the provider (KEYPOOL_MAX_WAIT_SECONDS), by outcome")
                    .tags("provider", e.provider().id(), "outcome", e.served() ? "served" : "refused")
                    .serviceLevelObjectives(WAIT_BUCKETS)
                    .register(registry).record(e.waitedMillis(), TimeUnit.MILLISECONDS);
        }
    }

    /** Histogram buckets for waits for a key, 10 ms to two minutes. */
    private static final Duration[] WAIT_BUCKETS = {
            Duration.ofMillis(10), Duration.ofMillis(100), Duration.ofMillis(500), Duration.ofSeconds(1),
            Duration.ofSeconds(2), Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(30),
            Duration.ofSeconds(60), Duration.ofSeconds(120)};

    /**
     * The length of each provider's wait queue ({@code keypool_wait_queue_length}), when requests
     * may wait ({@code KEYPOOL_MAX_WAIT_SECONDS}); the waits themselves come as events.
     */
    void watchWaitQueues(ApiKeyRotator rotator) {
        if (!rotator.waits()) {
            return;
        }
        for (Provider provider : Provider.values()) {
            if (rotator.waitStatus(provider) != null) {
                Gauge.builder("keypool_wait_queue_length", rotator, r -> r.waitStatus(provider).waiting())
                        .description("Requests waiting for a key of the provider")
                        .tag("provider", provider.id()).register(registry);
            }
        }
    }

    /**
     * Counts a reload by outcome, and moves the per-key gauges with the keys: a removed key's go,
     * an added key's come, a kept key's are made again for its new limits.
     */
    private void reloaded(KeyEvent.KeysReloaded e) {
        Counter.builder("keypool_reloads_total").description("Reloads of the configuration, by outcome")
                .tag("outcome", e.applied() ? "applied" : "refused").register(registry).increment();
        if (!e.applied()) {
            return;
        }
        e.changes().providers().values().forEach(change -> {
            change.removed().forEach(key -> removeGauges(key.key()));
            change.kept().stream().filter(key -> !key.changed().isEmpty()).forEach(key -> removeGauges(key.key()));
        });
        for (KeyConfig key : manager.allKeys()) {
            if (!gauges.containsKey(key.id())) {
                registerGauges(key);
            }
        }
    }

    private void removeGauges(KeyId id) {
        List<Meter> registered = gauges.remove(id);
        if (registered != null) {
            registered.forEach(registry::remove);
        }
    }

    /** Counts a call to a keyless provider (Ollama), under {@code key_index="none"}. */
    private void keyless(KeyEvent.KeylessCalled e) {
        Tags tags = Tags.of("provider", e.provider().id(), "key_index", "none");
        Counter.builder("keypool_key_requests_total").tags(tags).tag("outcome", e.failure() == null ? "success" : "failure")
                .register(registry).increment();
        if (e.failure() != null) {
            Counter.builder("keypool_key_failures_total").tags(tags).tag("kind", e.failure().id()).register(registry)
                    .increment();
        } else {
            Counter.builder("keypool_tokens_total").tags(tags).tag("type", "prompt").register(registry)
                    .increment(e.promptTokens());
            Counter.builder("keypool_tokens_total").tags(tags).tag("type", "completion").register(registry)
                    .increment(e.completionTokens());
        }
    }

    private void timeCall(KeyId key, String outcome) {
        CallStart start = callStarts.get();
        if (key.equals(start.key)) {
            start.key = null;
            upstreamTimer(key.provider(), outcome).record(System.nanoTime() - start.nanos, TimeUnit.NANOSECONDS);
        }
    }

    /** The key acquired last on this thread, and when: a thread runs one call at a time. */
    private static final class CallStart {
        private KeyId key;
        private long nanos;
    }

    private CallMeters callMeters(KeyId key) {
        CallMeters call = callMeters.get(key);
        return call != null ? call : callMeters.computeIfAbsent(key, CallMeters::new);
    }

    /** The same meters as {@link #counter} would find; registering one twice returns the first. */
    private final class CallMeters {
        private final Counter acquired;
        private final Counter reservedTokens;
        private final Counter committed;
        private final Counter succeeded;
        private final Counter promptTokens;
        private final Counter completionTokens;

        private CallMeters(KeyId key) {
            acquired = counter("keypool_reservations_total", "Reservations by result", key, "result", "acquired");
            reservedTokens = counter("keypool_reserved_tokens_total", "Tokens reserved before calls", key);
            committed = counter("keypool_reservations_total", "Reservations by result", key, "result", "committed");
            succeeded = counter("keypool_key_requests_total", "Calls made with a key, by outcome", key, "outcome",
                    "success");
            promptTokens = counter("keypool_tokens_total", "Tokens used, as the provider reported", key, "type",
                    "prompt");
            completionTokens = counter("keypool_tokens_total", "Tokens used, as the provider reported", key, "type",
                    "completion");
        }
    }

    private Timer upstreamTimer(Provider provider, String outcome) {
        return memo.get(Timer.class, List.of("upstream", provider, outcome), () -> Timer.builder(
                        "keypool_upstream_duration_seconds")
                .description("Upstream calls from key acquisition to settlement, streaming included")
                .tags("provider", provider.id(), "outcome", outcome)
                .serviceLevelObjectives(LATENCY_BUCKETS)
                .register(registry));
    }

    private void stateChange(KeyId key, String state) {
        counter("keypool_key_state_changes_total", "Keys entering a state", key, "state", state).increment();
    }

    private Counter counter(String name, String description, KeyId key, String... extraTags) {
        return memo.get(Counter.class, List.of(name, key, List.of(extraTags)), () -> Counter.builder(name)
                .description(description)
                .tags("provider", key.provider().id(), "key_index", Integer.toString(key.index()))
                .tags(extraTags)
                .register(registry));
    }

    private void registerGauges(KeyConfig key) {
        KeyId id = key.id();
        Tags tags = Tags.of("provider", id.provider().id(), "key_index", Integer.toString(id.index()));
        List<Meter> registered = new ArrayList<>();
        registered.add(Gauge.builder("keypool_key_window_tokens", manager, m -> m.status(id).minuteTokens())
                .description("Tokens in the key's window, reservations included").tags(tags).tag("window", "minute")
                .register(registry));
        registered.add(Gauge.builder("keypool_key_window_tokens", manager, m -> m.status(id).dayTokens())
                .description("Tokens in the key's window, reservations included").tags(tags).tag("window", "day")
                .register(registry));
        if (key.limits().minuteLimited()) {
            registered.add(Gauge.builder("keypool_key_window_usage_ratio", manager, m -> ratio(m.status(id).minuteUsagePercent()))
                    .description("Share of the key's window limit in use, 0 to 1").tags(tags).tag("window", "minute")
                    .register(registry));
        }
        if (key.limits().dayLimited()) {
            registered.add(Gauge.builder("keypool_key_window_usage_ratio", manager, m -> ratio(m.status(id).dayUsagePercent()))
                    .description("Share of the key's window limit in use, 0 to 1").tags(tags).tag("window", "day")
                    .register(registry));
        }
        registered.add(Gauge.builder("keypool_key_window_requests", manager, m -> m.status(id).minuteRequests())
                .description("Requests in the key's window, reservations included").tags(tags).tag("window", "minute")
                .register(registry));
        registered.add(Gauge.builder("keypool_key_window_requests", manager, m -> m.status(id).dayRequests())
                .description("Requests in the key's window, reservations included").tags(tags).tag("window", "day")
                .register(registry));
        if (key.limits().requestMinuteLimited()) {
            registered.add(Gauge.builder("keypool_key_window_request_limit", key.limits(), WindowLimits::requestsPerMinute)
                    .description("The key's request limit in the window").tags(tags).tag("window", "minute")
                    .register(registry));
            registered.add(Gauge.builder("keypool_key_window_request_usage_ratio", manager,
                            m -> ratio(m.status(id).requestMinuteUsagePercent()))
                    .description("Share of the key's window request limit in use, 0 to 1").tags(tags)
                    .tag("window", "minute").register(registry));
        }
        if (key.limits().requestDayLimited()) {
            registered.add(Gauge.builder("keypool_key_window_request_limit", key.limits(), WindowLimits::requestsPerDay)
                    .description("The key's request limit in the window").tags(tags).tag("window", "day")
                    .register(registry));
            registered.add(Gauge.builder("keypool_key_window_request_usage_ratio", manager,
                            m -> ratio(m.status(id).requestDayUsagePercent()))
                    .description("Share of the key's window request limit in use, 0 to 1").tags(tags)
                    .tag("window", "day").register(registry));
        }
        registered.add(Gauge.builder("keypool_key_available", manager, m -> statusValue(m.status(id), KeyStatus.ACTIVE))
                .description("1 when the key can serve, else 0").tags(tags).register(registry));
        registered.add(Gauge.builder("keypool_key_cooling_down", manager, m -> statusValue(m.status(id), KeyStatus.COOLING_DOWN))
                .description("1 while the key rests after a rate limit or server error").tags(tags).register(registry));
        registered.add(Gauge.builder("keypool_key_deactivated", manager, m -> statusValue(m.status(id), KeyStatus.DEACTIVATED))
                .description("1 while the key is deactivated").tags(tags).register(registry));
        registered.add(Gauge.builder("keypool_key_requests_in_flight", manager, m -> m.requestsInFlight(id))
                .description("Requests on the key reserved and not yet settled, in this process").tags(tags)
                .register(registry));
        gauges.put(id, List.copyOf(registered));
    }

    private static double ratio(Double percent) {
        return percent == null ? Double.NaN : percent / 100.0;
    }

    private static double statusValue(KeyStatusSnapshot snapshot, KeyStatus status) {
        return snapshot.status() == status ? 1 : 0;
    }
}
