package dev.keypool.usage;

/**
 * A key's usage at one moment: tokens and requests in the last sliding minute and in the current
 * day, counting reservations not yet settled (each one request), and its state.
 *
 * @param minuteFullUntilMillis until when the store counts the key's minute as full whatever its
 *                              tokens and requests (after an unclean stop, or a shared store that
 *                              lost its data, it cannot know what the lost interval admitted); 0
 *                              when it does not
 * @param minuteRequests        requests in the sliding minute: reservations held, and those settled
 *                              in it
 * @param dayRequests           requests in the day, reservations held included
 */
public record KeyUsage(long minuteTokens, long dayTokens, KeyState state, long minuteFullUntilMillis,
        long minuteRequests, long dayRequests) {

    /** Usage without requests (a store, or a test, that does not count them). */
    public KeyUsage(long minuteTokens, long dayTokens, KeyState state, long minuteFullUntilMillis) {
        this(minuteTokens, dayTokens, state, minuteFullUntilMillis, 0, 0);
    }

    public KeyUsage(long minuteTokens, long dayTokens, KeyState state) {
        this(minuteTokens, dayTokens, state, 0);
    }

    /** Whether a key with a minute limit is refused on its minute at {@code nowMillis} whatever its tokens. */
    public boolean minuteFullAt(long nowMillis) {
        return nowMillis < minuteFullUntilMillis;
    }
}
