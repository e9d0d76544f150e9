package dev.keypool.config;

import io.github.cdimascio.dotenv.Dotenv;
import io.github.cdimascio.dotenv.DotenvEntry;
import io.github.cdimascio.dotenv.DotenvException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.DateTimeException;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the seed's {@code .env} format, and keypool's own variables, into a {@link KeypoolConfig}.
 *
 * <pre>
 * OPENAI_API_KEYS=sk-proj-key1,sk-proj-key2      keys, comma-separated, index 0, 1, …
 * OPENAI_MODEL_0=gpt-4o                          the model of key 0
 * OPENAI_MAX_TOKENS_PER_MINUTE_0=90000           its sliding-minute limit (unset: unlimited)
 * OPENAI_MAX_TOKENS_PER_DAY_0=2000000            its day limit (unset: unlimited)
 * OPENAI_MAX_REQUESTS_PER_MINUTE_0=500           its sliding-minute request limit (unset: unlimited)
 * OPENAI_MAX_REQUESTS_PER_DAY_0=10000            its day request limit (unset: unlimited)
 * OPENAI_MAX_CONCURRENT_0=4                      its cap on requests in flight, per process (unset: none)
 * OPENAI_WEIGHT_0=3                              its share under the weighted strategy (unset: 1)
 * </pre>
 *
 * <p>The same for {@code GEMINI_} and {@code SERP_}. Values come from a {@code .env} file and the
 * process environment; a real environment variable wins over the file. Anything that cannot be
 * right stops loading with a {@link ConfigException} naming the variable: a limit that is not a
 * positive integer, a per-key variable whose index has no key, an empty key between commas, a key
 * listed twice.
 */
public final class EnvConfigLoader {

    /** A per-key variable of any key-using provider: its prefix comes from {@link Provider#envPrefix()}. */
    private static final Pattern PER_KEY = Pattern.compile("^(" + String.join("|", Arrays.stream(Provider.values())
            .filter(Provider::usesKeys).map(Provider::envPrefix).toList())
            + ")_(MODEL|MAX_TOKENS_PER_MINUTE|MAX_TOKENS_PER_DAY|MAX_REQUESTS_PER_MINUTE|MAX_REQUESTS_PER_DAY|MAX_CONCURRENT"
            + "|WEIGHT)_(\\d+)$");

    /** The {@code KEYPOOL_*} variables this loader reads (see {@link KnownSettings}). */
    public static final Set<String> SETTINGS = Set.of("KEYPOOL_PROVIDER_PRIORITY", "KEYPOOL_FALLBACKS",
            "KEYPOOL_SELECTION_STRATEGY", "KEYPOOL_DAY_ZONE", "KEYPOOL_RATE_LIMIT_COOLDOWN_SECONDS",
            "KEYPOOL_SERVER_ERROR_COOLDOWN_SECONDS", "KEYPOOL_RESERVATION_TIMEOUT_SECONDS", "KEYPOOL_DATA_DIR",
            "KEYPOOL_MAX_WAIT_SECONDS", "KEYPOOL_MAX_QUEUE");

    private EnvConfigLoader() {
    }

    /**
     * Loads from the given environment and, when it exists, the {@code .env} file at
     * {@code envFile}.
     */
    public static KeypoolConfig load(Map<String, String> environment, Path envFile) {
        return fromVariables(merge(environment, envFile, false));
    }

    /**
     * Like {@link #load(Map, Path)}, but the file must exist: for a path the user named
     * ({@code --env-file}).
     */
    public static KeypoolConfig loadRequired(Map<String, String> environment, Path envFile) {
        return fromVariables(merge(environment, envFile, true));
    }

