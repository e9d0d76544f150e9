package dev.keypool.rotation;

/**
 * What a provider last said a key has left in its own window ({@code x-ratelimit-remaining-tokens}
 * and {@code x-ratelimit-reset-tokens}, and the same for requests). A key whose remaining budget
 * cannot cover a request is skipped until it can, before it earns a 429.
 *
 * <p>OpenAI refills a key's token budget continuously, from what remains to the full limit at the
 * reset. When the limit is known ({@code x-ratelimit-limit-tokens}), the key comes back as soon as
 * that line covers the request, not only at the full reset.
 *
 * @param remainingTokens        tokens left, or -1 when the provider did not say
 * @param tokensResetAtMillis    when the token budget is full again
 * @param remainingRequests      requests left, or -1 when the provider did not say
 * @param requestsResetAtMillis  when the request budget refills
 * @param limitTokens            the key's full token budget, or -1 when the provider did not say
 * @param observedAtMillis       when the provider said it
 */
public record ProviderBudget(long remainingTokens, long tokensResetAtMillis, long remainingRequests,
        long requestsResetAtMillis, long limitTokens, long observedAtMillis) {

    /** A budget whose limit is unknown: a key short of tokens waits for the full reset. */
    public ProviderBudget(long remainingTokens, long tokensResetAtMillis, long remainingRequests,
            long requestsResetAtMillis) {
        this(remainingTokens, tokensResetAtMillis, remainingRequests, requestsResetAtMillis, -1, 0);
    }

    /**
     * The moment before which this budget cannot cover {@code tokens} more tokens and one more
     * request, or 0 when it can now.
     */
    long blockedUntil(long tokens, long nowMillis) {
        long until = 0;
        if (remainingTokens >= 0 && remainingTokens < tokens && nowMillis < tokensResetAtMillis) {
            long refilled = refilledAt(tokens);
            if (nowMillis < refilled) {
                until = refilled;
            }
        }
        if (remainingRequests == 0 && nowMillis < requestsResetAtMillis) {
            until = Math.max(until, requestsResetAtMillis);
        }
        return until;
    }

    /** When the continuous refill covers {@code tokens}; the full reset when that cannot be known. */
    private long refilledAt(long tokens) {
        long span = tokensResetAtMillis - observedAtMillis;
        if (limitTokens <= remainingTokens || tokens > limitTokens || observedAtMillis <= 0 || span <= 0) {
            return tokensResetAtMillis;
        }
        double share = (double) (tokens - remainingTokens) / (limitTokens - remainingTokens);
        return Math.min(tokensResetAtMillis, observedAtMillis + (long) Math.ceil(share * span));
    }
}
