package dev.keypool.usage;

/**
 * A key's usage at one moment: tokens in the last sliding minute and in the current day, counting
 * reservations not yet settled, and its state.
 *
 * @param minuteFullUntilMillis until when the store counts the key's minute as full whatever its
 *                              tokens (after an unclean stop, or a shared store that lost its data,
 *                              it cannot know what the lost interval admitted); 0 when it does not
 */
public record KeyUsage(long minuteTokens, long dayTokens, KeyState state, long minuteFullUntilMillis) {

    public KeyUsage(long minuteTokens, long dayTokens, KeyState state) {
        this(minuteTokens, dayTokens, state, 0);
    }

    /** Whether a key with a minute limit is refused on its minute at {@code nowMillis} whatever its tokens. */
    public boolean minuteFullAt(long nowMillis) {
        return nowMillis < minuteFullUntilMillis;
    }
}
