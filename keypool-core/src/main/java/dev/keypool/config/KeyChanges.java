package dev.keypool.config;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What a reload of the configuration did to the keys of each key-using provider: the keys that
 * joined, left and stayed, each named by its handle and its masked key only. A key is who its
 * secret is: the same secret at another position in {@code .env} is kept, a new secret at an old
 * position is one key removed and one added.
 *
 * @param providers       per provider (every key-using one, in {@link Provider} order)
 * @param restartRequired the settings whose new value was not applied, because only a restart applies
 *                        them ({@link KeypoolConfig#settingsDifferentFrom}); their variables' names
 */
public record KeyChanges(Map<Provider, ProviderChanges> providers, List<String> restartRequired) {

    public KeyChanges {
        Objects.requireNonNull(providers, "providers");
        EnumMap<Provider, ProviderChanges> copy = new EnumMap<>(Provider.class);
        copy.putAll(providers);
        providers = java.util.Collections.unmodifiableMap(copy);
        restartRequired = List.copyOf(restartRequired);
    }

    /**
     * One key as a reload names it.
     *
     * @param key       its handle in this process ({@link KeyId}: what the status's {@code index} shows)
     * @param maskedKey {@code sk-p…key1}
     * @param changed   for a kept key, which of its settings took a new value: {@code model},
     *                  {@code max_tokens_per_minute}, {@code max_tokens_per_day}, {@code max_concurrent},
     *                  {@code weight}, {@code position} (its place in {@code .env}); empty otherwise
     */
    public record Key(KeyId key, String maskedKey, List<String> changed) {

        public Key {
            Objects.requireNonNull(key, "key");
            changed = List.copyOf(changed);
        }
    }

    /** One provider's keys: those added, removed (they leave once their requests in flight settle) and kept. */
    public record ProviderChanges(List<Key> added, List<Key> removed, List<Key> kept) {

        public ProviderChanges {
            added = List.copyOf(added);
            removed = List.copyOf(removed);
            kept = List.copyOf(kept);
        }

        /** Whether the reload changed anything for this provider: a key added or removed, or a setting. */
        public boolean changedAnything() {
            return !added.isEmpty() || !removed.isEmpty() || kept.stream().anyMatch(key -> !key.changed().isEmpty());
        }
    }

    /** Whether the reload changed any key or any key's settings. */
    public boolean changedAnyKey() {
        return providers.values().stream().anyMatch(ProviderChanges::changedAnything);
    }

    /** The number of keys added, over every provider. */
    public int addedCount() {
        return providers.values().stream().mapToInt(p -> p.added().size()).sum();
    }

    /** The number of keys removed, over every provider. */
    public int removedCount() {
        return providers.values().stream().mapToInt(p -> p.removed().size()).sum();
    }
}
