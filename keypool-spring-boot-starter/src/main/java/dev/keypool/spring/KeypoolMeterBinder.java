package dev.keypool.spring;

import dev.keypool.config.KeyConfig;
import dev.keypool.config.KeyId;
import dev.keypool.config.Provider;
import dev.keypool.event.KeyEvent;
import dev.keypool.event.KeyEventListener;
import dev.keypool.rotation.ApiKeyManager;
import dev.keypool.rotation.KeyStatusSnapshot;
import dev.keypool.usage.KeyStatus;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The pool's meters under the gateway's names ({@code keypool-server/README.md}, "Metrics"), so a
 * dashboard made for the gateway reads an application's in-process pool too: per provider
 * {@code keypool_keys_active} and {@code keypool_keys_configured}; per key (tagged {@code provider}
 * and {@code key_index}, its place among the provider's keys, never the key)
 * {@code keypool_key_available}, {@code keypool_key_cooling_down}, {@code keypool_key_deactivated},
 * {@code keypool_key_window_tokens{window}}; and, from the pool's events,
 * {@code keypool_key_requests_total{outcome}}, {@code keypool_key_failures_total{kind}},
 * {@code keypool_failovers_total{kind}}, {@code keypool_tokens_total{type}},
 * {@code keypool_reservations_total{result}} and {@code keypool_pool_exhausted_total{reason}}.
 */
public final class KeypoolMeterBinder implements MeterBinder {

    private final ApiKeyManager manager;
    private final Map<KeyId, Tags> keyTags = new HashMap<>();

    public KeypoolMeterBinder(ApiKeyManager manager) {
        this.manager = manager;
        for (Provider provider : Provider.values()) {
            List<KeyConfig> keys = manager.keys(provider);
            for (int i = 0; i < keys.size(); i++) {
                keyTags.put(keys.get(i).id(), Tags.of("provider", provider.id(), "key_index", Integer.toString(i)));
            }
        }
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        for (Provider provider : Provider.values()) {
            if (provider.usesKeys()) {
                Gauge.builder("keypool_keys_active", manager, m -> m.providerStatus(provider).activeKeys())
                        .description("Keys of the provider that can serve now").tag("provider", provider.id())
                        .register(registry);
                Gauge.builder("keypool_keys_configured", manager, m -> m.keys(provider).size())
                        .description("Keys configured for the provider").tag("provider", provider.id())
                        .register(registry);
            }
        }
        for (KeyConfig key : manager.allKeys()) {
            KeyId id = key.id();
            Tags tags = keyTags.get(id);
            Gauge.builder("keypool_key_window_tokens", manager, m -> m.status(id).minuteTokens())
                    .description("Tokens in the key's window, reservations included").tags(tags).tag("window", "minute")
                    .register(registry);
            Gauge.builder("keypool_key_window_tokens", manager, m -> m.status(id).dayTokens())
                    .description("Tokens in the key's window, reservations included").tags(tags).tag("window", "day")
                    .register(registry);
            Gauge.builder("keypool_key_available", manager, m -> is(m.status(id), KeyStatus.ACTIVE))
                    .description("1 when the key can serve, else 0").tags(tags).register(registry);
            Gauge.builder("keypool_key_cooling_down", manager, m -> is(m.status(id), KeyStatus.COOLING_DOWN))
                    .description("1 while the key rests after a rate limit or server error").tags(tags).register(registry);
            Gauge.builder("keypool_key_deactivated", manager, m -> is(m.status(id), KeyStatus.DEACTIVATED))
                    .description("1 while the key is deactivated").tags(tags).register(registry);
        }
        manager.events().addListener(new Events(registry));
    }

    private static double is(KeyStatusSnapshot snapshot, KeyStatus status) {
        return snapshot.status() == status ? 1 : 0;
    }

    /** The counters, moved by the pool's events. */
    private final class Events implements KeyEventListener {

        private final MeterRegistry registry;

        Events(MeterRegistry registry) {
            this.registry = registry;
        }

        @Override
        public void onEvent(KeyEvent event) {
            switch (event) {
                case KeyEvent.UsageCommitted e -> {
                    counter("keypool_key_requests_total", "Calls made with a key, by outcome", e.key(), "outcome",
                            "success").increment();
                    counter("keypool_tokens_total", "Tokens committed, by type", e.key(), "type", "prompt")
                            .increment(e.promptTokens());
                    counter("keypool_tokens_total", "Tokens committed, by type", e.key(), "type", "completion")
                            .increment(e.completionTokens());
                }
                case KeyEvent.KeyFailed e -> {
                    counter("keypool_key_requests_total", "Calls made with a key, by outcome", e.key(), "outcome",
                            "failure").increment();
                    counter("keypool_key_failures_total", "Failed calls by failure kind", e.key(), "kind",
                            e.kind().id()).increment();
                    if (e.failover()) {
                        counter("keypool_failovers_total", "Failures after which another key or provider was tried",
                                e.key(), "kind", e.kind().id()).increment();
                    }
                }
                case KeyEvent.ReservationReleased e -> counter("keypool_reservations_total", "Reservations by result",
                        e.key(), "result", e.expired() ? "expired" : "released").increment();
                case KeyEvent.PoolExhausted e -> Counter.builder("keypool_pool_exhausted_total")
                        .description("Requests refused because no key of the provider could take them")
                        .tags("provider", e.provider().id(), "reason",
                                e.reason() == null ? "no_keys" : e.reason().name().toLowerCase(Locale.ROOT))
                        .register(registry).increment();
                default -> {
                }
            }
        }

        private Counter counter(String name, String description, KeyId key, String... extra) {
            Tags tags = keyTags.getOrDefault(key, Tags.of("provider", key.provider().id()));
            return Counter.builder(name).description(description).tags(tags).tags(extra).register(registry);
        }
    }
}
