package dev.keypool.usage;

/** The answer to one reservation attempt on one key. */
public sealed interface ReserveResult {

    /** The tokens are reserved in both windows. */
    record Granted(Ticket ticket) implements ReserveResult {
    }

    /**
     * Nothing was reserved.
     *
     * @param reason       why
     * @param retryAtMillis the earliest moment the same request could be granted, or
     *                     {@link KeyState#NEVER} when it never can without a reset
     */
    record Denied(DenialReason reason, long retryAtMillis) implements ReserveResult {
    }
}
