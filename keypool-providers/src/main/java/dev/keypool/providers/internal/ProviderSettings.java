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
 * @param defaultMaxTokens    {@code KEYPOOL_DEFAULT_MAX_TOKENS} (1024): the completion cap of a request
 *                            that names none; it is sent upstream, so the reservation covers the output
 * @param upstreamTimeout     {@code KEYPOOL_UPSTREAM_TIMEOUT_SECONDS} (120, decimals allowed): a whole
 *                            non-streaming call, or a stream's wait for its response headers
 * @param streamIdleTimeout   {@code KEYPOOL_STREAM_IDLE_TIMEOUT_SECONDS} (60): the longest silence
 *                            inside a stream before it counts as dropped
 * @param ollamaCheckInterval {@code KEYPOOL_OLLAMA_CHECK_SECONDS} (5): how long an Ollama
 *                            availability answer is reused
 * @param openAiDefaultModel  {@code KEYPOOL_OPENAI_DEFAULT_MODEL} ({@code gpt-4o-mini}): for OpenAI
 *                            keys with no {@code OPENAI_MODEL_i} when no model was asked for
 * @param geminiDefaultModel  {@code KEYPOOL_GEMINI_DEFAULT_MODEL} ({@code gemini-2.5-flash}): the same
 *                            for Gemini
 */
public record ProviderSettings(int defaultMaxTokens, Duration upstreamTimeout, Duration streamIdleTimeout,
        Duration ollamaCheckInterval, String openAiDefaultModel, String geminiDefaultModel) {

    public static final int DEFAULT_MAX_TOKENS = 1024;

    public static ProviderSettings from(KeypoolConfig config) {
        return new ProviderSettings(
                positiveInt(config, "KEYPOOL_DEFAULT_MAX_TOKENS", DEFAULT_MAX_TOKENS),
                seconds(config, "KEYPOOL_UPSTREAM_TIMEOUT_SECONDS", Duration.ofSeconds(120)),
                seconds(config, "KEYPOOL_STREAM_IDLE_TIMEOUT_SECONDS", Duration.ofSeconds(60)),
                seconds(config, "KEYPOOL_OLLAMA_CHECK_SECONDS", Duration.ofSeconds(5)),
                text(config, "KEYPOOL_OPENAI_DEFAULT_MODEL", "gpt-4o-mini"),
                text(config, "KEYPOOL_GEMINI_DEFAULT_MODEL", "gemini-2.5-flash"));
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
