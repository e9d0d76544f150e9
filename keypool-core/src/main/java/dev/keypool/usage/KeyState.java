package dev.keypool.usage;

import dev.keypool.failure.FailureKind;
import java.util.Objects;

/**
 * The availability of one key, as the store keeps it.
 *
 * @param status      active, cooling down or deactivated
 * @param kind        the failure that put the key in this state, or {@code null}
 * @param reason      a short, key-free text for people, or {@code null} when active
 * @param untilMillis epoch millis at which the key comes back by itself, or {@link #NEVER} when
 *                    only an admin reset brings it back (ignored when active)
 */
public record KeyState(KeyStatus status, FailureKind kind, String reason, long untilMillis) {

    /** {@link #untilMillis()} of a key that comes back only by an admin reset. */
    public static final long NEVER = Long.MAX_VALUE;

    public static final KeyState ACTIVE = new KeyState(KeyStatus.ACTIVE, null, null, 0);

    public KeyState {
        Objects.requireNonNull(status, "status");
    }

    public static KeyState coolingDown(FailureKind kind, String reason, long untilMillis) {
        return new KeyState(KeyStatus.COOLING_DOWN, kind, reason, untilMillis);
    }

    public static KeyState deactivated(FailureKind kind, String reason, long untilMillis) {
        return new KeyState(KeyStatus.DEACTIVATED, kind, reason, untilMillis);
    }

    /** The same state, resting until {@code untilMillis}. */
    public KeyState withUntil(long untilMillis) {
        return new KeyState(status, kind, reason, untilMillis);
    }

    /** Whether the key may serve at {@code nowMillis}: active, or its rest is over. */
    public boolean availableAt(long nowMillis) {
        return status == KeyStatus.ACTIVE || nowMillis >= untilMillis;
    }

    /** The status as it stands at {@code nowMillis}: a rest that is over reads as active. */
    public KeyStatus statusAt(long nowMillis) {
        return availableAt(nowMillis) ? KeyStatus.ACTIVE : status;
    }
}
