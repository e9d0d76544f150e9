package dev.keypool.rotation;

import dev.keypool.config.KeyChanges;
import dev.keypool.config.KeyConfig;
import dev.keypool.config.KeyId;
import dev.keypool.config.Provider;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The keys in service: never changed once published, so a reader that takes it once sees one
 * configuration throughout.
 */
final class Keys {

    final Map<KeyId, KeyConfig> byId;
    final Map<Provider, List<KeyConfig>> byProvider;
    final List<KeyId> allIds;

    Keys(Map<Provider, List<KeyConfig>> keysByProvider) {
        Map<KeyId, KeyConfig> ids = new LinkedHashMap<>();
        Map<Provider, List<KeyConfig>> providers = new EnumMap<>(Provider.class);
        for (Provider provider : Provider.values()) {
            List<KeyConfig> list = List.copyOf(keysByProvider.getOrDefault(provider, List.of()));
            providers.put(provider, list);
            list.forEach(key -> ids.put(key.id(), key));
        }
        this.byId = Collections.unmodifiableMap(ids);
        this.byProvider = Collections.unmodifiableMap(providers);
        this.allIds = List.copyOf(ids.keySet());
    }

    /**
     * What changed from these keys to {@code after}, per provider: the keys added, removed and kept
     * (with the settings that changed on each), and the settings that need a restart.
     */
    KeyChanges changesTo(Keys after, List<String> restartRequired) {
        Keys before = this;
        Map<Provider, KeyChanges.ProviderChanges> providers = new EnumMap<>(Provider.class);
        for (Provider provider : Provider.values()) {
            if (!provider.usesKeys()) {
                continue;
            }
            List<KeyChanges.Key> added = new ArrayList<>();
            List<KeyChanges.Key> kept = new ArrayList<>();
            List<KeyChanges.Key> removed = new ArrayList<>();
            List<KeyConfig> previous = before.byProvider.get(provider);
            List<KeyConfig> list = after.byProvider.get(provider);
            for (int position = 0; position < list.size(); position++) {
                KeyConfig key = list.get(position);
                KeyConfig old = before.byId.get(key.id());
                if (old == null) {
                    added.add(new KeyChanges.Key(key.id(), key.maskedKey(), List.of()));
                } else {
                    kept.add(new KeyChanges.Key(key.id(), key.maskedKey(),
                            settingsChanged(old, key, previous.indexOf(old) != position)));
                }
            }
            for (KeyConfig old : previous) {
                if (!after.byId.containsKey(old.id())) {
                    removed.add(new KeyChanges.Key(old.id(), old.maskedKey(), List.of()));
                }
            }
            providers.put(provider, new KeyChanges.ProviderChanges(added, removed, kept));
        }
        return new KeyChanges(providers, restartRequired);
    }

    private static List<String> settingsChanged(KeyConfig old, KeyConfig now, boolean moved) {
        List<String> changed = new ArrayList<>();
        if (!Objects.equals(old.model(), now.model())) {
            changed.add("model");
        }
        if (old.limits().perMinute() != now.limits().perMinute()) {
            changed.add("max_tokens_per_minute");
        }
        if (old.limits().perDay() != now.limits().perDay()) {
            changed.add("max_tokens_per_day");
        }
        if (old.limits().requestsPerMinute() != now.limits().requestsPerMinute()) {
            changed.add("max_requests_per_minute");
        }
        if (old.limits().requestsPerDay() != now.limits().requestsPerDay()) {
            changed.add("max_requests_per_day");
        }
        if (old.maxConcurrent() != now.maxConcurrent()) {
            changed.add("max_concurrent");
        }
        if (old.weight() != now.weight()) {
            changed.add("weight");
        }
        if (moved) {
            changed.add("position");
        }
        return changed;
    }

    /** Its position when no secret had that index in this process, else the lowest index none had. */
    static KeyId freeHandle(Provider provider, int position, Set<KeyId> taken) {
        KeyId preferred = KeyId.of(provider, position);
        if (!taken.contains(preferred)) {
            return preferred;
        }
        for (int index = 0; ; index++) {
            KeyId candidate = KeyId.of(provider, index);
            if (!taken.contains(candidate)) {
                return candidate;
            }
        }
    }
}
