package dev.keypool.providers;

import dev.keypool.config.Provider;

/**
 * Where a requested model goes.
 *
 * @param provider {@code null} for {@code auto}: every provider in {@code KEYPOOL_PROVIDER_PRIORITY} order
 * @param model    {@code null} for each key's configured model (Ollama: {@code OLLAMA_MODEL} or its first model)
 */
public record ModelRoute(Provider provider, String model) {

    public static final ModelRoute AUTO = new ModelRoute(null, null);

    public boolean isAuto() {
        return provider == null;
    }
}
