package dev.keypool.config;

import java.util.Locale;

/**
 * The upstreams keypool pools keys for. {@link #OLLAMA} is keyless: it has availability, not keys.
 */
public enum Provider {
    OPENAI("openai", "OPENAI", "OpenAI"),
    GEMINI("gemini", "GEMINI", "Google Gemini"),
    /** SerpApi. Its limits count searches: one search is one "token". */
    SERP("serp", "SERP", "SerpApi"),
    OLLAMA("ollama", "OLLAMA", "Ollama");

    private final String id;
    private final String envPrefix;
    private final String displayName;

    Provider(String id, String envPrefix, String displayName) {
        this.id = id;
        this.envPrefix = envPrefix;
        this.displayName = displayName;
    }

    /** The provider's name as people write it ({@code "Google Gemini"}), for the dashboard. */
    public String displayName() {
        return displayName;
    }

    /** The lower-case name used in JSON, URLs, metrics and the seed's API ({@code "openai"}). */
    public String id() {
        return id;
    }

    /** The prefix of this provider's variables in the environment ({@code OPENAI_API_KEYS}). */
    public String envPrefix() {
        return envPrefix;
    }

    /** Whether this provider is called with pooled API keys. */
    public boolean usesKeys() {
        return this != OLLAMA;
    }

    /**
     * Parses a provider name as users write it: {@code "openai"}, {@code "OpenAI"}, {@code "serpapi"}.
     *
     * @throws IllegalArgumentException naming the accepted values
     */
    public static Provider of(String name) {
        Provider provider = find(name);
        if (provider == null) {
            throw new IllegalArgumentException(
                    "Unknown provider '" + name + "': expected one of openai, gemini, serp, ollama");
        }
        return provider;
    }

    /**
     * Like {@link #of(String)}, but {@code null} for a name that is no provider: for callers that
     * ask about every model name on the request path, where an exception per miss costs.
     */
    public static Provider find(String name) {
        if (name == null) {
            return null;
        }
        String normalised = name.trim().toLowerCase(Locale.ROOT);
        if (normalised.equals("serpapi")) {
            return SERP;
        }
        for (Provider provider : values()) {
            if (provider.id.equals(normalised)) {
                return provider;
            }
        }
        return null;
    }

    @Override
    public String toString() {
        return id;
    }
}
