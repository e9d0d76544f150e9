package dev.keypool.providers;

import dev.keypool.config.KeyConfig;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.providers.ollama.OllamaAvailability;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * Decides which provider a requested model name belongs to. The rules, first match wins:
 *
 * <ol>
 *   <li>{@code null}, blank or {@code auto}: every provider in priority order.</li>
 *   <li>{@code provider/model} ({@code openai/gpt-4o}), or a bare provider name: that provider.</li>
 *   <li>{@code gemini-*} (or {@code models/gemini-*}): Gemini.</li>
 *   <li>OpenAI's names ({@code gpt-*}, {@code o1…o9*}, {@code chatgpt-*}, fine-tunes {@code ft:*}),
 *       or a model configured on an OpenAI key: OpenAI.</li>
 *   <li>A model configured on a Gemini key: Gemini.</li>
 *   <li>{@code OLLAMA_MODEL}, a model Ollama lists (with or without {@code :latest}), or any name
 *       with a tag ({@code llama3.2:1b}): Ollama.</li>
 * </ol>
 * Anything else is an {@link UnknownModelException}.
 */
final class ModelRouter {


    private final KeypoolConfig config;
    /** The keys in service: a reload may change them, and so the models they are configured for. */
    private final Function<Provider, List<KeyConfig>> keys;
    private final OllamaAvailability ollama;

    ModelRouter(KeypoolConfig config, Function<Provider, List<KeyConfig>> keys, OllamaAvailability ollama) {
        this.config = config;
        this.keys = keys;
        this.ollama = ollama;
    }

    ModelRoute route(String requested) {
        if (requested == null || requested.isBlank() || requested.trim().equalsIgnoreCase("auto")) {
            return ModelRoute.AUTO;
        }
        String name = requested.trim();
        int slash = name.indexOf('/');
        if (slash > 0) {
            Provider named = providerNamed(name.substring(0, slash));
            if (named != null) {
                String model = name.substring(slash + 1).trim();
                return chatProvider(named, requested,
                        model.isEmpty() || model.equalsIgnoreCase("auto") ? null : model);
            }
        }
        Provider bare = providerNamed(name);
        if (bare != null) {
            return chatProvider(bare, requested, null);
        }
        String lower = name.toLowerCase(Locale.ROOT);
        if (lower.startsWith("models/gemini-")) {
            return new ModelRoute(Provider.GEMINI, name.substring("models/".length()));
        }
        if (lower.startsWith("gemini-")) {
            return new ModelRoute(Provider.GEMINI, name);
        }
        if (openAiName(lower) || configuredOn(Provider.OPENAI, name)) {
            return new ModelRoute(Provider.OPENAI, name);
        }
        if (configuredOn(Provider.GEMINI, name)) {
            return new ModelRoute(Provider.GEMINI, name);
        }
        if (name.equals(config.ollamaModel()) || name.contains(":") || ollamaLists(name)) {
            return new ModelRoute(Provider.OLLAMA, name);
        }
        throw new UnknownModelException(requested, "The model `" + requested
                + "` does not exist or no configured provider serves it");
    }

    /**
     * OpenAI's names: {@code gpt-*}, {@code chatgpt-*}, fine-tunes {@code ft:*}, and the o-series
     * ({@code o1}, {@code o3-mini}). Prefixes, not a regex: this runs for every chat request, and a
     * matcher per call was a seventh of the gateway's allocation.
     */
    static boolean openAiName(String lower) {
        if (lower.startsWith("gpt-") || lower.startsWith("chatgpt-") || lower.startsWith("ft:")) {
            return true;
        }
        return lower.length() >= 2 && lower.charAt(0) == 'o' && lower.charAt(1) >= '1' && lower.charAt(1) <= '9'
                && (lower.length() == 2 || lower.charAt(2) == '-');
    }

    private static ModelRoute chatProvider(Provider provider, String requested, String model) {
        if (provider == Provider.SERP) {
            throw new UnknownModelException(requested, "SerpApi is a search API, not a chat model: `"
                    + requested + "`");
        }
        return new ModelRoute(provider, model);
    }

    private boolean configuredOn(Provider provider, String model) {
        for (KeyConfig key : keys.apply(provider)) {
            if (model.equalsIgnoreCase(key.model())) {
                return true;
            }
        }
        return false;
    }

    private boolean ollamaLists(String model) {
        List<String> models = ollama.models();
        return models.contains(model) || models.contains(model + ":latest");
    }

    private static Provider providerNamed(String name) {
        return Provider.find(name);
    }
}
