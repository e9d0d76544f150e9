package dev.keypool.config;

/** How the pool chooses among keys that can all serve a request. */
public enum SelectionStrategy {
    /** The key with the most remaining headroom, as a share of its limits (the default). */
    LEAST_USED,
    /** Each key in turn. */
    ROUND_ROBIN,
    /** The first key in configured order until it is spent, then the next. */
    FILL_FIRST;

    public static SelectionStrategy parse(String value) {
        String normalised = value.trim().toUpperCase(java.util.Locale.ROOT).replace('-', '_');
        return valueOf(normalised);
    }
}
