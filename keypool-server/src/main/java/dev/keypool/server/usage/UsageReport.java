package dev.keypool.server.usage;

import java.util.List;
import java.util.Map;

/**
 * The admin API's usage report ({@code GET /api/admin/api-key-usage-report/}), serialised with
 * snake_case names.
 *
 * @param providers   per provider id, its totals and keys
 * @param history     per minute and provider, oldest first
 * @param generatedAt when the report was made (ISO-8601)
 */
public record UsageReport(Map<String, ProviderUsage> providers, List<MinuteUsage> history, String generatedAt) {

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
}
