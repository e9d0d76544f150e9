package dev.keypool.usage;

/** The answer to one reservation attempt on one key. */
public sealed interface ReserveResult {

    /**
     * The tokens are reserved in both windows.
     *
     * @param probing when the key's rest had ended and this reservation is its probe: the state
     *                the store put the key in meanwhile (the same rest, until {@link UsageStore#PROBE_MILLIS}
     *                from now), which the probe's outcome replaces; {@code null} for a key that was active
     */
    record Granted(Ticket ticket, KeyState probing) implements ReserveResult {

        public Granted(Ticket ticket) {
            this(ticket, null);
        }

        /** Whether this reservation probes a key whose rest just ended. */
        public boolean probe() {
            return probing != null;
        }
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
