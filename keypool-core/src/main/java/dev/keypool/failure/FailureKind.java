package dev.keypool.failure;

import java.util.Locale;

/**
 * What went wrong with a call made with a pooled key, and the one table of what follows from it.
 * Every rule about a failure is read from here: the pool's reaction on the key
 * ({@link #reaction()}), whether another key or provider is tried ({@link #failsOver()}), and how a
 * gateway answers a request whose every try ended so ({@link #gatewayStatus()},
 * {@link #gatewayCode()}). A provider package only maps its wire errors to a kind; nothing
 * classifies a failure twice.
 *
 * <table>
 *   <caption>The failure table</caption>
 *   <tr><th>kind</th><th>the key</th><th>fails over</th><th>the gateway, when every try ended so</th></tr>
 *   <tr><td>{@link #RATE_LIMITED}</td><td>cools down until the provider's reset time, else the rate-limit default</td><td>yes</td><td>429 {@code keys_exhausted}</td></tr>
 *   <tr><td>{@link #QUOTA_EXHAUSTED}</td><td>deactivated until its day window resets</td><td>yes</td><td>429 {@code keys_exhausted}</td></tr>
 *   <tr><td>{@link #INVALID_KEY}</td><td>deactivated until an admin reset</td><td>yes</td><td>502 {@code upstream_failed}</td></tr>
 *   <tr><td>{@link #SERVER_ERROR}</td><td>short cooldown</td><td>yes</td><td>502 {@code upstream_failed}</td></tr>
 *   <tr><td>{@link #UNREACHABLE}</td><td>short cooldown</td><td>yes</td><td>503 {@code upstream_unreachable}</td></tr>
 *   <tr><td>{@link #CLIENT_ERROR}</td><td>untouched</td><td>no: back to the caller</td><td>the provider's own status</td></tr>
 * </table>
 */
public enum FailureKind {
    RATE_LIMITED(KeyReaction.COOL_DOWN, true, 429, "keys_exhausted"),
    QUOTA_EXHAUSTED(KeyReaction.RETIRE_FOR_THE_DAY, true, 429, "keys_exhausted"),
    INVALID_KEY(KeyReaction.RETIRE_UNTIL_RESET, true, 502, "upstream_failed"),
    SERVER_ERROR(KeyReaction.REST, true, 502, "upstream_failed"),
    UNREACHABLE(KeyReaction.REST, true, 503, "upstream_unreachable"),
    CLIENT_ERROR(KeyReaction.NONE, false, 0, "upstream_rejected");

    /** What the pool does to a key whose call failed. */
    public enum KeyReaction {
        /** Rests until the provider's reset time, else {@code KEYPOOL_RATE_LIMIT_COOLDOWN_SECONDS}. */
        COOL_DOWN,
        /** Rests until the provider's {@code Retry-After}, else {@code KEYPOOL_SERVER_ERROR_COOLDOWN_SECONDS}. */
        REST,
        /** Out of service until its day window resets (or an admin reset). */
        RETIRE_FOR_THE_DAY,
        /** Out of service until an admin reset. */
        RETIRE_UNTIL_RESET,
        /** Untouched: the request was at fault, not the key. */
        NONE
    }

    private final KeyReaction reaction;
    private final boolean failsOver;
    private final int gatewayStatus;
    private final String gatewayCode;

    FailureKind(KeyReaction reaction, boolean failsOver, int gatewayStatus, String gatewayCode) {
        this.reaction = reaction;
        this.failsOver = failsOver;
        this.gatewayStatus = gatewayStatus;
        this.gatewayCode = gatewayCode;
    }

    /** What happens to the key. */
    public KeyReaction reaction() {
        return reaction;
    }

    /** Whether another key (or provider) may succeed where this one failed. */
    public boolean failsOver() {
        return failsOver;
    }

    /**
     * The HTTP status a gateway answers when every try of a request ended with this kind, or
     * {@code 0} for the provider's own status (a client error is the provider's answer to pass on).
     */
    public int gatewayStatus() {
        return gatewayStatus;
    }

    /** The {@code error.code} a gateway answers with {@link #gatewayStatus()}. */
    public String gatewayCode() {
        return gatewayCode;
    }

    /** The lower-case name used in JSON and metrics ({@code rate_limited}). */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }
}
