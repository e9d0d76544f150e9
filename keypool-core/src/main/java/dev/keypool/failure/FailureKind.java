package dev.keypool.failure;

/**
 * What went wrong with a call made with a pooled key, and so what happens to the key.
 *
 * <table>
 *   <caption>Reactions</caption>
 *   <tr><th>kind</th><th>the key</th><th>then</th></tr>
 *   <tr><td>{@link #RATE_LIMITED}</td><td>cools down until the provider's reset time, else a default</td><td>next key</td></tr>
 *   <tr><td>{@link #QUOTA_EXHAUSTED}</td><td>deactivated until its day window resets</td><td>next key</td></tr>
 *   <tr><td>{@link #INVALID_KEY}</td><td>deactivated until an admin reset</td><td>next key</td></tr>
 *   <tr><td>{@link #SERVER_ERROR}, {@link #UNREACHABLE}</td><td>short cooldown</td><td>next key, then next provider</td></tr>
 *   <tr><td>{@link #CLIENT_ERROR}</td><td>untouched</td><td>back to the caller, no failover</td></tr>
 * </table>
 */
public enum FailureKind {
    RATE_LIMITED,
    QUOTA_EXHAUSTED,
    INVALID_KEY,
    SERVER_ERROR,
    UNREACHABLE,
    CLIENT_ERROR;

    /** Whether another key (or provider) may succeed where this one failed. */
    public boolean failsOver() {
        return this != CLIENT_ERROR;
    }

    /** The lower-case name used in JSON and metrics ({@code rate_limited}). */
    public String id() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
