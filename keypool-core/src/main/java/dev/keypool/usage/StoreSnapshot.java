package dev.keypool.usage;

import dev.keypool.config.KeyId;
import java.util.List;

/**
 * The whole content of an {@link InMemoryUsageStore} at one moment (consistent per key), as
 * {@link DurableUsageStore} writes and reads it.
 */
record StoreSnapshot(long bucketMillis, long nextTicketId, List<KeyWindow> windows, List<Ticket> pending) {

    record KeyWindow(KeyId key, long[] ring, long head, long minuteSum, long epochDay, long dayTokens,
            KeyState state) {
    }
}
