package dev.keypool.providers.fake;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Objects a provider stores for an account (OpenAI's stored responses and files, Gemini's cached
 * contents, SerpApi's archived searches): each belongs to the key that created it, and no other key
 * can see it, as keys in a pool may belong to different accounts.
 */
final class Ledger<T> {

    private record Entry<T>(String owner, T value) {
    }

    private final Map<String, Entry<T>> entries = new LinkedHashMap<>();

    synchronized void put(String id, String owner, T value) {
        entries.put(id, new Entry<>(owner, value));
    }

    /** The object, or {@code null} when there is none or it belongs to another key. */
    synchronized T get(String id, String key) {
        Entry<T> entry = entries.get(id);
        return entry != null && Objects.equals(entry.owner(), key) ? entry.value() : null;
    }

    /** Removes and returns the object, or {@code null} when there is none or it belongs to another key. */
    synchronized T remove(String id, String key) {
        T value = get(id, key);
        if (value != null) {
            entries.remove(id);
        }
        return value;
    }

    /** The objects {@code key} owns, oldest first. */
    synchronized List<T> owned(String key) {
        List<T> owned = new ArrayList<>();
        entries.values().forEach(entry -> {
            if (Objects.equals(entry.owner(), key)) {
                owned.add(entry.value());
            }
        });
        return owned;
    }

    /** Which key owns the object, or {@code null}. */
    synchronized String owner(String id) {
        Entry<T> entry = entries.get(id);
        return entry == null ? null : entry.owner();
    }

    synchronized void clear() {
        entries.clear();
    }
}
