package dev.keypool.server;

import dev.keypool.config.Provider;
import dev.keypool.rotation.ProviderStatus;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code GET /health} (readiness: 503 while draining), {@code /health/live} (the process answers)
 * and {@code /health/ready}. A gateway with no keys is ready: it serves its dashboard, which says
 * how to add them.
 */
final class HealthResource implements HttpService {

    private final Gateway gateway;

    HealthResource(Gateway gateway) {
        this.gateway = gateway;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/health", this::ready)
                .get("/health/", this::ready)
                .get("/health/ready", this::ready)
                .get("/health/live", this::live);
    }

    private void ready(ServerRequest request, ServerResponse response) {
        boolean storeConnected = gateway.storeConnected();
        boolean degraded = gateway.storeDegraded();
        // Degraded is still up: the instance serves on its share of each limit.
        boolean up = !gateway.draining() && (storeConnected || degraded);
        Map<String, Object> checks = new LinkedHashMap<>();
        checks.put("server", gateway.draining() ? "DRAINING" : "UP");
        for (Provider provider : Provider.values()) {
            // Key status lives in the store: with Redis unreachable and no local accounting there is none to read.
            if (provider.usesKeys() && (storeConnected || degraded)) {
                ProviderStatus status = gateway.manager().providerStatus(provider);
                checks.put(provider.id(), Map.of("keys", status.totalKeys(), "usable_keys", status.activeKeys()));
            }
        }
        checks.put("ollama", Map.of("available", gateway.ollamaAvailable()));
        checks.put("store", Map.of("kind", gateway.storeKind(), "connected", storeConnected, "degraded", degraded));
        checks.put("demo", gateway.settings().demo());
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("status", up ? "UP" : "DOWN");
        body.put("checks", checks);
        Http.json(response, up ? 200 : 503, body);
    }

    private void live(ServerRequest request, ServerResponse response) {
        Http.json(response, Map.of("status", "UP"));
    }
}
