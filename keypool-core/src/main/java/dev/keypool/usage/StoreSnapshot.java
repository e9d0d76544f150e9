package dev.keypool.usage;

import dev.keypool.config.KeyId;
import java.util.List;

/**
 * The whole content of an {@link InMemoryUsageStore} at one moment (consistent per key), as
 * {@link DurableUsageStore} writes and reads it. Pending tickets are not part of it: a restart
 * charges what they held, since whoever held them is gone.
 */
record StoreSnapshot(long bucketMillis, long nextTicketId, List<KeyWindow> windows) {

    /**
     * One key's windows, under its fingerprint; a snapshot of format 1 named keys by index instead
     * ({@code legacyIndex}, and {@code key} is {@code null}). The request counters ({@code requests},
     * a ring parallel to {@code ring}, and the sums) are zero in a snapshot written before keys had
     * request limits (formats 1 and 2).
     */
    record KeyWindow(KeyFingerprint key, KeyId legacyIndex, long[] ring, long head, long minuteSum, long epochDay,
            long dayTokens, long held, KeyState state, long[] requests, long requestMinuteSum, long dayRequests,
            long heldRequests) {

        Object owner() {
            return key != null ? key : legacyIndex;
        }
    }
}
