package dev.keypool.config;

import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Everything keypool is configured with, immutable. Build it in code with {@link #builder()}, or
 * from the environment and a {@code .env} file with {@link #fromEnvironment()} (the seed's format,
 * see {@link EnvConfigLoader}). Every builder setter validates its value and names the field when
 * it refuses one.
 */
public final class KeypoolConfig {

    /** Requests that may wait for one provider's keys at once, by default ({@code KEYPOOL_MAX_QUEUE}). */
    public static final int DEFAULT_MAX_QUEUE = 100;

    public static final List<Provider> DEFAULT_PRIORITY =
            List.of(Provider.OLLAMA, Provider.GEMINI, Provider.OPENAI);

    private final Map<Provider, List<KeyConfig>> keys;
    private final String openAiOrgId;
    private final Map<Provider, String> baseUrls;
    private final String ollamaModel;
    private final List<Provider> providerPriority;
    private final Map<String, String> fallbacks;
    private final SelectionStrategy selectionStrategy;
    private final ZoneId dayZone;
    private final Duration rateLimitCooldown;
    private final Duration serverErrorCooldown;
    private final Duration reservationTimeout;
    private final Duration maxWait;
    private final int maxQueue;
    private final Path dataDir;
    private final Map<String, String> settings;

    private KeypoolConfig(Builder builder) {
        Map<Provider, List<KeyConfig>> byProvider = new EnumMap<>(Provider.class);
        builder.keys.forEach((provider, list) -> byProvider.put(provider, List.copyOf(list)));
        this.keys = Collections.unmodifiableMap(byProvider);
        this.openAiOrgId = builder.openAiOrgId;
        this.baseUrls = Collections.unmodifiableMap(new EnumMap<>(builder.baseUrls));
        this.ollamaModel = builder.ollamaModel;
        this.providerPriority = List.copyOf(builder.providerPriority);
        this.fallbacks = Collections.unmodifiableMap(new LinkedHashMap<>(builder.fallbacks));
        this.selectionStrategy = builder.selectionStrategy;
        this.dayZone = builder.dayZone;
        this.rateLimitCooldown = builder.rateLimitCooldown;
        this.serverErrorCooldown = builder.serverErrorCooldown;
        this.reservationTimeout = builder.reservationTimeout;
        this.maxWait = builder.maxWait;
        this.maxQueue = builder.maxQueue;
        this.dataDir = builder.dataDir;
        this.settings = Map.copyOf(builder.settings);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Reads the process environment and {@code ./.env}; a real environment variable wins. */
    public static KeypoolConfig fromEnvironment() {
        return EnvConfigLoader.load(System.getenv(), Path.of(".env"));
    }

    /** The keys of one provider in index order; empty when none are configured. */
    public List<KeyConfig> keys(Provider provider) {
        return keys.getOrDefault(provider, List.of());
    }

    /** Every configured key, by provider then index. */
    public List<KeyConfig> allKeys() {
        List<KeyConfig> all = new ArrayList<>();
        keys.values().forEach(all::addAll);
        return all;
    }

    public String openAiOrgId() {
        return openAiOrgId;
    }

    /** The upstream base URL of a provider ({@code OPENAI_BASE_URL}, …, {@code OLLAMA_HOST}). */
    public String baseUrl(Provider provider) {
        return baseUrls.get(provider);
    }

    public String ollamaModel() {
        return ollamaModel;
    }

    public List<Provider> providerPriority() {
        return providerPriority;
    }

    /** Model fallbacks ({@code KEYPOOL_FALLBACKS}): requested model to the model that stands in. */
    public Map<String, String> fallbacks() {
        return fallbacks;
    }

    public SelectionStrategy selectionStrategy() {
        return selectionStrategy;
    }

    /** The zone whose midnight starts a new day window. */
    public ZoneId dayZone() {
        return dayZone;
    }

    /** How long a rate-limited key rests when the provider does not say. */
    public Duration rateLimitCooldown() {
        return rateLimitCooldown;
    }

    /** How long a key rests after a server error, timeout or refused connection. */
    public Duration serverErrorCooldown() {
        return serverErrorCooldown;
    }

    /** After this long an unsettled reservation is released, so a crashed caller leaks nothing. */
    public Duration reservationTimeout() {
        return reservationTimeout;
    }

    /**
     * How long a request may wait for a key of its provider to free up when none can take it now;
     * zero (the default) refuses it at once, with the time the soonest key frees up.
     */
    public Duration maxWait() {
        return maxWait;
    }

    /** The most requests that wait for one provider's keys at once; the next are refused at once. */
    public int maxQueue() {
        return maxQueue;
    }

    /** {@code KEYPOOL_DATA_DIR}, or {@code null} for the default beside the {@code .env}. */
    public Path dataDir() {
        return dataDir;
    }

    /**
     * Any {@code KEYPOOL_*} variable as it was given, for modules with settings of their own: the
     * server's address and tokens, the Redis URL, the providers' timeouts are each read and
     * validated by their own module (with {@link Settings}), never here. Secrets among them
     * (tokens, a Redis password) are the caller's to keep out of logs.
     */
    public String setting(String name) {
        return settings.get(name);
    }

    /** The names of every {@code KEYPOOL_*} variable given, known or not (see {@link KnownSettings}). */
    public java.util.Set<String> settingNames() {
        return settings.keySet();
    }

    /**
     * The variables whose values differ between this configuration and {@code other}, keys and
     * per-key variables aside: what a reload that applies only the keys leaves unapplied. Every
     * {@code KEYPOOL_*} variable given to either counts as it was written; the others by their
     * effective value. Sorted by name.
     */
    public List<String> settingsDifferentFrom(KeypoolConfig other) {
        java.util.Set<String> names = new java.util.TreeSet<>();
        differs(names, "OPENAI_ORG_ID", openAiOrgId, other.openAiOrgId);
        for (Provider provider : Provider.values()) {
            differs(names, provider == Provider.OLLAMA ? "OLLAMA_HOST" : provider.envPrefix() + "_BASE_URL",
                    baseUrls.get(provider), other.baseUrls.get(provider));
        }
        differs(names, "OLLAMA_MODEL", ollamaModel, other.ollamaModel);
        differs(names, "KEYPOOL_PROVIDER_PRIORITY", providerPriority, other.providerPriority);
        differs(names, "KEYPOOL_FALLBACKS", fallbacks, other.fallbacks);
        differs(names, "KEYPOOL_SELECTION_STRATEGY", selectionStrategy, other.selectionStrategy);
        differs(names, "KEYPOOL_DAY_ZONE", dayZone, other.dayZone);
        differs(names, "KEYPOOL_RATE_LIMIT_COOLDOWN_SECONDS", rateLimitCooldown, other.rateLimitCooldown);
        differs(names, "KEYPOOL_SERVER_ERROR_COOLDOWN_SECONDS", serverErrorCooldown, other.serverErrorCooldown);
        differs(names, "KEYPOOL_RESERVATION_TIMEOUT_SECONDS", reservationTimeout, other.reservationTimeout);
        differs(names, "KEYPOOL_DATA_DIR", dataDir, other.dataDir);
        java.util.Set<String> given = new java.util.HashSet<>(settings.keySet());
        given.addAll(other.settings.keySet());
        given.forEach(name -> differs(names, name, settings.get(name), other.settings.get(name)));
        return List.copyOf(names);
    }

    private static void differs(java.util.Set<String> names, String name, Object mine, Object theirs) {
        if (!Objects.equals(mine, theirs)) {
            names.add(name);
        }
    }

    @Override
    public String toString() {
        StringBuilder text = new StringBuilder("KeypoolConfig[");
        for (Provider provider : Provider.values()) {
            text.append(provider.id()).append('=').append(keys(provider).size()).append(" keys, ");
        }
        return text.append("priority=").append(providerPriority)
                .append(", strategy=").append(selectionStrategy)
                .append(", zone=").append(dayZone)
                .append(']').toString();
    }

    /** Validating builder; each setter names its field when it refuses a value. */
    public static final class Builder {

        private final Map<Provider, List<KeyConfig>> keys = new EnumMap<>(Provider.class);
        private final Set<String> secrets = new HashSet<>();
        private String openAiOrgId;
        private final Map<Provider, String> baseUrls = new EnumMap<>(Map.of(
                Provider.OPENAI, "https://api.openai.com/v1",
                Provider.GEMINI, "https://generativelanguage.googleapis.com",
                Provider.SERP, "https://serpapi.com",
                Provider.OLLAMA, "http://localhost:11434"));
        private String ollamaModel;
        private List<Provider> providerPriority = DEFAULT_PRIORITY;
        private final Map<String, String> fallbacks = new LinkedHashMap<>();
        private SelectionStrategy selectionStrategy = SelectionStrategy.LEAST_USED;
        private ZoneId dayZone = ZoneOffset.UTC;
        private Duration rateLimitCooldown = Duration.ofSeconds(60);
        private Duration serverErrorCooldown = Duration.ofSeconds(5);
        private Duration reservationTimeout = Duration.ofMinutes(10);
        private Duration maxWait = Duration.ZERO;
        private int maxQueue = DEFAULT_MAX_QUEUE;
        private Path dataDir;
        private final Map<String, String> settings = new LinkedHashMap<>();

        private Builder() {
        }

        /** Adds the next key of a provider, unlimited in both windows and with no model. */
        public Builder addKey(Provider provider, String secret) {
            return addKey(provider, secret, null, WindowLimits.NONE);
        }

        /** Adds the next key of a provider; its index is the number of keys added before it. */
        public Builder addKey(Provider provider, String secret, String model, WindowLimits limits) {
            return addKey(provider, secret, model, limits, KeyConfig.UNCAPPED, 1);
        }

        /**
         * Like {@link #addKey(Provider, String, String, WindowLimits)}, with a cap on the key's
         * requests in flight ({@link KeyConfig#UNCAPPED} for none) and its weight.
         */
        public Builder addKey(Provider provider, String secret, String model, WindowLimits limits, int maxConcurrent,
                int weight) {
            Objects.requireNonNull(provider, "provider");
            String field = provider.envPrefix() + "_API_KEYS";
            if (!provider.usesKeys()) {
                throw new ConfigException(field, provider.id() + " is keyless; it takes no API keys");
            }
            List<KeyConfig> list = keys.computeIfAbsent(provider, p -> new ArrayList<>());
            if (secret == null || secret.isBlank()) {
                throw new ConfigException(field, "key " + list.size() + " is empty");
            }
            String trimmed = secret.trim();
            if (!secrets.add(provider.id() + '\n' + trimmed)) {
                throw new ConfigException(field, "key " + list.size() + " ("
                        + KeyMask.mask(trimmed) + ") is configured twice");
            }
            if (maxConcurrent < 0) {
                throw new ConfigException(provider.envPrefix() + "_MAX_CONCURRENT_" + list.size(),
                        "must be a positive integer, was '" + maxConcurrent + "'");
            }
            if (weight <= 0) {
                throw new ConfigException(provider.envPrefix() + "_WEIGHT_" + list.size(),
                        "must be a positive integer, was '" + weight + "'");
            }
            list.add(new KeyConfig(KeyId.of(provider, list.size()), trimmed, model,
                    Objects.requireNonNull(limits, "limits"), maxConcurrent, weight));
            return this;
        }

        public Builder openAiOrgId(String orgId) {
            this.openAiOrgId = blankToNull(orgId);
            return this;
        }

        public Builder baseUrl(Provider provider, String url) {
            String field = provider == Provider.OLLAMA ? "OLLAMA_HOST" : provider.envPrefix() + "_BASE_URL";
            if (provider == Provider.OLLAMA && url != null && !url.isBlank() && !url.contains("://")) {
                // Ollama's own CLI takes OLLAMA_HOST=0.0.0.0:11434 without a scheme; so do we.
                url = "http://" + url.trim();
            }
            if (url == null || !(url.startsWith("http://") || url.startsWith("https://"))) {
                throw new ConfigException(field, "must be an http:// or https:// URL, was '" + url + "'");
            }
            baseUrls.put(provider, stripTrailingSlash(url.trim()));
            return this;
        }

        public Builder ollamaModel(String model) {
            this.ollamaModel = blankToNull(model);
            return this;
        }

        public Builder providerPriority(List<Provider> priority) {
            if (priority == null || priority.isEmpty()) {
                throw new ConfigException("KEYPOOL_PROVIDER_PRIORITY", "must name at least one provider");
            }
            if (new HashSet<>(priority).size() != priority.size()) {
                throw new ConfigException("KEYPOOL_PROVIDER_PRIORITY", "names a provider twice: " + priority);
            }
            this.providerPriority = List.copyOf(priority);
            return this;
        }

        public Builder fallback(String model, String standIn) {
            if (model == null || model.isBlank() || standIn == null || standIn.isBlank()) {
                throw new ConfigException("KEYPOOL_FALLBACKS", "expected model=fallback, got '"
                        + model + "=" + standIn + "'");
            }
            fallbacks.put(model.trim(), standIn.trim());
            return this;
        }

        public Builder selectionStrategy(SelectionStrategy strategy) {
            this.selectionStrategy = Objects.requireNonNull(strategy, "selectionStrategy");
            return this;
        }

        public Builder dayZone(ZoneId zone) {
            this.dayZone = Objects.requireNonNull(zone, "dayZone");
            return this;
        }

        public Builder rateLimitCooldown(Duration cooldown) {
            this.rateLimitCooldown = positive("KEYPOOL_RATE_LIMIT_COOLDOWN_SECONDS", cooldown);
            return this;
        }

        public Builder serverErrorCooldown(Duration cooldown) {
            this.serverErrorCooldown = positive("KEYPOOL_SERVER_ERROR_COOLDOWN_SECONDS", cooldown);
            return this;
        }

        public Builder reservationTimeout(Duration timeout) {
            this.reservationTimeout = positive("KEYPOOL_RESERVATION_TIMEOUT_SECONDS", timeout);
            return this;
        }

        /** {@code KEYPOOL_MAX_WAIT_SECONDS}: zero (the default) waits never. */
        public Builder maxWait(Duration wait) {
            if (wait == null || wait.isNegative()) {
                throw new ConfigException("KEYPOOL_MAX_WAIT_SECONDS", "must be zero or a positive duration, was " + wait);
            }
            this.maxWait = wait;
            return this;
        }

        /** {@code KEYPOOL_MAX_QUEUE}: how many requests may wait for one provider at once. */
        public Builder maxQueue(int size) {
            if (size <= 0) {
                throw new ConfigException("KEYPOOL_MAX_QUEUE", "must be a positive integer, was " + size);
            }
            this.maxQueue = size;
            return this;
        }

        public Builder dataDir(Path dir) {
            this.dataDir = dir;
            return this;
        }

        /** Keeps a raw {@code KEYPOOL_*} setting for modules that read their own. */
        public Builder setting(String name, String value) {
            settings.put(Objects.requireNonNull(name, "name"), Objects.requireNonNull(value, "value"));
            return this;
        }

        public KeypoolConfig build() {
            return new KeypoolConfig(this);
        }

        private static Duration positive(String field, Duration value) {
            if (value == null || value.isNegative() || value.isZero()) {
                throw new ConfigException(field, "must be a positive duration, was " + value);
            }
            return value;
        }

        private static String blankToNull(String value) {
            return value == null || value.isBlank() ? null : value.trim();
        }

        private static String stripTrailingSlash(String url) {
            return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
        }
    }
}
