package dev.keypool.usage;

/** Why a store refused a reservation on one key. */
public enum DenialReason {
    /** The key is resting after a rate limit or server error. */
    COOLING_DOWN,
    /** The key is deactivated (out of quota, invalid, or by an admin). */
    DEACTIVATED,
    /** The sliding minute has no room for the tokens yet. */
    MINUTE_LIMIT,
    /** The day has no room for the tokens. */
    DAY_LIMIT,
    /** The request is larger than the key's limit itself; it will never fit. */
    EXCEEDS_LIMIT,
    /** The key has as many requests in flight as its {@code {P}_MAX_CONCURRENT_i} allows, in this process. */
    AT_CONCURRENCY_CAP,
    /**
     * The sliding minute has had as many requests as {@code {P}_MAX_REQUESTS_PER_MINUTE_i} allows;
     * retry when the oldest settled one leaves it.
     */
    REQUEST_MINUTE_LIMIT,
    /** The day has had as many requests as {@code {P}_MAX_REQUESTS_PER_DAY_i} allows; retry at the next day. */
    REQUEST_DAY_LIMIT
}
