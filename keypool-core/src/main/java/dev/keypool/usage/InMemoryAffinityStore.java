package dev.keypool.usage;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * An {@link AffinityStore} in this process's memory, holding at most {@code capacity} entries: the
 * least recently remembered or recalled goes first. Stateful calls are a small share of traffic, so
 * one lock is cheaper than anything cleverer.
 */
public class InMemoryAffinityStore implements AffinityStore {

    /** Entries kept by default: about 10 MB at worst, a day of a busy gateway's stored objects. */
    public static final int DEFAULT_CAPACITY = 100_000;

    record Entry(String keyRef, long expiresAtMillis) {
    }

    private final Map<String, Entry> entries;

    public InMemoryAffinityStore() {
        this(DEFAULT_CAPACITY);
    }

    public InMemoryAffinityStore(int capacity) {
        if (capacity <= 0) {
            throw new IllegalArgumentException("capacity must be > 0, was " + capacity);
        }
        this.entries = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, InMemoryAffinityStore.Entry> eldest) {
                return size() > capacity;
            }
        };
    }

    @Override
    public synchronized void remember(String objectId, String keyRef, long expiresAtMillis) {
        entries.put(Objects.requireNonNull(objectId, "objectId"),
                new Entry(Objects.requireNonNull(keyRef, "keyRef"), expiresAtMillis));
    }

    @Override
    public synchronized String recall(String objectId, long nowMillis) {
        Entry entry = entries.get(objectId);
        if (entry == null) {
            return null;
        }
        if (entry.expiresAtMillis() <= nowMillis) {
            entries.remove(objectId);
            return null;
        }
        return entry.keyRef();
    }

    /** A copy of the live entries, oldest first, for a store that persists them. */
    synchronized Map<String, Entry> snapshot(long nowMillis) {
        Map<String, Entry> copy = new LinkedHashMap<>();
        entries.forEach((id, entry) -> {
            if (entry.expiresAtMillis() > nowMillis) {
                copy.put(id, entry);
            }
        });
        return copy;
    }
}
