package dev.keypool.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.config.ConfigException;
import dev.keypool.config.KeyChanges;
import dev.keypool.config.KeyId;
import dev.keypool.config.Provider;
import dev.keypool.rotation.ApiKeyManager;
import dev.keypool.server.feed.EventJson;
import dev.keypool.server.status.StatusReporter;
import dev.keypool.server.usage.UsageRecorder;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The seed's admin API at its exact paths (with and without the trailing slash), and what the
 * dashboard adds: per-key activate and deactivate, and the server's info. Every route needs the
 * admin token.
 */
final class AdminResource implements HttpService {

    static final String SETUP_HINT = "Add keys to .env: OPENAI_API_KEYS=sk-...,sk-... (see .env.example), then reload"
            + " (the dashboard's Reload .env, POST /api/admin/reload or kill -HUP) or restart";

    private final Tokens tokens;
    private final ApiKeyManager manager;
    private final StatusReporter statusReporter;
    private final UsageRecorder recorder;
    private final ServerSettings settings;
    private final ConfigReload reload;

    AdminResource(Tokens tokens, ApiKeyManager manager, StatusReporter statusReporter, UsageRecorder recorder,
            ServerSettings settings, ConfigReload reload) {
        this.reload = reload;
        this.tokens = tokens;
        this.manager = manager;
        this.statusReporter = statusReporter;
        this.recorder = recorder;
        this.settings = settings;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/api/admin/api-key-status", this::status)
                .get("/api/admin/api-key-status/", this::status)
                .post("/api/admin/api-key-reset", this::reset)
                .post("/api/admin/api-key-reset/", this::reset)
                .get("/api/admin/api-key-usage-report", this::usageReport)
                .get("/api/admin/api-key-usage-report/", this::usageReport)
                .post("/api/admin/keys/{provider}/{index}/deactivate", this::deactivate)
                .post("/api/admin/keys/{provider}/{index}/deactivate/", this::deactivate)
                .post("/api/admin/keys/{provider}/{index}/activate", this::activate)
                .post("/api/admin/keys/{provider}/{index}/activate/", this::activate)
                .post("/api/admin/reload", this::reload)
                .post("/api/admin/reload/", this::reload)
                .get("/api/admin/info", this::info)
                .get("/api/admin/info/", this::info);
    }

    private void status(ServerRequest request, ServerResponse response) {
        tokens.requireAdmin(request, false);
        Http.json(response, statusReporter.report());
    }

    private void usageReport(ServerRequest request, ServerResponse response) {
        tokens.requireAdmin(request, false);
        Http.json(response, recorder.report());
    }

    /** Body {@code {"provider"?, "index"?}}: that key, that provider's resting keys, or every resting key. */
    private void reset(ServerRequest request, ServerResponse response) {
        tokens.requireAdmin(request, false);
        JsonNode body = Http.jsonBody(request, settings.maxBodyBytes());
        if (body != null && !body.isObject()) {
            throw ApiException.badRequest("invalid_request", "The body must be a JSON object: {\"provider\"?, \"index\"?}");
        }
        JsonNode providerField = body == null ? null : body.get("provider");
        JsonNode indexField = body == null ? null : body.get("index");
        boolean hasProvider = providerField != null && !providerField.isNull();
        boolean hasIndex = indexField != null && !indexField.isNull();
        List<KeyId> reset;
        if (hasIndex) {
            if (!hasProvider) {
                throw ApiException.badRequest("missing_provider", "'index' needs 'provider' to name a key");
            }
            if (!indexField.canConvertToInt() || !indexField.isIntegralNumber()) {
                throw ApiException.badRequest("invalid_index", "'index' must be an integer");
            }
            KeyId id = keyId(providerField.asText(), Integer.toString(indexField.asInt()));
            manager.activate(id);
            reset = List.of(id);
        } else if (hasProvider) {
            reset = manager.reset(provider(providerField.asText()));
        } else {
            reset = manager.resetAll();
        }
        List<Map<String, Object>> keys = new ArrayList<>();
        for (KeyId id : reset) {
            Map<String, Object> key = new LinkedHashMap<>();
            key.put("provider", id.provider().id());
            key.put("index", id.index());
            key.put("masked_key", manager.key(id).maskedKey());
            keys.add(key);
        }
        Http.json(response, Map.of("reset", keys));
    }

