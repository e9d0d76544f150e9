package dev.keypool.rotation;

import dev.keypool.config.KeyConfig;
import dev.keypool.config.KeyId;
import dev.keypool.config.Provider;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The caches of one snapshot of the keys ({@link ApiKeyManager#snapshot()}): built once per
 * snapshot, not per request, and replaced whole when the manager's keys change.
 */
final class Selection {

    final Keys keys;
    /** Smooth weighted round-robin's current weight of each key, by index; guarded by the array. */
    final Map<Provider, long[]> currentWeights = new EnumMap<>(Provider.class);
    final Map<Provider, Map<String, List<List<KeyConfig>>>> tiersByModel = new EnumMap<>(Provider.class);
    final Map<Provider, List<KeyId>> idsByProvider = new EnumMap<>(Provider.class);
    /** The one tier of every key, per provider. */
    final Map<Provider, List<List<KeyConfig>>> allKeysTier = new EnumMap<>(Provider.class);

    Selection(Keys keys, Selection previous) {
        this.keys = keys;
        for (Provider provider : Provider.values()) {
            List<KeyConfig> list = keys.byProvider.get(provider);
            int size = list.stream().mapToInt(key -> key.index() + 1).max().orElse(0);
            long[] weights = new long[size];
            if (previous != null) {
                // Kept keys keep their turn: a reload does not restart the weighted rotation.
                long[] before = previous.currentWeights.get(provider);
                synchronized (before) {
                    System.arraycopy(before, 0, weights, 0, Math.min(before.length, size));
                }
            }
            currentWeights.put(provider, weights);
            tiersByModel.put(provider, new ConcurrentHashMap<>());
            idsByProvider.put(provider, list.stream().map(KeyConfig::id).toList());
            allKeysTier.put(provider, List.of(list));
        }
    }

    /**
     * The keys to try for a model, in tiers: when some key is configured for the model, those keys,
     * then the keys with no model; otherwise every key. Models match ignoring case. Cached per
     * configured model, so the hot path allocates nothing here; an unconfigured model shares the
     * one "every key" tier.
     */
    List<List<KeyConfig>> tiers(Provider provider, String model) {
        List<KeyConfig> all = keys.byProvider.get(provider);
        if (model == null) {
            return allKeysTier.get(provider);
        }
        List<List<KeyConfig>> cached = tiersByModel.get(provider).get(model);
        if (cached != null) {
            return cached;
        }
        List<KeyConfig> matching = new ArrayList<>();
        List<KeyConfig> modelless = new ArrayList<>();
        for (KeyConfig key : all) {
            if (model.equalsIgnoreCase(key.model())) {
                matching.add(key);
            } else if (key.model() == null) {
                modelless.add(key);
            }
        }
        if (matching.isEmpty()) {
            return allKeysTier.get(provider);
        }
        List<List<KeyConfig>> tiers = modelless.isEmpty() ? List.of(List.copyOf(matching))
                : List.of(List.copyOf(matching), List.copyOf(modelless));
        // Keyed by the model as written: only spellings of configured models are ever cached.
        tiersByModel.get(provider).put(model, tiers);
        return tiers;
    }

    /**
     * Smooth weighted round-robin (nginx's): every open key of the tier gains its weight, the one
     * with the most is chosen and loses the tier's total. Over any run of requests each key gets
     * its share of them, evenly spread. When the chosen key refuses, the rest are tried in order
     * after it; the choice stands (it was its turn).
     *
     * @return the index in {@code tier} to try first, or -1 when every key is excluded
     */
    int weightedPick(Provider provider, List<KeyConfig> tier, Set<KeyId> exclude) {
        long[] current = currentWeights.get(provider);
        synchronized (current) {
            long total = 0;
            int best = -1;
            for (int i = 0; i < tier.size(); i++) {
                KeyConfig key = tier.get(i);
                if (exclude.contains(key.id())) {
                    continue;
                }
                current[key.index()] += key.weight();
                total += key.weight();
                if (best < 0 || current[key.index()] > current[tier.get(best).index()]) {
                    best = i;
                }
            }
            if (best >= 0) {
                current[tier.get(best).index()] -= total;
            }
            return best;
        }
    }

    /** The ids of {@code keys}; the cached list when they are every key of a provider in this snapshot. */
    List<KeyId> ids(List<KeyConfig> keys) {
        Provider provider = keys.get(0).provider();
        // The very list of every key of the snapshot, not one of its size: a reload may have replaced it.
        if (keys == allKeysTier.get(provider).get(0)) {
            return idsByProvider.get(provider);
        }
        List<KeyId> ids = new ArrayList<>(keys.size());
        for (KeyConfig key : keys) {
            ids.add(key.id());
        }
        return ids;
    }
}
