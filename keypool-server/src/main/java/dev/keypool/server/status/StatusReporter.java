package dev.keypool.server.status;

import dev.keypool.config.Provider;
import dev.keypool.rotation.ApiKeyManager;
import dev.keypool.rotation.KeyStatusSnapshot;
import dev.keypool.rotation.ProviderStatus;
import dev.keypool.rotation.WaitStatus;
import dev.keypool.server.usage.UsageRecorder;
import dev.keypool.server.usage.UsageTotals;
import dev.keypool.usage.KeyStatus;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Builds the key status the admin API and the dashboard show, with its alerts: keys above 80 % of
 * a window (warning), at 100 % (critical), cooling down (warning), deactivated (critical), and a
 * provider none of whose keys can serve (critical).
 */
public final class StatusReporter {

    /** Usage share of a window above which a key is flagged, as the seed's dashboard did. */
    public static final double WARNING_PERCENT = 80.0;

    private final ApiKeyManager manager;
    private final UsageRecorder recorder;
    private final BooleanSupplier ollamaAvailable;
    private final boolean demo;
    private final Supplier<StatusReport.Store> store;
    private final Function<Provider, WaitStatus> waits;
    private final Supplier<StatusReport.LastReload> lastReload;

    public StatusReporter(ApiKeyManager manager, UsageRecorder recorder, BooleanSupplier ollamaAvailable,
            boolean demo, Supplier<StatusReport.Store> store) {
        this(manager, recorder, ollamaAvailable, demo, store, provider -> null, () -> null);
    }

    /**
     * @param waits      each provider's wait queue ({@code ApiKeyRotator#waitStatus}), {@code null} when none
     * @param lastReload the last reload of the keys, {@code null} before the first
     */
    public StatusReporter(ApiKeyManager manager, UsageRecorder recorder, BooleanSupplier ollamaAvailable,
            boolean demo, Supplier<StatusReport.Store> store, Function<Provider, WaitStatus> waits,
            Supplier<StatusReport.LastReload> lastReload) {
        this.waits = waits;
        this.manager = manager;
        this.recorder = recorder;
        this.ollamaAvailable = ollamaAvailable;
        this.demo = demo;
        this.store = store;
        this.lastReload = lastReload;
    }

    public StatusReport report() {
        long now = manager.clock().millis();
        Map<String, Object> providers = new LinkedHashMap<>();
        List<StatusReport.Alert> alerts = new ArrayList<>();
        for (Provider provider : Provider.values()) {
            UsageTotals totals = recorder.totals(provider);
            if (!provider.usesKeys()) {
                providers.put(provider.id(), new StatusReport.OllamaProvider(ollamaAvailable.getAsBoolean(),
                        manager.config().baseUrl(provider), List.of(), totals.requests(), totals.failures(),
                        recorder.tokensToday(provider), totals.errorRate()));
                continue;
            }
            ProviderStatus status = manager.providerStatus(provider);
            List<StatusReport.Key> keys = new ArrayList<>();
            long tokensToday = 0;
            for (KeyStatusSnapshot snapshot : status.keys()) {
                keys.add(key(provider, snapshot, now));
                tokensToday += snapshot.dayTokens();
                alerts.addAll(alerts(provider, snapshot, now));
            }
            if (status.totalKeys() > 0 && status.activeKeys() == 0) {
                alerts.add(new StatusReport.Alert("critical", provider.id(), null, "No usable " + provider.id()
                        + " key: all " + status.totalKeys() + " are cooling down or deactivated",
                        StatusReport.Alert.NO_USABLE_KEY, null));
            }
            List<StatusReport.Key> leaving = new ArrayList<>();
            for (KeyStatusSnapshot snapshot : manager.leavingKeys(provider)) {
                leaving.add(key(provider, snapshot, now));
            }
            providers.put(provider.id(), new StatusReport.KeyedProvider(status.totalKeys(), status.activeKeys(),
                    totals.requests(), totals.failures(), tokensToday, totals.errorRate(), keys, leaving,
                    waiting(provider)));
        }
        alerts.sort(Comparator.comparing((StatusReport.Alert alert) -> !alert.level().equals("critical")));
        StatusReport.Store storeStatus = store.get();
        if (storeStatus.degraded()) {
            alerts.add(0, new StatusReport.Alert("critical", null, null, storeStatus.problem(),
                    StatusReport.Alert.STORE_DEGRADED, null));
        }
        return new StatusReport(providers, alerts, demo, Instant.ofEpochMilli(now).toString(), now, storeStatus,
                lastReload.get());
    }

