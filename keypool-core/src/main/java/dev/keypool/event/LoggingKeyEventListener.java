package dev.keypool.event;

import dev.keypool.usage.KeyState;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs key events: what changes a key's state at INFO or WARN, the per-request traffic at DEBUG.
 * Events hold masked keys only, so nothing here can leak one.
 */
public final class LoggingKeyEventListener implements KeyEventListener {

    private static final Logger LOG = LoggerFactory.getLogger("dev.keypool.events");

    @Override
    public void onEvent(KeyEvent event) {
        switch (event) {
            case KeyEvent.KeyAcquired e -> LOG.debug("{} {} acquired for {} tokens (model {})",
                    e.key(), e.maskedKey(), e.tokens(), e.model());
            case KeyEvent.UsageCommitted e -> LOG.debug("{} {} used {} tokens ({} reserved)",
                    e.key(), e.maskedKey(), e.totalTokens(), e.reservedTokens());
            case KeyEvent.ReservationReleased e -> {
                if (e.expired()) {
                    LOG.warn("{} {} reservation of {} tokens expired unsettled; its tokens stay charged",
                            e.key(), e.maskedKey(), e.tokens());
                } else {
                    LOG.debug("{} {} released {} reserved tokens", e.key(), e.maskedKey(), e.tokens());
                }
            }
            case KeyEvent.KeyFailed e -> LOG.warn("{} {} failed: {} ({}){}", e.key(), e.maskedKey(),
                    e.kind().id(), e.message(), e.failover() ? "; trying the next key" : "");
            case KeyEvent.KeyCooledDown e -> LOG.info("{} {} cooling down until {} after {}",
                    e.key(), e.maskedKey(), Instant.ofEpochMilli(e.untilMillis()), e.kind().id());
            case KeyEvent.KeyDeactivated e -> LOG.warn("{} {} deactivated ({}) {}", e.key(), e.maskedKey(),
                    e.reason(), e.untilMillis() == KeyState.NEVER
                            ? "until an admin reset" : "until " + Instant.ofEpochMilli(e.untilMillis()));
            case KeyEvent.KeyReactivated e -> LOG.info("{} {} active again{}", e.key(), e.maskedKey(),
                    e.byAdmin() ? " (admin reset)" : "");
            case KeyEvent.KeylessCalled e -> {
                if (e.failure() == null) {
                    LOG.debug("{} {} served: {} tokens", e.provider(), e.model(), e.promptTokens() + e.completionTokens());
                } else {
                    LOG.warn("{} {} failed: {}", e.provider(), e.model(), e.failure().id());
                }
            }
            case KeyEvent.KeysReloaded e -> {
                if (!e.applied()) {
                    LOG.warn("Reload refused; the keys stay as they were: {}", String.join("; ", e.errors()));
                } else {
                    LOG.info("Keys reloaded: {} added, {} removed{}", e.changes().addedCount(), e.changes().removedCount(),
                            describe(e.changes()));
                    if (!e.changes().restartRequired().isEmpty()) {
                        LOG.warn("Reload: only a restart applies the new value of {}",
                                String.join(", ", e.changes().restartRequired()));
                    }
                }
            }
            case KeyEvent.PoolExhausted e -> LOG.warn("No {} key can take {} tokens{}: {}; soonest free {}",
                    e.provider(), e.tokens(), e.model() == null ? "" : " for " + e.model(),
                    e.reason() == null ? "no keys configured" : e.reason().name().toLowerCase(java.util.Locale.ROOT),
                    e.retryAtMillis() == KeyState.NEVER ? "never without a reset" : Instant.ofEpochMilli(e.retryAtMillis()));
            case KeyEvent.RequestWaited e -> LOG.debug("A request waited {} ms for a {} key: {}", e.waitedMillis(),
                    e.provider(), e.served() ? "served" : "refused");
        }
    }

    /** {@code  (openai: +openai#2 sk-p…key3, -openai#0 sk-p…key1)}: masked keys only. */
    private static String describe(dev.keypool.config.KeyChanges changes) {
        java.util.List<String> parts = new java.util.ArrayList<>();
        changes.providers().forEach((provider, change) -> {
            java.util.List<String> keys = new java.util.ArrayList<>();
            change.added().forEach(key -> keys.add("+" + key.key() + " " + key.maskedKey()));
            change.removed().forEach(key -> keys.add("-" + key.key() + " " + key.maskedKey()));
            change.kept().stream().filter(key -> !key.changed().isEmpty())
                    .forEach(key -> keys.add("~" + key.key() + " " + key.maskedKey() + " " + key.changed()));
            if (!keys.isEmpty()) {
                parts.add(provider.id() + ": " + String.join(", ", keys));
            }
        });
        return parts.isEmpty() ? "" : " (" + String.join("; ", parts) + ")";
    }
}
