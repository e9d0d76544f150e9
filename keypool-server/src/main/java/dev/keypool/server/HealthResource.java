package dev.keypool.server;

import dev.keypool.config.Provider;
import dev.keypool.rotation.ApiKeyManager;
import dev.keypool.rotation.ProviderStatus;
import dev.keypool.usage.StoreHealth;
import dev.keypool.usage.UsageStore;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * {@code GET /health} (readiness: 503 while draining), {@code /health/live} (the process answers)
 * and {@code /health/ready}. A gateway with no keys is ready: it serves its dashboard, which says
 * how to add them. A degraded store (Redis unreachable, a data directory that cannot be written)
 * answers 200 with {@code "status": "DEGRADED"}: the instance serves, erring towards refusing.
 */
final class HealthResource implements HttpService {

    private final Door door;
    private final UsageStore store;
    private final ApiKeyManager manager;
    private final BooleanSupplier ollamaAvailable;
    private final boolean demo;

    HealthResource(Door door, UsageStore store, ApiKeyManager manager, BooleanSupplier ollamaAvailable, boolean demo) {
        this.door = door;
        this.store = store;
        this.manager = manager;
        this.ollamaAvailable = ollamaAvailable;
        this.demo = demo;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/health", this::ready)
                .get("/health/", this::ready)
                .get("/health/ready", this::ready)
                .get("/health/live", this::live);
    }

    private void ready(ServerRequest request, ServerResponse response) {
        boolean storeConnected = store.connected();
        StoreHealth health = store.health();
        boolean degraded = health.degraded();
        // Degraded is still up: the instance serves on its share of each limit.
        boolean up = !door.draining() && (storeConnected || degraded);
        Map<String, Object> checks = new LinkedHashMap<>();
        checks.put("server", door.draining() ? "DRAINING" : "UP");
        for (Provider provider : Provider.values()) {
            // Key status lives in the store: with Redis unreachable and no local accounting there is none to read.
            if (provider.usesKeys() && (storeConnected || degraded)) {
                ProviderStatus status = manager.providerStatus(provider);
                checks.put(provider.id(), Map.of("keys", status.totalKeys(), "usable_keys", status.activeKeys()));
            }
        }
        checks.put("ollama", Map.of("available", ollamaAvailable.getAsBoolean()));
        Map<String, Object> storeCheck = new LinkedHashMap<>();
        storeCheck.put("kind", store.kind());
        storeCheck.put("connected", storeConnected);
        storeCheck.put("degraded", degraded);
        storeCheck.put("problem", health.problem());
        checks.put("store", storeCheck);
        checks.put("demo", demo);
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("status", !up ? "DOWN" : degraded ? "DEGRADED" : "UP");
        body.put("checks", checks);
        Http.json(response, up ? 200 : 503, body);
    }

    private void live(ServerRequest request, ServerResponse response) {
        Http.json(response, Map.of("status", "UP"));
    }
}
