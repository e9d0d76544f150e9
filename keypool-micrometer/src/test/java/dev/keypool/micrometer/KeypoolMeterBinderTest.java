package dev.keypool.micrometer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.config.WindowLimits;
import dev.keypool.rotation.ApiKeyManager;
import dev.keypool.rotation.ApiKeyRotator;
import dev.keypool.rotation.Reservation;
import dev.keypool.rotation.TokenUsage;
import dev.keypool.testing.ManualClock;
import dev.keypool.usage.InMemoryUsageStore;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.search.Search;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The pool's meters on plain registries, as any Micrometer user binds them: what the pool did shows
 * under the gateway's names, per key index, in every registry bound.
 */
class KeypoolMeterBinderTest {

    private static final String KEY_0 = "sk-proj-TEST.meters-key-0000";
    private static final String KEY_1 = "sk-proj-TEST.meters-key-1111";

    private final ManualClock clock = ManualClock.atNoonish();
    private final ApiKeyManager manager = new ApiKeyManager(config(KEY_0, KEY_1), new InMemoryUsageStore(), clock);
    private final ApiKeyRotator rotator = new ApiKeyRotator(manager);
    private final SimpleMeterRegistry first = new SimpleMeterRegistry();
    private final SimpleMeterRegistry second = new SimpleMeterRegistry();

    private static KeypoolConfig config(String... keys) {
        KeypoolConfig.Builder builder = KeypoolConfig.builder();
        for (String key : keys) {
            builder.addKey(Provider.OPENAI, key, null, WindowLimits.of(1_000, 10_000).withRequests(5, 50));
        }
        return builder.build();
    }

    @AfterEach
    void close() {
        manager.close();
    }

    @Test
    void aCommittedCall_movesTheKeysCountersAndGauges_inEveryRegistryBound() {
        KeypoolMeterBinder binder = new KeypoolMeterBinder(manager, rotator);
        binder.bindTo(first);
        binder.bindTo(second);

        Reservation held = rotator.acquireOn(manager.keys(Provider.OPENAI).get(1).id(), null, 300);
        for (MeterRegistry registry : List.of(first, second)) {
            assertThat(gauge(registry, "keypool_key_window_tokens", "1", "window", "minute")).isEqualTo(300);
            assertThat(gauge(registry, "keypool_key_requests_in_flight", "1")).isEqualTo(1);
        }
        held.commit(TokenUsage.of(120, 40));

        for (MeterRegistry registry : List.of(first, second)) {
            assertThat(registry.get("keypool_keys_configured").tag("provider", "openai").gauge().value()).isEqualTo(2);
            assertThat(gauge(registry, "keypool_key_window_tokens", "1", "window", "minute")).isEqualTo(160);
            assertThat(gauge(registry, "keypool_key_window_requests", "1", "window", "minute")).isEqualTo(1);
            assertThat(gauge(registry, "keypool_key_window_request_usage_ratio", "1", "window", "minute"))
                    .isEqualTo(0.2);
            assertThat(gauge(registry, "keypool_key_requests_in_flight", "1")).isZero();
            assertThat(counter(registry, "keypool_tokens_total", "1", "type", "prompt")).isEqualTo(120);
            assertThat(counter(registry, "keypool_tokens_total", "1", "type", "completion")).isEqualTo(40);
            assertThat(counter(registry, "keypool_key_requests_total", "1", "outcome", "success")).isEqualTo(1);
            assertThat(counter(registry, "keypool_reservations_total", "1", "result", "committed")).isEqualTo(1);
            assertThat(registry.get("keypool_upstream_duration_seconds").tag("outcome", "success").timer().count())
                    .isEqualTo(1);
        }
    }

    @Test
    void aRateLimitedKey_countsAFailover_andShowsCoolingDown() {
        new KeypoolMeterBinder(manager).bindTo(first);

        String answer = rotator.executeWithFallback(Provider.OPENAI, key -> {
            if (key.apiKey().equals(KEY_0)) {
                throw new IllegalStateException("429 Too Many Requests: rate limit reached");
            }
            key.reportUsage(TokenUsage.of(10, 5));
            return "served by key 1";
        }, 100, null);

        assertThat(answer).isEqualTo("served by key 1");
        assertThat(counter(first, "keypool_failovers_total", "0", "kind", "rate_limited")).isEqualTo(1);
        assertThat(counter(first, "keypool_key_failures_total", "0", "kind", "rate_limited")).isEqualTo(1);
        assertThat(gauge(first, "keypool_key_cooling_down", "0")).isEqualTo(1);
        assertThat(gauge(first, "keypool_key_available", "0")).isZero();
        assertThat(gauge(first, "keypool_keys_active")).isEqualTo(1);
        assertThat(counter(first, "keypool_key_requests_total", "1", "outcome", "success")).isEqualTo(1);
    }

    @Test
    void aReload_takesTheGaugesOfAKeyThatLeft_andAddsThoseOfAKeyThatJoined() {
        new KeypoolMeterBinder(manager).bindTo(first);

        manager.reload(config(KEY_1, "sk-proj-TEST.meters-key-2222"));

        assertThat(first.find("keypool_key_available").tag("key_index", "0").gauge()).isNull();
        assertThat(gauge(first, "keypool_key_available", "1")).isEqualTo(1);
        assertThat(gauge(first, "keypool_key_available", "2")).isEqualTo(1);
        assertThat(first.get("keypool_reloads_total").tag("outcome", "applied").counter().count()).isEqualTo(1);
    }

    @Test
    void aReloadThatChangesAKeptKeysLimits_showsTheNewLimits() {
        new KeypoolMeterBinder(manager).bindTo(first);
        assertThat(gauge(first, "keypool_key_window_request_limit", "0", "window", "minute")).isEqualTo(5);

        manager.reload(KeypoolConfig.builder()
                .addKey(Provider.OPENAI, KEY_0, null, WindowLimits.of(1_000, 10_000).withRequests(9, 90))
                .addKey(Provider.OPENAI, KEY_1, null, WindowLimits.of(1_000, 10_000).withRequests(5, 50))
                .build());

        assertThat(gauge(first, "keypool_key_window_request_limit", "0", "window", "minute")).isEqualTo(9);
        assertThat(gauge(first, "keypool_key_window_request_limit", "0", "window", "day")).isEqualTo(90);
        assertThat(gauge(first, "keypool_key_window_request_limit", "1", "window", "minute")).isEqualTo(5);
    }

    @Test
    void noMeterNamesOrTagsAKey() {
        new KeypoolMeterBinder(manager, rotator).bindTo(first);
        rotator.acquire(Provider.OPENAI, null, 10).commit(TokenUsage.of(5, 5));
        clock.advance(Duration.ofSeconds(1));

        assertThat(first.getMeters()).isNotEmpty().allSatisfy(meter -> assertThat(meter.getId().toString())
                .doesNotContain(KEY_0, KEY_1, "meters-key"));
    }

    private static double gauge(MeterRegistry registry, String name, String keyIndex, String... tags) {
        return registry.get(name).tags("provider", "openai", "key_index", keyIndex).tags(tags).gauge().value();
    }

    private static double gauge(MeterRegistry registry, String name) {
        return registry.get(name).tag("provider", "openai").gauge().value();
    }

    private static double counter(MeterRegistry registry, String name, String keyIndex, String... tags) {
        Search search = registry.find(name).tags("provider", "openai", "key_index", keyIndex).tags(tags);
        assertThat(search.counter()).as("%s%s on key %s", name, List.of(tags), keyIndex).isNotNull();
        return search.counter().count();
    }
}
