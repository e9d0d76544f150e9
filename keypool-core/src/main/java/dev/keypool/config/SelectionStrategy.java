package dev.keypool.config;

/** How the pool chooses among keys that can all serve a request. */
public enum SelectionStrategy {
    /** The key with the most remaining headroom, as a share of its limits (the default). */
    LEAST_USED,
    /** Each key in turn. */
    ROUND_ROBIN,
    /** The first key in configured order until it is spent, then the next. */
    FILL_FIRST,
    /**
     * Keys in proportion to their weights ({@code {P}_WEIGHT_i}), by smooth weighted round-robin
     * as nginx does it: with weights 3 and 1, four requests go a, a, b, a, never in bursts.
     */
    WEIGHTED;

    public static SelectionStrategy parse(String value) {
        String normalised = value.trim().toUpperCase(java.util.Locale.ROOT).replace('-', '_');
        return valueOf(normalised);
    }
}
