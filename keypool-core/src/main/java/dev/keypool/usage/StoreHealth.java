package dev.keypool.usage;

/**
 * Whether a store keeps its promise now: that what it counts outlives the process (the data
 * directory can be written) and is shared (Redis can be reached). A degraded store still serves,
 * erring towards refusing.
 *
 * @param problem what is wrong and what it means for the keys, for people; {@code null} when healthy
 */
public record StoreHealth(boolean degraded, String problem) {

    public static final StoreHealth HEALTHY = new StoreHealth(false, null);

    public static StoreHealth degraded(String problem) {
        return new StoreHealth(true, problem);
    }
}
