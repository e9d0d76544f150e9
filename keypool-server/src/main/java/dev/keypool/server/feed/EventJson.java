package dev.keypool.server.feed;

import dev.keypool.config.KeyChanges;
import dev.keypool.event.KeyEvent;
import dev.keypool.usage.KeyState;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A key event as the dashboard feed sends it: {@code type}, {@code time}, {@code provider},
 * {@code index} and {@code masked_key} (null for pool-wide events), then the event's own fields in
 * snake_case. Events hold masked keys only.
 */
public final class EventJson {

    private EventJson() {
    }

    public static Map<String, Object> of(KeyEvent event) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("type", event.type());
        json.put("time", Instant.ofEpochMilli(event.timeMillis()).toString());
        json.put("provider", event.provider() == null ? null : event.provider().id());
        if (event instanceof KeyEvent.OfKey ofKey) {
            json.put("index", ofKey.key().index());
            json.put("masked_key", ofKey.maskedKey());
        } else {
            json.put("index", null);
            json.put("masked_key", null);
        }
        switch (event) {
            case KeyEvent.KeyAcquired e -> {
                json.put("model", e.model());
                json.put("tokens", e.tokens());
            }
            case KeyEvent.UsageCommitted e -> {
                json.put("tokens", e.totalTokens());
                json.put("reserved_tokens", e.reservedTokens());
                json.put("prompt_tokens", e.promptTokens());
                json.put("completion_tokens", e.completionTokens());
                json.put("total_tokens", e.totalTokens());
            }
            case KeyEvent.ReservationReleased e -> {
                json.put("tokens", e.tokens());
                json.put("expired", e.expired());
            }
            case KeyEvent.KeyFailed e -> {
                json.put("kind", e.kind().id());
                json.put("message", e.message());
                json.put("failover", e.failover());
            }
            case KeyEvent.KeyCooledDown e -> {
                json.put("kind", e.kind().id());
                json.put("until", until(e.untilMillis()));
            }
            case KeyEvent.KeyDeactivated e -> {
                json.put("kind", e.kind() == null ? null : e.kind().id());
                json.put("reason", e.reason());
                json.put("until", until(e.untilMillis()));
                json.put("by_admin", e.kind() == null);
            }
            case KeyEvent.KeyReactivated e -> json.put("by_admin", e.byAdmin());
            case KeyEvent.KeylessCalled e -> {
                json.put("model", e.model());
                json.put("prompt_tokens", e.promptTokens());
                json.put("completion_tokens", e.completionTokens());
                json.put("kind", e.failure() == null ? null : e.failure().id());
            }
            case KeyEvent.KeysReloaded e -> {
                json.put("outcome", e.applied() ? "applied" : "refused");
                json.put("changes", e.applied() ? changes(e.changes()) : null);
                json.put("errors", e.errors());
            }
            case KeyEvent.PoolExhausted e -> {
                json.put("model", e.model());
                json.put("tokens", e.tokens());
                json.put("reason", e.reason() == null ? "no_keys" : e.reason().name().toLowerCase(Locale.ROOT));
                json.put("until", until(e.retryAtMillis()));
            }
            case KeyEvent.RequestWaited e -> {
                json.put("waited_ms", e.waitedMillis());
                json.put("served", e.served());
            }
        }
        return json;
    }

    /**
     * What a reload changed, per provider: {@code added}, {@code removed} and {@code kept} keys,
     * each its index, masked key and the settings that changed; and {@code restart_required}.
     * The admin API's reload answer and the status's {@code last_reload} say it the same way.
     */
    public static Map<String, Object> changes(KeyChanges changes) {
        Map<String, Object> providers = new LinkedHashMap<>();
        changes.providers().forEach((provider, change) -> {
            Map<String, Object> lists = new LinkedHashMap<>();
            lists.put("added", keys(change.added()));
            lists.put("removed", keys(change.removed()));
            lists.put("kept", keys(change.kept()));
            providers.put(provider.id(), lists);
        });
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("providers", providers);
        json.put("restart_required", changes.restartRequired());
        return json;
    }

    private static List<Map<String, Object>> keys(List<KeyChanges.Key> keys) {
        List<Map<String, Object>> list = new ArrayList<>(keys.size());
        for (KeyChanges.Key key : keys) {
            Map<String, Object> json = new LinkedHashMap<>();
            json.put("index", key.key().index());
            json.put("masked_key", key.maskedKey());
            json.put("changed", key.changed());
            list.add(json);
        }
        return list;
    }

    private static String until(long millis) {
        return millis == KeyState.NEVER ? null : Instant.ofEpochMilli(millis).toString();
    }
}