    /** Builds the configuration from variables already gathered, with no file involved. */
    public static KeypoolConfig fromVariables(Map<String, String> variables) {
        KeypoolConfig.Builder builder = KeypoolConfig.builder();
        for (Provider provider : Provider.values()) {
            if (provider.usesKeys()) {
                addKeys(builder, provider, variables);
            }
        }
        String orgId = variables.get("OPENAI_ORG_ID");
        builder.openAiOrgId(orgId);
        for (Provider provider : Provider.values()) {
            String name = provider == Provider.OLLAMA ? "OLLAMA_HOST" : provider.envPrefix() + "_BASE_URL";
            String value = variables.get(name);
            if (value != null && !value.isBlank()) {
                builder.baseUrl(provider, value.trim());
            }
        }
        builder.ollamaModel(variables.get("OLLAMA_MODEL"));
        ifSet(variables, "KEYPOOL_PROVIDER_PRIORITY", value -> builder.providerPriority(priority(value)));
        ifSet(variables, "KEYPOOL_FALLBACKS", value -> fallbacks(builder, value));
        ifSet(variables, "KEYPOOL_SELECTION_STRATEGY", value -> {
            try {
                builder.selectionStrategy(SelectionStrategy.parse(value));
            } catch (IllegalArgumentException e) {
                throw new ConfigException("KEYPOOL_SELECTION_STRATEGY",
                        "expected least-used, round-robin, fill-first or weighted, was '" + value + "'");
            }
        });
        ifSet(variables, "KEYPOOL_DAY_ZONE", value -> {
            try {
                builder.dayZone(ZoneId.of(value.trim()));
            } catch (DateTimeException e) {
                throw new ConfigException("KEYPOOL_DAY_ZONE", "not a time zone: '" + value + "'");
            }
        });
        ifSet(variables, "KEYPOOL_RATE_LIMIT_COOLDOWN_SECONDS",
                value -> builder.rateLimitCooldown(Settings.seconds("KEYPOOL_RATE_LIMIT_COOLDOWN_SECONDS", value)));
        ifSet(variables, "KEYPOOL_SERVER_ERROR_COOLDOWN_SECONDS",
                value -> builder.serverErrorCooldown(Settings.seconds("KEYPOOL_SERVER_ERROR_COOLDOWN_SECONDS", value)));
        ifSet(variables, "KEYPOOL_RESERVATION_TIMEOUT_SECONDS",
                value -> builder.reservationTimeout(Settings.seconds("KEYPOOL_RESERVATION_TIMEOUT_SECONDS", value)));
        ifSet(variables, "KEYPOOL_MAX_WAIT_SECONDS",
                value -> builder.maxWait(Settings.zeroOrSeconds("KEYPOOL_MAX_WAIT_SECONDS", value)));
        ifSet(variables, "KEYPOOL_MAX_QUEUE", value -> builder.maxQueue(Settings.positiveInt("KEYPOOL_MAX_QUEUE", value)));
        ifSet(variables, "KEYPOOL_DATA_DIR", value -> builder.dataDir(Path.of(value.trim())));
        variables.forEach((name, value) -> {
            if (name.startsWith("KEYPOOL_") && value != null) {
                builder.setting(name, value);
            }
        });
        return builder.build();
    }

    private static Map<String, String> merge(Map<String, String> environment, Path envFile, boolean required) {
        Map<String, String> merged = new HashMap<>();
        if (envFile != null) {
            if (Files.isRegularFile(envFile)) {
                merged.putAll(readEnvFile(envFile));
            } else if (required) {
                throw new ConfigException("--env-file", "no such file: " + envFile);
            }
        }
        environment.forEach((name, value) -> {
            if (value != null) {
                merged.put(name, value);
            }
        });
        return merged;
    }

    private static Map<String, String> readEnvFile(Path envFile) {
        Path absolute = envFile.toAbsolutePath();
        Path dir = absolute.getParent();
        try {
            Dotenv dotenv = Dotenv.configure()
                    .directory(dir == null ? "." : dir.toString())
                    .filename(absolute.getFileName().toString())
                    .load();
            Map<String, String> values = new HashMap<>();
            for (DotenvEntry entry : dotenv.entries(Dotenv.Filter.DECLARED_IN_ENV_FILE)) {
                values.put(entry.getKey(), entry.getValue());
            }
            return values;
        } catch (DotenvException e) {
            throw new ConfigException(envFile.toString(), "cannot be read as a .env file: " + redact(e.getMessage(), envFile));
        }
    }

    /**
     * A malformed line may hold a key: say where, never what. dotenv-java's message is
     * {@code "Malformed entry "} followed by the line itself, so the line is found by its content.
     */
    private static String redact(String message, Path envFile) {
        String prefix = "Malformed entry ";
        if (message != null && message.startsWith(prefix)) {
            String entry = message.substring(prefix.length()).strip();
            try {
                List<String> lines = Files.readAllLines(envFile);
                for (int i = 0; i < lines.size(); i++) {
                    if (lines.get(i).strip().equals(entry)) {
                        return "malformed entry on line " + (i + 1);
                    }
                }
            } catch (IOException | UncheckedIOException e) {
                // Unreadable now though dotenv just read it: fall through to the bare answer.
            }
        }
        return "malformed entry";
    }

