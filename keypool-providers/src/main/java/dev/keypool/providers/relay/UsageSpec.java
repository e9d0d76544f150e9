package dev.keypool.providers.relay;

import dev.keypool.rotation.TokenUsage;
import java.util.List;

/**
 * Where an answer reports its usage: the object at {@code path} from the document's root, and the
 * names of its counts. The completion side is {@code completion} when it is given, else
 * {@code total - prompt} (Gemini, whose thinking tokens are billed as output but counted apart).
 *
 * @param path       field names from the root to the object holding the counts ({@code ["usage"]});
 *                   empty when the counts sit at the root (Ollama)
 * @param completion {@code null} to derive the completion from {@code total}
 * @param total      {@code null} when the answer has no total
 */
public record UsageSpec(List<String> path, String prompt, String completion, String total) {

    public UsageSpec {
        path = List.copyOf(path);
    }

    /** OpenAI's chat and legacy completions, and its embeddings (no completion, which reads as 0). */
    public static final UsageSpec OPENAI = new UsageSpec(List.of("usage"), "prompt_tokens", "completion_tokens",
            "total_tokens");

    /** The usage of the counts read, or {@code null} when none was. */
    public TokenUsage usage(long promptCount, long completionCount, long totalCount) {
        if (promptCount < 0 && completionCount < 0 && totalCount < 0) {
            return null;
        }
        long promptTokens = Math.max(promptCount, 0);
        long completionTokens = completionCount >= 0 ? completionCount
                : totalCount >= 0 ? Math.max(totalCount - promptTokens, 0) : 0;
        return TokenUsage.of(promptTokens, completionTokens);
    }
}
