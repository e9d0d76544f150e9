package dev.keypool.usage;

/**
 * Which key created an object that lives upstream: a stored response, an uploaded file, a cached
 * content, an archived search. Keys in a pool may belong to different accounts, and an object made
 * through one is invisible to the others, so a later request that names it must go to the same key.
 *
 * <p>Keys are named by a reference that carries no secret (see {@code Relay}); an entry expires
 * when the provider would have forgotten the object anyway. Implementations are thread-safe and
 * bounded: the oldest entries go first when the bound is reached.
 */
public interface AffinityStore extends AutoCloseable {

    /** Remembers that {@code keyRef}'s key created {@code objectId}, until {@code expiresAtMillis}. */
    void remember(String objectId, String keyRef, long expiresAtMillis);

    /** The key that created {@code objectId}, or {@code null} when none is remembered (or it expired). */
    String recall(String objectId, long nowMillis);

    @Override
    default void close() {
    }
}
