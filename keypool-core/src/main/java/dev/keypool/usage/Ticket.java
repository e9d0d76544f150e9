package dev.keypool.usage;

import dev.keypool.config.KeyId;

/**
 * What a store hands back for a granted reservation, and takes back to settle it. Carries where
 * the tokens were put, so that settling touches exactly those windows.
 *
 * @param id              unique within the store
 * @param key             the key the tokens were reserved on
 * @param tokens          how many tokens were reserved
 * @param admittedMillis  when they were reserved, on the caller's clock
 * @param epochDay        the day they were reserved on, the caller's
 * @param expiresMillis   when the store releases them if nobody settles them
 */
public record Ticket(long id, KeyId key, long tokens, long admittedMillis, long epochDay, long expiresMillis) {
}
