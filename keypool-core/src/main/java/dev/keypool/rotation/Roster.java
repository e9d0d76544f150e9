package dev.keypool.rotation;

import dev.keypool.config.ConfigException;
import dev.keypool.config.KeyConfig;
import dev.keypool.config.KeyId;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.config.SecretDigest;
import dev.keypool.usage.UsageStore;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who the keys are: the keys in service, every key this process ever served, the handle of each
 * secret, and the removed keys still settling their requests in flight (the identity rules of
 * {@link ApiKeyManager}'s class comment).
 *
 * <p>Readers take {@link #keys()} once, a volatile read of an immutable snapshot; {@link #replace}
 * (serialised by its lock, which also guards the handles) publishes the next one in one write. A
 * key leaves the selection with that write and the status once its last request settles. Both
 * sides of that race end it: {@link #replace} marks a removed key leaving before it publishes, and
 * then drops the leaving keys with no request in flight; a request that settles later finds the
 * mark ({@link #lastSettled}). A request that takes a removed key from the old snapshot after that
 * drop is not shown as leaving; its settling finds no mark and changes nothing.
 */
final class Roster {

    /** The manager's log, where its other lines are. */
    private static final Logger LOG = LoggerFactory.getLogger(ApiKeyManager.class);

    private final UsageStore store;
    private final InFlight inFlight;
    /** The keys in service, replaced whole by {@link #replace}. */
    private volatile Keys keys;
    /** Every key this process ever served, by handle, with its latest settings: events of a key that left still name it. */
    private final Map<KeyId, KeyConfig> known = new ConcurrentHashMap<>();
    /** Removed keys whose requests in flight have not all settled yet. */
    private final Set<KeyId> leaving = ConcurrentHashMap.newKeySet();
    /** The handle of every secret this process has served; guarded by {@code this}. */
    private final Map<SecretDigest, KeyId> handles = new HashMap<>();

    /** The keys of {@code config}, registered with the store: at start-up a key's handle is its position. */
    Roster(KeypoolConfig config, UsageStore store, InFlight inFlight) {
        this.store = store;
        this.inFlight = inFlight;
        Map<Provider, List<KeyConfig>> byProvider = new EnumMap<>(Provider.class);
        Map<KeyId, SecretDigest> digests = new LinkedHashMap<>();
        for (Provider provider : Provider.values()) {
            List<KeyConfig> list = config.keys(provider);
            byProvider.put(provider, list);
            list.forEach(key -> digests.put(key.id(), key.secretDigest()));
        }
        store.register(digests);
        digests.forEach((id, digest) -> handles.put(digest, id));
        this.keys = new Keys(byProvider);
        this.keys.byId.forEach((id, key) -> {
            known.put(id, key);
            inFlight.track(id);
        });
    }

    /** The keys in service. */
    Keys keys() {
        return keys;
    }

    /** A key this process served, in service or not, with its latest settings; {@code null} for none. */
    KeyConfig known(KeyId id) {
        return known.get(id);
    }

    /** Whether a reload removed the key: it was served and is no longer in service. */
    boolean removed(KeyId id) {
        return !keys.byId.containsKey(id) && known.containsKey(id);
    }

    /** The removed keys of a provider whose requests in flight have not all settled yet, by handle. */
    List<KeyConfig> leaving(Provider provider) {
        return leaving.stream().filter(id -> id.provider() == provider).sorted().map(known::get).toList();
    }

    /**
     * Puts the keys of {@code next} in service: a secret served before keeps its handle, a new one
     * gets {@link Keys#freeHandle} and is registered with the store first.
     *
     * @return the keys now in service
     * @throws ConfigException when the store cannot take the new keys (then nothing changed)
     */
    synchronized Keys replace(KeypoolConfig next) {
        Keys before = keys;
        Map<Provider, List<KeyConfig>> byProvider = new EnumMap<>(Provider.class);
        Map<KeyId, SecretDigest> joining = new LinkedHashMap<>();
        Set<KeyId> taken = new HashSet<>(handles.values());
        for (Provider provider : Provider.values()) {
            List<KeyConfig> list = new ArrayList<>();
            for (KeyConfig key : next.keys(provider)) {
                SecretDigest digest = key.secretDigest();
                KeyId handle = handles.get(digest);
                if (handle == null) {
                    handle = Keys.freeHandle(provider, key.index(), taken);
                    taken.add(handle);
                    joining.put(handle, digest);
                }
                list.add(new KeyConfig(handle, key.secret(), key.model(), key.limits(), key.maxConcurrent(), key.weight()));
            }
            byProvider.put(provider, list);
        }
        if (!joining.isEmpty()) {
            try {
                store.register(joining);
            } catch (RuntimeException e) {
                throw new ConfigException("API_KEYS", "the store cannot take the new keys: " + e.getMessage());
            }
        }
        joining.forEach((handle, digest) -> {
            handles.put(digest, handle);
            inFlight.track(handle);
        });
        Keys after = new Keys(byProvider);
        after.byId.forEach(known::put);
        for (KeyId id : before.allIds) {
            if (!after.byId.containsKey(id)) {
                leaving.add(id);
            }
        }
        leaving.removeAll(after.byId.keySet());
        keys = after;
        leaving.removeIf(id -> inFlight.count(id) == 0);
        return after;
    }

    /**
     * A key's last request in flight settled ({@code settled}'s): if a reload removed it, it has
     * now left. The key is masked only then: this runs whenever a key's count drops to 0, which a
     * key serving one request at a time does on every request.
     */
    void lastSettled(Reservation settled) {
        KeyId id = settled.keyId();
        if (!leaving.isEmpty() && leaving.remove(id)) {
            LOG.info("{} {} has left the pool: its last request in flight settled", id, settled.maskedKey());
        }
    }
}