    private static void addKeys(KeypoolConfig.Builder builder, Provider provider, Map<String, String> variables) {
        String keysVariable = provider.envPrefix() + "_API_KEYS";
        String raw = variables.get(keysVariable);
        List<String> secrets = raw == null || raw.isBlank() ? List.of() : splitKeys(keysVariable, raw);

        Map<Integer, String> models = new TreeMap<>();
        Map<Integer, Long> perMinute = new TreeMap<>();
        Map<Integer, Long> perDay = new TreeMap<>();
        Map<Integer, Long> requestsPerMinute = new TreeMap<>();
        Map<Integer, Long> requestsPerDay = new TreeMap<>();
        Map<Integer, Integer> maxConcurrent = new TreeMap<>();
        Map<Integer, Integer> weights = new TreeMap<>();
        for (Map.Entry<String, String> variable : new TreeMap<>(variables).entrySet()) {
            Matcher matcher = PER_KEY.matcher(variable.getKey());
            if (!matcher.matches() || !matcher.group(1).equals(provider.envPrefix())) {
                continue;
            }
            String name = variable.getKey();
            int index = index(name, matcher.group(3));
            if (index >= secrets.size()) {
                throw new ConfigException(name, secrets.isEmpty()
                        ? "there is no key " + index + ": " + keysVariable + " is not set"
                        : "there is no key " + index + ": " + keysVariable + " lists " + secrets.size()
                                + " key" + (secrets.size() == 1 ? "" : "s") + " (indexes 0 to " + (secrets.size() - 1) + ")");
            }
            switch (matcher.group(2)) {
                case "MODEL" -> models.put(index, variable.getValue());
                case "MAX_TOKENS_PER_MINUTE" -> perMinute.put(index, Settings.positiveLong(name, variable.getValue()));
                case "MAX_REQUESTS_PER_MINUTE" -> requestsPerMinute.put(index, Settings.positiveLong(name, variable.getValue()));
                case "MAX_REQUESTS_PER_DAY" -> requestsPerDay.put(index, Settings.positiveLong(name, variable.getValue()));
                case "MAX_CONCURRENT" -> maxConcurrent.put(index, Settings.positiveInt(name, variable.getValue()));
                case "WEIGHT" -> weights.put(index, Settings.positiveInt(name, variable.getValue()));
                default -> perDay.put(index, Settings.positiveLong(name, variable.getValue()));
            }
        }
        for (int i = 0; i < secrets.size(); i++) {
            WindowLimits limits = WindowLimits.of(
                    perMinute.getOrDefault(i, WindowLimits.UNLIMITED),
                    perDay.getOrDefault(i, WindowLimits.UNLIMITED))
                    .withRequests(requestsPerMinute.getOrDefault(i, WindowLimits.UNLIMITED),
                            requestsPerDay.getOrDefault(i, WindowLimits.UNLIMITED));
            builder.addKey(provider, secrets.get(i), models.get(i), limits,
                    maxConcurrent.getOrDefault(i, KeyConfig.UNCAPPED), weights.getOrDefault(i, 1));
        }
    }

    private static List<String> splitKeys(String variable, String raw) {
        String[] parts = raw.split(",", -1);
        List<String> keys = new ArrayList<>(parts.length);
        Map<String, Integer> seen = new HashMap<>();
        for (int i = 0; i < parts.length; i++) {
            String key = parts[i].trim();
            if (key.isEmpty()) {
                throw new ConfigException(variable, "entry " + i + " is empty (two commas in a row, or a comma at an end)");
            }
            Integer first = seen.putIfAbsent(key, i);
            if (first != null) {
                throw new ConfigException(variable, "entry " + i + " (" + KeyMask.mask(key)
                        + ") repeats entry " + first + "; each key may be listed once");
            }
            keys.add(key);
        }
        return keys;
    }

    private static int index(String name, String digits) {
        try {
            return Integer.parseInt(digits);
        } catch (NumberFormatException e) {
            throw new ConfigException(name, "index is too large");
        }
    }

    private static List<Provider> priority(String value) {
        List<Provider> priority = new ArrayList<>();
        for (String name : Settings.list("KEYPOOL_PROVIDER_PRIORITY", value)) {
            try {
                priority.add(Provider.of(name));
            } catch (IllegalArgumentException e) {
                throw new ConfigException("KEYPOOL_PROVIDER_PRIORITY", e.getMessage());
            }
        }
        return priority;
    }

    private static void fallbacks(KeypoolConfig.Builder builder, String value) {
        for (String pair : Settings.list("KEYPOOL_FALLBACKS", value)) {
            int equals = pair.indexOf('=');
            if (equals <= 0 || equals == pair.length() - 1) {
                throw new ConfigException("KEYPOOL_FALLBACKS", "expected model=fallback, got '" + pair + "'");
            }
            builder.fallback(pair.substring(0, equals), pair.substring(equals + 1));
        }
    }

    private static void ifSet(Map<String, String> variables, String name, java.util.function.Consumer<String> apply) {
        String value = variables.get(name);
        if (value != null && !value.isBlank()) {
            apply.accept(value);
        }
    }
}
