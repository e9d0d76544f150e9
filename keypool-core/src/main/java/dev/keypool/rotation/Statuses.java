package dev.keypool.rotation;

import dev.keypool.config.KeyConfig;
import dev.keypool.config.WindowLimits;
import dev.keypool.usage.KeyFingerprint;
import dev.keypool.usage.KeyState;
import dev.keypool.usage.KeyStatus;
import dev.keypool.usage.KeyUsage;
import java.util.ArrayList;
import java.util.List;

/** The keys as the admin API shows them: their usage read from the store, their state, their requests in flight. */
final class Statuses {

    private final ApiKeyManager manager;

    Statuses(ApiKeyManager manager) {
        this.manager = manager;
    }

    KeyStatusSnapshot of(KeyConfig key) {
        long now = manager.clock().millis();
        return snapshot(key, manager.store().usage(key.id(), now, manager.day(now)), now);
    }

    /** The keys' statuses, from one batched read of their usage. */
    List<KeyStatusSnapshot> of(List<KeyConfig> keys) {
        long now = manager.clock().millis();
        List<KeyUsage> usages = manager.store().usages(keys.stream().map(KeyConfig::id).toList(), now, manager.day(now));
        List<KeyStatusSnapshot> snapshots = new ArrayList<>(keys.size());
        for (int i = 0; i < keys.size(); i++) {
            snapshots.add(snapshot(keys.get(i), usages.get(i), now));
        }
        return List.copyOf(snapshots);
    }

    private KeyStatusSnapshot snapshot(KeyConfig key, KeyUsage usage, long now) {
        WindowLimits limits = key.limits();
        KeyState state = usage.state();
        KeyStatus status = state.statusAt(now);
        boolean resting = status != KeyStatus.ACTIVE;
        Long availableAt = resting && state.untilMillis() != KeyState.NEVER ? state.untilMillis() : null;
        KeyFingerprint fingerprint = manager.store().fingerprint(key.id());
        // A minute counted full (after an unclean stop, or data Redis lost) is shown as full.
        long minuteTokens = limits.minuteLimited() && usage.minuteFullAt(now)
                ? Math.max(usage.minuteTokens(), limits.perMinute()) : usage.minuteTokens();
        long minuteRequests = limits.requestMinuteLimited() && usage.minuteFullAt(now)
                ? Math.max(usage.minuteRequests(), limits.requestsPerMinute()) : usage.minuteRequests();
        return new KeyStatusSnapshot(
                key.id(), fingerprint == null ? null : fingerprint.value(), key.maskedKey(), key.model(), status,
                resting ? state.kind() : null, resting ? state.reason() : null, availableAt,
                minuteTokens, limits.minuteLimited() ? limits.perMinute() : null,
                percent(minuteTokens, limits.perMinute(), limits.minuteLimited()),
                usage.dayTokens(), limits.dayLimited() ? limits.perDay() : null,
                percent(usage.dayTokens(), limits.perDay(), limits.dayLimited()),
                manager.inFlight().count(key.id()), key.capped() ? key.maxConcurrent() : null, key.weight(),
                minuteRequests, limits.requestMinuteLimited() ? limits.requestsPerMinute() : null,
                percent(minuteRequests, limits.requestsPerMinute(), limits.requestMinuteLimited()),
                usage.dayRequests(), limits.requestDayLimited() ? limits.requestsPerDay() : null,
                percent(usage.dayRequests(), limits.requestsPerDay(), limits.requestDayLimited()));
    }

    private static Double percent(long used, long limit, boolean limited) {
        if (!limited) {
            return null;
        }
        return Math.round(used * 10_000.0 / limit) / 100.0;
    }
}
