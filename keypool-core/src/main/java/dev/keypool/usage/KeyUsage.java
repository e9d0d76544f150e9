package dev.keypool.usage;

/**
 * A key's usage at one moment: tokens in the last sliding minute and in the current day, counting
 * reservations not yet settled, and its state.
 */
public record KeyUsage(long minuteTokens, long dayTokens, KeyState state) {
}
