package dev.keypool.rotation;

/**
 * A user's call made with a pooled key. It reads the key from {@link Reservation#apiKey()} and may
 * report the usage the provider returned with {@link Reservation#reportUsage(TokenUsage)}.
 */
@FunctionalInterface
public interface KeyOperation<T> {

    T apply(Reservation reservation) throws Exception;
}
