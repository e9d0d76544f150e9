package dev.keypool.usage;

import dev.keypool.config.KeyId;
import java.util.List;

/**
 * The whole content of an {@link InMemoryUsageStore} at one moment (consistent per key), as
 * {@link DurableUsageStore} writes and reads it.
 */
record StoreSnapshot(long bucketMillis, long nextTicketId, List<KeyWindow> windows, List<PendingTicket> pending) {

    /**
     * One key's windows, under its fingerprint; a snapshot of format 1 named keys by index instead
     * ({@code legacyIndex}, and {@code key} is {@code null}).
     */
    record KeyWindow(KeyFingerprint key, KeyId legacyIndex, long[] ring, long head, long minuteSum, long epochDay,
            long dayTokens, KeyState state) {

        Object owner() {
            return key != null ? key : legacyIndex;
        }
    }

    /** A ticket pending when the snapshot was taken, under its key's fingerprint (or index, format 1). */
    record PendingTicket(KeyFingerprint key, KeyId legacyIndex, long id, long tokens, long admittedMillis,
            long epochDay, long expiresMillis) {

        static PendingTicket of(KeyFingerprint key, Ticket ticket) {
            return new PendingTicket(key, null, ticket.id(), ticket.tokens(), ticket.admittedMillis(),
                    ticket.epochDay(), ticket.expiresMillis());
        }

        boolean claimedBy(KeyId handle, KeyFingerprint fingerprint) {
            return key != null ? key.equals(fingerprint) : legacyIndex.equals(handle);
        }

        Ticket toTicket(KeyId handle) {
            return new Ticket(id, handle, tokens, admittedMillis, epochDay, expiresMillis);
        }
    }
}
