package dev.keypool.rotation;

import dev.keypool.config.KeyConfig;
import dev.keypool.config.KeyMask;
import dev.keypool.event.KeyEvent;
import dev.keypool.failure.Failure;
import dev.keypool.failure.FailureKind;
import dev.keypool.usage.KeyState;
import dev.keypool.usage.KeyStatus;
import dev.keypool.usage.UsageStore;
import java.time.Duration;

/**
 * What happens to a key's state when a call made with it fails, when the probe of a key back from
 * a rest ends, and when an admin deactivates or activates it. The store holds the state; every change here is a compare-and-set on it, so
 * that requests racing on one key (or instances sharing a Redis store) never undo a stronger state
 * another of them set.
 */
final class Reactions {

    private final ApiKeyManager manager;

    Reactions(ApiKeyManager manager) {
        this.manager = manager;
    }

    /**
     * The events of a failure whose reaction is applied: held until the request knows whether a
     * next key or provider is tried, so that {@link KeyEvent.KeyFailed#failover()} says what
     * happened rather than what might.
     */
    @FunctionalInterface
    interface FailureNotice {
        void announce(boolean failover);
    }

    /**
     * Applies the reaction now (so no other request picks the key meanwhile) and returns its
     * events to announce later. For a call that was the probe of a key back from a rest: a client
     * error means the provider answered (the key serves again), any other reaction replaces the
     * probe's state whatever its rank.
     */
    FailureNotice applyFailure(KeyConfig key, Failure failure, KeyState probing) {
        UsageStore store = manager.store();
        long now = manager.clock().millis();
        String message = KeyMask.scrub(failure.message(), key.secret());
        FailureNotice failed = failover -> manager.events().publish(() -> new KeyEvent.KeyFailed(now, key.id(),
                key.maskedKey(), failure.kind(), message, failover));
        KeyState next = reaction(failure, message, now);
        if (next == null) {
            if (probing != null) {
                probeSucceeded(key, probing);
            }
            return failed;
        }
        while (true) {
            KeyState current = store.state(key.id());
            if (!current.availableAt(now) && outranks(current, next) && !current.equals(probing)) {
                return failed;
            }
            if (store.compareAndSetState(key.id(), current, next)) {
                break;
            }
        }
        return failover -> {
            failed.announce(failover);
            if (next.status() == KeyStatus.COOLING_DOWN) {
                manager.events().publish(() -> new KeyEvent.KeyCooledDown(now, key.id(), key.maskedKey(),
                        failure.kind(), next.untilMillis()));
            } else {
                manager.events().publish(() -> new KeyEvent.KeyDeactivated(now, key.id(), key.maskedKey(),
                        failure.kind(), next.reason(), next.untilMillis()));
            }
        };
    }

    /**
     * The probe of a key back from a rest got an answer from the provider: the key serves again,
     * for everyone, with its event (unless its state changed meanwhile).
     */
    void probeSucceeded(KeyConfig key, KeyState probing) {
        long now = manager.clock().millis();
        if (manager.store().compareAndSetState(key.id(), probing, KeyState.ACTIVE)) {
            manager.events().publish(() -> new KeyEvent.KeyReactivated(now, key.id(), key.maskedKey(), false));
        }
    }

    /** The probe ended without an answer (released unused): the next reservation probes the key instead. */
    void probeAbandoned(KeyConfig key, KeyState probing) {
        manager.store().compareAndSetState(key.id(), probing, probing.withUntil(manager.clock().millis()));
    }

    /** An admin put the key out of service until a reset. */
    void deactivate(KeyConfig key, String reason) {
        manager.store().setState(key.id(), KeyState.deactivated(null, reason, KeyState.NEVER));
        long now = manager.clock().millis();
        manager.events().publish(() -> new KeyEvent.KeyDeactivated(now, key.id(), key.maskedKey(), null, reason,
                KeyState.NEVER));
    }

    /** An admin brought the key back, whatever its state; returns whether it was cooling down or deactivated. */
    boolean activate(KeyConfig key) {
        long now = manager.clock().millis();
        KeyState before = manager.store().state(key.id());
        manager.store().setState(key.id(), KeyState.ACTIVE);
        boolean changed = before.statusAt(now) != KeyStatus.ACTIVE;
        if (changed) {
            manager.events().publish(() -> new KeyEvent.KeyReactivated(now, key.id(), key.maskedKey(), true));
        }
        return changed;
    }

    /** The state {@link FailureKind#reaction()} puts the key in, or {@code null} when it leaves it alone. */
    private KeyState reaction(Failure failure, String message, long now) {
        FailureKind kind = failure.kind();
        String reason = kind.id().replace('_', ' ') + ": " + message;
        return switch (kind.reaction()) {
            case COOL_DOWN -> KeyState.coolingDown(kind, message,
                    now + orDefault(failure.retryAfter(), manager.config().rateLimitCooldown()));
            case REST -> KeyState.coolingDown(kind, message,
                    now + orDefault(failure.retryAfter(), manager.config().serverErrorCooldown()));
            case RETIRE_FOR_THE_DAY -> KeyState.deactivated(kind, reason, manager.day(now).nextStartMillis());
            case RETIRE_UNTIL_RESET -> KeyState.deactivated(kind, reason, KeyState.NEVER);
            case NONE -> null;
        };
    }

    private static long orDefault(Duration given, Duration fallback) {
        return (given != null ? given : fallback).toMillis();
    }

    /** Whether {@code current} should stay rather than be replaced by {@code next}. */
    private static boolean outranks(KeyState current, KeyState next) {
        int currentRank = current.status() == KeyStatus.DEACTIVATED ? 2 : 1;
        int nextRank = next.status() == KeyStatus.DEACTIVATED ? 2 : 1;
        return currentRank > nextRank || (currentRank == nextRank && current.untilMillis() >= next.untilMillis());
    }
}
