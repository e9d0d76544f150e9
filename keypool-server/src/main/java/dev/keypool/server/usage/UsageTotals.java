package dev.keypool.server.usage;

import dev.keypool.failure.FailureKind;
import java.util.LinkedHashMap;
import java.util.Map;

/** A snapshot of a key's or a provider's counters: requests, outcomes, tokens, failures by kind. */
public record UsageTotals(long requests, long successes, long failures, long promptTokens, long completionTokens,
        Map<String, Long> failuresByKind) {

    static final UsageTotals ZERO = new UsageTotals(0, 0, 0, 0, 0, Map.of());

    static UsageTotals of(long[] counts) {
        if (counts == null) {
            return ZERO;
        }
        Map<String, Long> kinds = new LinkedHashMap<>();
        for (FailureKind kind : FailureKind.values()) {
            long count = counts[UsageCell.failed(kind)];
            if (count != 0) {
                kinds.put(kind.id(), count);
            }
        }
        return new UsageTotals(counts[UsageCell.REQUESTS], counts[UsageCell.SUCCESSES], counts[UsageCell.FAILURES],
                counts[UsageCell.PROMPT_TOKENS], counts[UsageCell.COMPLETION_TOKENS], kinds);
    }

    public long totalTokens() {
        return promptTokens + completionTokens;
    }

    /** Failures per request, 0 when there were none. */
    public double errorRate() {
        return requests == 0 ? 0.0 : Math.min(1.0, (double) failures / requests);
    }
}
