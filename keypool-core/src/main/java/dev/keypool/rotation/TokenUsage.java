package dev.keypool.rotation;

/**
 * The tokens a provider reports for one call. For SerpApi a search is one prompt "token".
 */
public record TokenUsage(long promptTokens, long completionTokens) {

    public TokenUsage {
        if (promptTokens < 0 || completionTokens < 0) {
            throw new IllegalArgumentException("token counts must be >= 0, were " + promptTokens + " and "
                    + completionTokens);
        }
    }

    public static TokenUsage of(long promptTokens, long completionTokens) {
        return new TokenUsage(promptTokens, completionTokens);
    }

    /** Usage known only as a total, counted as prompt tokens. */
    public static TokenUsage total(long tokens) {
        return new TokenUsage(tokens, 0);
    }

    public long totalTokens() {
        return promptTokens + completionTokens;
    }
}
