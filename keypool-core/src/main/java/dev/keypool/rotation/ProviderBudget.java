package dev.keypool.rotation;

/**
 * What a provider last said a key has left in its own window ({@code x-ratelimit-remaining-tokens}
 * and {@code x-ratelimit-reset-tokens}, and the same for requests). A key whose remaining budget
 * cannot cover a request is skipped until the reset, before it earns a 429.
 *
 * @param remainingTokens        tokens left, or -1 when the provider did not say
 * @param tokensResetAtMillis    when the token budget refills
 * @param remainingRequests      requests left, or -1 when the provider did not say
 * @param requestsResetAtMillis  when the request budget refills
 */
public record ProviderBudget(long remainingTokens, long tokensResetAtMillis, long remainingRequests,
        long requestsResetAtMillis) {

    /**
     * The moment before which this budget cannot cover {@code tokens} more tokens and one more
     * request, or 0 when it can now.
     */
    long blockedUntil(long tokens, long nowMillis) {
        long until = 0;
        if (remainingTokens >= 0 && remainingTokens < tokens && nowMillis < tokensResetAtMillis) {
            until = tokensResetAtMillis;
        }
        if (remainingRequests == 0 && nowMillis < requestsResetAtMillis) {
            until = Math.max(until, requestsResetAtMillis);
        }
        return until;
    }
}
