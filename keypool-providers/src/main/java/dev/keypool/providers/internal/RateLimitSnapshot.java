package dev.keypool.providers.internal;

import dev.keypool.rotation.ProviderBudget;
import java.time.Duration;
import java.util.Optional;

/**
 * What OpenAI's {@code x-ratelimit-*} headers said about a key after one response.
 *
 * <p>A value the provider left out, or sent as {@code -1} (as Azure does), is unknown: {@code -1}
 * for counts, {@code null} for resets. The reset is the time until the window is full again; with
 * the limit, the core's {@link ProviderBudget} interpolates OpenAI's continuous refill to bring a
 * key back as soon as it covers a request.
 */
public record RateLimitSnapshot(long limitTokens, long remainingTokens, Duration resetTokens,
        long limitRequests, long remainingRequests, Duration resetRequests) {

    /** Reads the headers of an OpenAI response; empty when it carried none. */
    public static Optional<RateLimitSnapshot> fromOpenAi(ResponseHeaders headers) {
        long limitTokens = count(headers, "x-ratelimit-limit-tokens");
        long remainingTokens = count(headers, "x-ratelimit-remaining-tokens");
        Duration resetTokens = Durations.parseGo(headers.firstValue("x-ratelimit-reset-tokens").orElse(null));
        long limitRequests = count(headers, "x-ratelimit-limit-requests");
        long remainingRequests = count(headers, "x-ratelimit-remaining-requests");
        Duration resetRequests = Durations.parseGo(headers.firstValue("x-ratelimit-reset-requests").orElse(null));
        if (remainingTokens < 0 && remainingRequests < 0) {
            return Optional.empty();
        }
        return Optional.of(new RateLimitSnapshot(limitTokens, remainingTokens, resetTokens,
                limitRequests, remainingRequests, resetRequests));
    }

    /** The budget as the core keeps it, with resets made absolute from {@code nowMillis}. */
    public ProviderBudget toBudget(long nowMillis) {
        return new ProviderBudget(
                resetTokens == null ? -1 : remainingTokens, at(nowMillis, resetTokens),
                resetRequests == null ? -1 : remainingRequests, at(nowMillis, resetRequests),
                limitTokens, nowMillis);
    }

    private static long at(long nowMillis, Duration reset) {
        return reset == null ? nowMillis : nowMillis + Math.max(1, reset.toMillis());
    }

    private static long count(ResponseHeaders headers, String name) {
        String value = headers.firstValue(name).orElse(null);
        if (value == null) {
            return -1;
        }
        try {
            long parsed = Long.parseLong(value.trim());
            return parsed < 0 ? -1 : parsed;
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
