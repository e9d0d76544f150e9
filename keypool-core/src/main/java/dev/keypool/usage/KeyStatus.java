package dev.keypool.usage;

import java.util.Locale;

/** Whether a key may be handed out. */
public enum KeyStatus {
    ACTIVE,
    /** Resting after a rate limit or a server error; comes back by itself. */
    COOLING_DOWN,
    /** Out of quota (back at the next day window) or invalid (back only by an admin reset). */
    DEACTIVATED;

    /** The name used in JSON ({@code cooling_down}). */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }
}
