package dev.keypool.providers.internal;

import dev.keypool.config.ConfigException;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.config.Settings;
import java.time.Duration;

/**
 * The {@code KEYPOOL_*} settings of this module, read from {@link KeypoolConfig#setting(String)} and
 * validated: a bad value stops start-up with a {@link ConfigException} naming the variable.
 *
 * @param outputReserve       {@code KEYPOOL_OUTPUT_RESERVE_TOKENS} (1024; its older name
 *                            {@code KEYPOOL_DEFAULT_MAX_TOKENS} is read too): the output tokens reserved for a
 *                            request that sets no cap of its own. Nothing is sent upstream: the provider's
 *                            real usage is committed, an overshoot charged
 * @param enforceOutputCap    {@code KEYPOOL_ENFORCE_OUTPUT_CAP} (false): send the reserve as the request's cap
 *                            (OpenAI's {@code max_tokens} or {@code max_completion_tokens}, Gemini's
 *                            {@code maxOutputTokens}) when it sets none, so no answer runs past its
 *                            reservation; a documented change to the request. Ollama reserves nothing and
 *                            gets none
 * @param ollamaManagement    {@code KEYPOOL_OLLAMA_MANAGEMENT} (false): pass Ollama's model management
 *                            endpoints (pull, push, create, copy, delete, blobs) through the gateway
 * @param upstreamTimeout     {@code KEYPOOL_UPSTREAM_TIMEOUT_SECONDS} (120, decimals allowed): a whole
 *                            non-streaming call, or a stream's wait for its response headers
 * @param streamIdleTimeout   {@code KEYPOOL_STREAM_IDLE_TIMEOUT_SECONDS} (60): the longest silence
 *                            inside a stream before it counts as dropped
 * @param ollamaCheckInterval {@code KEYPOOL_OLLAMA_CHECK_SECONDS} (5): how long an Ollama
 *                            availability answer is reused
 * @param ollamaProbeTimeout  {@code KEYPOOL_OLLAMA_PROBE_TIMEOUT_SECONDS} (2): the longest the availability
 *                            check may wait for Ollama's {@code /api/tags}
 * @param openAiDefaultModel  {@code KEYPOOL_OPENAI_DEFAULT_MODEL} ({@code gpt-4o-mini}): for OpenAI
 *                            keys with no {@code OPENAI_MODEL_i} when no model was asked for
 * @param geminiDefaultModel  {@code KEYPOOL_GEMINI_DEFAULT_MODEL} ({@code gemini-2.5-flash}): the same
 *                            for Gemini
 * @param dropUnsupported     {@code KEYPOOL_DROP_UNSUPPORTED_PARAMS} (false): an OpenAI chat request served by
 *                            Gemini or Ollama loses the request parameters that provider has no counterpart for
 *                            ({@code logit_bias}, {@code user}, …), each named in the answer's
 *                            {@code x-keypool-dropped-params}, instead of being refused with a 400; never a part
 *                            of the conversation (an image, a tool result) or a capability the model lacks
 * @param sessionTtl          {@code KEYPOOL_SESSION_TTL_SECONDS} (3600): how long a session's key is remembered
 *                            after its last request (a sticky session: {@code prompt_cache_key}, {@code user},
 *                            {@code x-keypool-session})
 */
public record ProviderSettings(int outputReserve, boolean enforceOutputCap, boolean ollamaManagement,
        Duration upstreamTimeout, Duration streamIdleTimeout,
        Duration ollamaCheckInterval, Duration ollamaProbeTimeout, String openAiDefaultModel,
        String geminiDefaultModel, boolean dropUnsupported, Duration sessionTtl) {

    public static final int DEFAULT_OUTPUT_RESERVE = 1024;

    /** The {@code KEYPOOL_*} variables this module reads (see {@link dev.keypool.config.KnownSettings}). */
    public static final java.util.Set<String> SETTINGS = java.util.Set.of("KEYPOOL_OUTPUT_RESERVE_TOKENS",
            "KEYPOOL_DEFAULT_MAX_TOKENS", "KEYPOOL_ENFORCE_OUTPUT_CAP", "KEYPOOL_OLLAMA_MANAGEMENT",
            "KEYPOOL_UPSTREAM_TIMEOUT_SECONDS", "KEYPOOL_STREAM_IDLE_TIMEOUT_SECONDS", "KEYPOOL_OLLAMA_CHECK_SECONDS",
            "KEYPOOL_OLLAMA_PROBE_TIMEOUT_SECONDS", "KEYPOOL_OPENAI_DEFAULT_MODEL", "KEYPOOL_GEMINI_DEFAULT_MODEL",
            "KEYPOOL_DROP_UNSUPPORTED_PARAMS", "KEYPOOL_SESSION_TTL_SECONDS");

    public static ProviderSettings from(KeypoolConfig config) {
        String reserveName = config.setting("KEYPOOL_OUTPUT_RESERVE_TOKENS") == null
                && config.setting("KEYPOOL_DEFAULT_MAX_TOKENS") != null
                ? "KEYPOOL_DEFAULT_MAX_TOKENS" : "KEYPOOL_OUTPUT_RESERVE_TOKENS";
        return new ProviderSettings(
                Settings.positiveInt(config, reserveName, DEFAULT_OUTPUT_RESERVE),
                Settings.flag(config, "KEYPOOL_ENFORCE_OUTPUT_CAP", false),
                Settings.flag(config, "KEYPOOL_OLLAMA_MANAGEMENT", false),
                Settings.fractionalSeconds(config, "KEYPOOL_UPSTREAM_TIMEOUT_SECONDS", Duration.ofSeconds(120)),
                Settings.fractionalSeconds(config, "KEYPOOL_STREAM_IDLE_TIMEOUT_SECONDS", Duration.ofSeconds(60)),
                Settings.fractionalSeconds(config, "KEYPOOL_OLLAMA_CHECK_SECONDS", Duration.ofSeconds(5)),
                Settings.fractionalSeconds(config, "KEYPOOL_OLLAMA_PROBE_TIMEOUT_SECONDS", Duration.ofSeconds(2)),
                Settings.text(config, "KEYPOOL_OPENAI_DEFAULT_MODEL", "gpt-4o-mini"),
                Settings.text(config, "KEYPOOL_GEMINI_DEFAULT_MODEL", "gemini-2.5-flash"),
                Settings.flag(config, "KEYPOOL_DROP_UNSUPPORTED_PARAMS", false),
                Settings.fractionalSeconds(config, "KEYPOOL_SESSION_TTL_SECONDS", Duration.ofHours(1)));
    }

    /** The model to call on a key of {@code provider} that has none configured, or {@code null}. */
    public String defaultModel(Provider provider) {
        return switch (provider) {
            case OPENAI -> openAiDefaultModel;
            case GEMINI -> geminiDefaultModel;
            default -> null;
        };
    }

}
