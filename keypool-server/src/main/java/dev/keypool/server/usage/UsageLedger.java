package dev.keypool.server.usage;

import java.util.Map;
import java.util.NavigableMap;

/**
 * Where the usage history outlives the process, and where a cluster's instances meet: the
 * {@link UsageRecorder} adds what it counted about once a second, off the request path, and reads
 * the sums back for its reports.
 */
interface UsageLedger extends AutoCloseable {

    /**
     * Adds counted deltas, and drops what is older than the retention.
     *
     * @throws RuntimeException when they could not be added; nothing was, and the caller keeps them
     */
    void add(Map<UsageCell, long[]> deltas, long nowMillis);

    /** The cells of {@code scope} whose start is within {@code [from, to]}. */
    NavigableMap<UsageCell, long[]> read(UsageCell.Scope scope, long from, long to);

    /** Makes what was added durable, where the ledger can and something changed. */
    default void persist() {
    }

    @Override
    default void close() {
    }
}