    private StatusReport.Waiting waiting(Provider provider) {
        WaitStatus status = waits.apply(provider);
        return status == null ? null : new StatusReport.Waiting(status.waiting(), status.maxQueue(),
                status.maxWait().toSeconds(), status.recentWaitsMillis());
    }

    /** One key's status, as in the report. */
    public StatusReport.Key key(Provider provider, KeyStatusSnapshot snapshot, long now) {
        Long availableAt = snapshot.availableAtMillis();
        UsageTotals totals = recorder.keyTotals(provider, snapshot.index());
        return new StatusReport.Key(snapshot.index(), snapshot.keyId(), snapshot.maskedKey(), snapshot.model(), snapshot.status().id(),
                snapshot.reason(), snapshot.failureKind() == null ? null : snapshot.failureKind().id(),
                availableAt == null ? null : Instant.ofEpochMilli(availableAt).toString(),
                availableAt == null ? null : Math.max(0, (availableAt - now + 999) / 1000),
                snapshot.minuteTokens(), snapshot.minuteLimit(), snapshot.minuteUsagePercent(),
                snapshot.dayTokens(), snapshot.dayLimit(), snapshot.dayUsagePercent(),
                totals.requests(), totals.failures(), snapshot.requestsInFlight(), snapshot.maxConcurrent(),
                snapshot.weight(), snapshot.minuteRequests(), snapshot.requestMinuteLimit(),
                snapshot.requestMinuteUsagePercent(), snapshot.dayRequests(), snapshot.requestDayLimit(),
                snapshot.requestDayUsagePercent());
    }

    private static List<StatusReport.Alert> alerts(Provider provider, KeyStatusSnapshot key, long now) {
        List<StatusReport.Alert> alerts = new ArrayList<>();
        String name = provider.id() + " key " + key.index() + " (" + key.maskedKey() + ")";
        if (key.status() == KeyStatus.DEACTIVATED) {
            alerts.add(new StatusReport.Alert("critical", provider.id(), key.index(),
                    name + " is deactivated: " + key.reason(), StatusReport.Alert.KEY_DEACTIVATED, key.keyId()));
        } else if (key.status() == KeyStatus.COOLING_DOWN) {
            String until = key.availableAtMillis() == null ? ""
                    : " for " + Math.max(1, (key.availableAtMillis() - now + 999) / 1000) + " s";
            alerts.add(new StatusReport.Alert("warning", provider.id(), key.index(),
                    name + " is cooling down" + until + (key.failureKind() == null ? "" : " (" + key.failureKind().id() + ")"),
                    StatusReport.Alert.KEY_COOLING_DOWN, key.keyId()));
        }
        usage(alerts, provider, key, name, "per-minute", StatusReport.Alert.MINUTE_USAGE, key.minuteUsagePercent());
        usage(alerts, provider, key, name, "per-day", StatusReport.Alert.DAY_USAGE, key.dayUsagePercent());
        usage(alerts, provider, key, name, "per-minute request", StatusReport.Alert.REQUEST_MINUTE_USAGE,
                key.requestMinuteUsagePercent());
        usage(alerts, provider, key, name, "per-day request", StatusReport.Alert.REQUEST_DAY_USAGE,
                key.requestDayUsagePercent());
        return alerts;
    }

    private static void usage(List<StatusReport.Alert> alerts, Provider provider, KeyStatusSnapshot key, String name,
            String window, String kind, Double percent) {
        if (percent == null || percent <= WARNING_PERCENT) {
            return;
        }
        boolean full = percent >= 100.0;
        alerts.add(new StatusReport.Alert(full ? "critical" : "warning", provider.id(), key.index(),
                name + (full ? " has reached its " : " is at " + percent + "% of its ") + window + " limit", kind,
                key.keyId()));
    }
}
