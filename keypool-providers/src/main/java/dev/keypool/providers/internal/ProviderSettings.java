package dev.keypool.providers.internal;

import dev.keypool.config.ConfigException;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import java.math.BigDecimal;
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
                positiveInt(config, reserveName, DEFAULT_OUTPUT_RESERVE),
                flag(config, "KEYPOOL_ENFORCE_OUTPUT_CAP"),
                flag(config, "KEYPOOL_OLLAMA_MANAGEMENT"),
                seconds(config, "KEYPOOL_UPSTREAM_TIMEOUT_SECONDS", Duration.ofSeconds(120)),
                seconds(config, "KEYPOOL_STREAM_IDLE_TIMEOUT_SECONDS", Duration.ofSeconds(60)),
                seconds(config, "KEYPOOL_OLLAMA_CHECK_SECONDS", Duration.ofSeconds(5)),
                seconds(config, "KEYPOOL_OLLAMA_PROBE_TIMEOUT_SECONDS", Duration.ofSeconds(2)),
                text(config, "KEYPOOL_OPENAI_DEFAULT_MODEL", "gpt-4o-mini"),
                text(config, "KEYPOOL_GEMINI_DEFAULT_MODEL", "gemini-2.5-flash"),
                flag(config, "KEYPOOL_DROP_UNSUPPORTED_PARAMS"),
                seconds(config, "KEYPOOL_SESSION_TTL_SECONDS", Duration.ofHours(1)));
    }

    /** The model to call on a key of {@code provider} that has none configured, or {@code null}. */
    public String defaultModel(Provider provider) {
        return switch (provider) {
            case OPENAI -> openAiDefaultModel;
            case GEMINI -> geminiDefaultModel;
            default -> null;
        };
    }

    private static int positiveInt(KeypoolConfig config, String name, int fallback) {
        String value = config.setting(name);
        if (value == null || value.isBlank()) {
            return fallback;
        }
        try {
            int parsed = Integer.parseInt(value.trim());
            if (parsed > 0) {
                return parsed;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new ConfigException(name, "must be a positive integer, was '" + value.trim() + "'");
    }

    private static boolean flag(KeypoolConfig config, String name) {
        String value = config.setting(name);
        if (value == null || value.isBlank()) {
            return false;
        }
        return switch (value.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "true", "1", "yes", "on" -> true;
            case "false", "0", "no", "off" -> false;
            default -> throw new ConfigException(name, "must be true or false, was '" + value.trim() + "'");
        };
    }

    private static Duration seconds(KeypoolConfig config, String name, Duration fallback) {
        String value = config.setting(name);
        if (value == null || value.isBlank()) {
            return fallback;
        }
        try {
            BigDecimal seconds = new BigDecimal(value.trim());
            if (seconds.signum() > 0) {
                return Duration.ofMillis(Math.max(1, seconds.movePointRight(3).longValue()));
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new ConfigException(name, "must be a positive number of seconds, was '" + value.trim() + "'");
    }

    private static String text(KeypoolConfig config, String name, String fallback) {
        String value = config.setting(name);
        return value == null || value.isBlank() ? fallback : value.trim();
    }
}
