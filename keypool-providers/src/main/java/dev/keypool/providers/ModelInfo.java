package dev.keypool.providers;

import dev.keypool.config.Provider;

/**
 * A model the pool can serve.
 *
 * @param id as OpenAI's {@code /v1/models} would list it: {@code gpt-4o}, {@code gemini-2.5-flash},
 *           {@code llama3.2:latest}
 */
public record ModelInfo(String id, Provider provider) {
}
