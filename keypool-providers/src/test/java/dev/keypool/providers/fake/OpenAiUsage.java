package dev.keypool.providers.fake;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The token counts an OpenAI answer reports: {@code usage} with its {@code prompt_tokens_details}
 * and {@code completion_tokens_details} on Chat Completions, {@code input_tokens_details} and
 * {@code output_tokens_details} on the Responses API. The completion counts (and their
 * details) are per choice: an answer with {@code n} choices bills {@code n} times as many.
 */
public record OpenAiUsage(int promptTokens, int completionTokens, int cachedTokens, int reasoningTokens,
        int promptAudioTokens, int completionAudioTokens, int acceptedPredictionTokens,
        int rejectedPredictionTokens) {

    /** Prompt and completion tokens, every detail 0. */
    public static OpenAiUsage of(int promptTokens, int completionTokens) {
        return new OpenAiUsage(promptTokens, completionTokens, 0, 0, 0, 0, 0, 0);
    }

    /** Of the prompt tokens, this many were read from the prompt cache. */
    public OpenAiUsage withCachedTokens(int cached) {
        return new OpenAiUsage(promptTokens, completionTokens, cached, reasoningTokens, promptAudioTokens,
                completionAudioTokens, acceptedPredictionTokens, rejectedPredictionTokens);
    }

    /** Of the completion tokens, this many were reasoning. */
    public OpenAiUsage withReasoningTokens(int reasoning) {
        return new OpenAiUsage(promptTokens, completionTokens, cachedTokens, reasoning, promptAudioTokens,
                completionAudioTokens, acceptedPredictionTokens, rejectedPredictionTokens);
    }

    /** Audio tokens among the prompt and the completion tokens. */
    public OpenAiUsage withAudioTokens(int prompt, int completion) {
        return new OpenAiUsage(promptTokens, completionTokens, cachedTokens, reasoningTokens, prompt, completion,
                acceptedPredictionTokens, rejectedPredictionTokens);
    }

    /** Predicted-output tokens that appeared in the completion, and that did not. */
    public OpenAiUsage withPredictionTokens(int accepted, int rejected) {
        return new OpenAiUsage(promptTokens, completionTokens, cachedTokens, reasoningTokens, promptAudioTokens,
                completionAudioTokens, accepted, rejected);
    }

    /** Chat Completions' {@code usage} for {@code choices} choices. */
    ObjectNode chat(int choices) {
        ObjectNode usage = legacy(choices);
        usage.putObject("prompt_tokens_details").put("cached_tokens", cachedTokens).put("audio_tokens", promptAudioTokens);
        usage.putObject("completion_tokens_details").put("reasoning_tokens", reasoningTokens * choices)
                .put("audio_tokens", completionAudioTokens * choices)
                .put("accepted_prediction_tokens", acceptedPredictionTokens * choices)
                .put("rejected_prediction_tokens", rejectedPredictionTokens * choices);
        return usage;
    }

    /** The legacy Completions' {@code usage}: the three totals, as that endpoint documents it (Chat Completions' starts so). */
    ObjectNode legacy(int choices) {
        int completion = completionTokens * choices;
        ObjectNode usage = JsonText.object();
        usage.put("prompt_tokens", promptTokens);
        usage.put("completion_tokens", completion);
        usage.put("total_tokens", promptTokens + completion);
        return usage;
    }

    /** The Responses API's {@code usage}. */
    ObjectNode responses() {
        ObjectNode usage = JsonText.object();
        usage.put("input_tokens", promptTokens);
        usage.putObject("input_tokens_details").put("cached_tokens", cachedTokens);
        usage.put("output_tokens", completionTokens);
        usage.putObject("output_tokens_details").put("reasoning_tokens", reasoningTokens);
        usage.put("total_tokens", promptTokens + completionTokens);
        return usage;
    }
}