    /**
     * Reads the configuration again and puts its keys in service ({@link ConfigReload}): answers
     * what changed, per provider ({@code added}, {@code removed}, {@code kept}, each key's index
     * and masked key) and {@code restart_required}; 422 with start-up's message when the
     * configuration is refused (nothing changed); 409 when this gateway cannot reload.
     */
    private void reload(ServerRequest request, ServerResponse response) {
        tokens.requireAdmin(request, false);
        if (reload.unavailable() != null) {
            throw new ApiException(409, "invalid_request_error", "reload_unavailable",
                    "Cannot reload: " + reload.unavailable());
        }
        KeyChanges changes;
        try {
            changes = reload.reload();
        } catch (ConfigException e) {
            throw new ApiException(422, "invalid_request_error", "invalid_configuration", e.variable(),
                    "The configuration was refused and nothing changed: " + e.getMessage(), Map.of());
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("outcome", "applied");
        body.putAll(EventJson.changes(changes));
        Http.json(response, body);
    }

    private void deactivate(ServerRequest request, ServerResponse response) {
        tokens.requireAdmin(request, false);
        KeyId id = keyId(request);
        JsonNode body = Http.jsonBody(request, settings.maxBodyBytes());
        String reason = body != null && body.hasNonNull("reason") ? body.get("reason").asText() : null;
        manager.deactivate(id, reason);
        keyStatus(response, id);
    }

    private void activate(ServerRequest request, ServerResponse response) {
        tokens.requireAdmin(request, false);
        KeyId id = keyId(request);
        manager.activate(id);
        keyStatus(response, id);
    }

    private void info(ServerRequest request, ServerResponse response) {
        tokens.requireAdmin(request, false);
        List<String> configured = new ArrayList<>();
        for (Provider provider : Provider.values()) {
            if (!manager.keys(provider).isEmpty()) {
                configured.add(provider.id());
            }
        }
        Map<String, Object> info = new LinkedHashMap<>();
        info.put("version", Main.version());
        info.put("demo", settings.demo());
        info.put("providers_configured", configured);
        // the dashboard's list of providers, in their order: adding one adds it there
        List<Map<String, Object>> providers = new ArrayList<>();
        for (Provider provider : Provider.values()) {
            providers.add(Map.of("id", provider.id(), "name", provider.displayName(), "uses_keys", provider.usesKeys()));
        }
        info.put("providers", providers);
        info.put("setup_hint", SETUP_HINT);
        info.put("client_tokens_required", !settings.clientTokens().isEmpty());
        info.put("reload_available", reload.unavailable() == null);
        info.put("last_reload", reload.last());
        Http.json(response, info);
    }

    private void keyStatus(ServerResponse response, KeyId id) {
        Http.json(response, statusReporter.key(id.provider(), manager.status(id), manager.clock().millis()));
    }

    private KeyId keyId(ServerRequest request) {
        var parameters = request.path().pathParameters();
        return keyId(parameters.get("provider"), parameters.get("index"));
    }

    private KeyId keyId(String providerName, String indexText) {
        Provider provider = provider(providerName);
        int index;
        try {
            index = Integer.parseInt(indexText);
        } catch (NumberFormatException e) {
            throw ApiException.notFound("unknown_key", "No key '" + indexText + "' of " + provider.id());
        }
        List<Integer> indexes = manager.keys(provider).stream().map(key -> key.index()).sorted().toList();
        if (!indexes.contains(index)) {
            int count = indexes.size();
            throw ApiException.notFound("unknown_key", "No " + provider.id() + " key " + index + ": "
                    + count + " " + (count == 1 ? "is" : "are") + " configured" + (count == 0 ? "" : " " + indexes));
        }
        return KeyId.of(provider, index);
    }

    private static Provider provider(String name) {
        try {
            return Provider.of(name);
        } catch (IllegalArgumentException e) {
            throw ApiException.notFound("unknown_provider", e.getMessage());
        }
    }
}
