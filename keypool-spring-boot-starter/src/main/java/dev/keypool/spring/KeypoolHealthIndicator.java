package dev.keypool.spring;

import dev.keypool.config.Provider;
import dev.keypool.rotation.ApiKeyManager;
import dev.keypool.rotation.ProviderStatus;
import dev.keypool.usage.UsageStore;
import java.lang.reflect.Method;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;

/**
 * The pool's health as Actuator shows it ({@code /actuator/health/keypool}): per provider with keys,
 * how many are configured and how many can serve now; and the usage store, its kind and whether it
 * is degraded (a shared store out of reach, each instance accounting locally with its share, as
 * the gateway's health says). Down when keys are configured and none of any provider can serve;
 * a degraded store alone keeps the pool up, as in the gateway.
 */
public final class KeypoolHealthIndicator extends AbstractHealthIndicator {

    private final ApiKeyManager manager;

    public KeypoolHealthIndicator(ApiKeyManager manager) {
        super("keypool health check failed");
        this.manager = manager;
    }

    @Override
    protected void doHealthCheck(Health.Builder builder) {
        int configured = 0;
        int usable = 0;
        for (Provider provider : Provider.values()) {
            if (!provider.usesKeys() || manager.keys(provider).isEmpty()) {
                continue;
            }
            ProviderStatus status = manager.providerStatus(provider);
            configured += status.totalKeys();
            usable += status.activeKeys();
            builder.withDetail(provider.id(), Map.of("configured", status.totalKeys(), "usable", status.activeKeys()));
        }
        UsageStore store = manager.store();
        Map<String, Object> storeDetail = new LinkedHashMap<>();
        storeDetail.put("kind", store.getClass().getSimpleName());
        storeDetail.put("degraded", degraded(store));
        builder.withDetail("store", storeDetail);
        if (configured > 0 && usable == 0) {
            builder.down();
        } else {
            builder.up();
        }
    }

    /**
     * Whether the store says it is degraded: the shared (Redis) store has a {@code degraded()};
     * read by name so that this starter does not depend on the Redis module.
     */
    static boolean degraded(UsageStore store) {
        try {
            Method degraded = store.getClass().getMethod("degraded");
            return degraded.getReturnType() == boolean.class && (boolean) degraded.invoke(store);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return false;
        }
    }
}
