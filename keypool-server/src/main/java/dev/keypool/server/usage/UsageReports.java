package dev.keypool.server.usage;

import dev.keypool.config.KeyConfig;
import dev.keypool.config.Provider;
import dev.keypool.rotation.ApiKeyManager;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;

/**
 * The admin API's usage report, assembled from the cells the {@link UsageRecorder} read: per
 * provider and key over all time, per minute for the last {@link UsageRecorder#REPORTED_MINUTES}
 * and per day for the last {@link UsageRecorder#RETAINED_DAYS}. A provider is reported when it has
 * keys or anything counted; a minute is reported for every such provider, a day only when it saw a
 * request or a refusal.
 */
final class UsageReports {

    private static final long MINUTE = UsageRecorder.MINUTE;

    private UsageReports() {
    }

    static UsageReport assemble(ApiKeyManager manager, long now, long firstMinute, long today,
            NavigableMap<UsageCell, long[]> totals, NavigableMap<UsageCell, long[]> minutes,
            NavigableMap<UsageCell, long[]> days) {
        long currentMinute = UsageRecorder.minute(now);
        Map<String, UsageReport.ProviderUsage> providers = new LinkedHashMap<>();
        List<Provider> inUse = new ArrayList<>();
        for (Provider provider : Provider.values()) {
            List<UsageReport.KeyUsage> keys = new ArrayList<>();
            for (KeyConfig key : manager.keys(provider)) {
                UsageTotals keyTotals = UsageTotals.of(totals.get(new UsageCell(UsageCell.Scope.TOTAL, 0, provider, key.index())));
                keys.add(new UsageReport.KeyUsage(key.index(), key.maskedKey(), key.model(), keyTotals.requests(),
                        keyTotals.successes(), keyTotals.failures(), keyTotals.promptTokens(),
                        keyTotals.completionTokens(), keyTotals.totalTokens(), keyTotals.failuresByKind()));
            }
            long[] sum = sum(totals, provider, UsageCell.Scope.TOTAL, 0);
            UsageTotals providerTotals = UsageTotals.of(sum);
            providers.put(provider.id(), new UsageReport.ProviderUsage(providerTotals.requests(),
                    providerTotals.successes(), providerTotals.failures(), providerTotals.promptTokens(),
                    providerTotals.completionTokens(), providerTotals.totalTokens(), providerTotals.failuresByKind(),
                    sum[UsageCell.EXHAUSTED], keys));
            if (!manager.keys(provider).isEmpty() || totals.keySet().stream().anyMatch(c -> c.provider() == provider)) {
                inUse.add(provider);
            }
        }
        List<UsageReport.MinuteUsage> history = new ArrayList<>();
        for (long minute = firstMinute; minute <= currentMinute; minute += MINUTE) {
            String at = Instant.ofEpochMilli(minute).toString();
            for (Provider provider : inUse) {
                UsageTotals t = UsageTotals.of(sum(minutes, provider, UsageCell.Scope.MINUTE, minute));
                history.add(new UsageReport.MinuteUsage(at, provider.id(), t.requests(), t.successes(), t.failures(),
                        t.promptTokens(), t.completionTokens(), t.totalTokens()));
            }
        }
        List<UsageReport.DayUsage> daily = new ArrayList<>();
        for (long epochDay = today - UsageRecorder.RETAINED_DAYS + 1; epochDay <= today; epochDay++) {
            for (Provider provider : inUse) {
                long[] counts = sum(days, provider, UsageCell.Scope.DAY, epochDay);
                if (counts[UsageCell.REQUESTS] == 0 && counts[UsageCell.EXHAUSTED] == 0) {
                    continue;
                }
                UsageTotals t = UsageTotals.of(counts);
                daily.add(new UsageReport.DayUsage(LocalDate.ofEpochDay(epochDay).toString(), provider.id(),
                        t.requests(), t.successes(), t.failures(), t.promptTokens(), t.completionTokens(),
                        t.totalTokens()));
            }
        }
        return new UsageReport(providers, history, daily, Instant.ofEpochMilli(now).toString());
    }

    private static long[] sum(NavigableMap<UsageCell, long[]> cells, Provider provider, UsageCell.Scope scope,
            long start) {
        long[] counts = new long[UsageCell.FIELDS];
        cells.subMap(new UsageCell(scope, start, provider, Integer.MIN_VALUE), true,
                new UsageCell(scope, start, provider, Integer.MAX_VALUE), true).values().forEach(v -> Counters.addTo(counts, v));
        return counts;
    }
}
