package dev.keypool.server.usage;

import java.util.List;
import java.util.Map;

/**
 * The admin API's usage report ({@code GET /api/admin/api-key-usage-report/}), serialised with
 * snake_case names.
 *
 * @param providers   per provider id, its totals and keys
 * @param history     per minute and provider, oldest first: the last hour
 * @param days        per day (in the pool's day zone) and provider, oldest first: the last 90 days
 *                    that had traffic
 * @param generatedAt when the report was made (ISO-8601)
 */
public record UsageReport(Map<String, ProviderUsage> providers, List<MinuteUsage> history, List<DayUsage> days,
        String generatedAt) {

    /**
     * @param exhausted requests refused because no key of the provider could take them
     */
    public record ProviderUsage(long requests, long successes, long failures, long promptTokens,
            long completionTokens, long totalTokens, Map<String, Long> failuresByKind, long exhausted,
            List<KeyUsage> keys) {
    }

    public record KeyUsage(int index, String maskedKey, String model, long requests, long successes, long failures,
            long promptTokens, long completionTokens, long totalTokens, Map<String, Long> failuresByKind) {
    }

    /** @param minute the minute's start, ISO-8601 UTC */
    public record MinuteUsage(String minute, String provider, long requests, long successes, long failures,
            long promptTokens, long completionTokens, long totalTokens) {
    }

    /** @param day the day, ISO-8601 ({@code 2026-11-28}) */
    public record DayUsage(String day, String provider, long requests, long successes, long failures,
            long promptTokens, long completionTokens, long totalTokens) {
    }
}
