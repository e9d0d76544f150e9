package dev.keypool.spring;

import dev.keypool.config.ConfigException;
import dev.keypool.config.EnvConfigLoader;
import dev.keypool.config.KeypoolConfig;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.EnumerablePropertySource;
import org.springframework.core.env.PropertySource;

/**
 * The pool's configuration from Spring's {@code keypool.*} properties and the seed's variables,
 * read by the one loader the library and the gateway use ({@link EnvConfigLoader}), so the names,
 * the validation and the messages are the seed's.
 *
 * <p>A property is the seed's variable in Spring's spelling: {@code keypool.} followed by the
 * variable's name in lower case with dashes, less its {@code KEYPOOL_} prefix.
 * {@code keypool.openai-api-keys} is {@code OPENAI_API_KEYS}, {@code keypool.openai-max-tokens-per-minute-0}
 * is {@code OPENAI_MAX_TOKENS_PER_MINUTE_0}, {@code keypool.selection-strategy} is
 * {@code KEYPOOL_SELECTION_STRATEGY}. Names of a provider ({@code OPENAI_}, {@code GEMINI_},
 * {@code SERP_}, {@code OLLAMA_}) keep their own prefix; every other name gets {@code KEYPOOL_}.
 *
 * <p>Precedence, highest first: the {@code keypool.*} properties (however Spring got them:
 * {@code application.properties}, the command line, a test), the process environment, the
 * {@code .env} file ({@code keypool.env-file}, by default {@code ./.env}).
 */
final class KeypoolVariables {

    static final String PREFIX = "keypool.";
    /** Where the seed's {@code .env} is; not a variable of the seed. */
    static final String ENV_FILE = "keypool.env-file";

    private static final String[] OWN_PREFIXES = {"OPENAI_", "GEMINI_", "SERP_", "OLLAMA_"};

    private KeypoolVariables() {
    }

    /** The configuration, or a {@link ConfigException} naming the property (or variable) at fault. */
    static KeypoolConfig load(ConfigurableEnvironment environment, Map<String, String> processEnvironment) {
        Map<String, String> properties = properties(environment);
        Map<String, String> variables = new HashMap<>(processEnvironment);
        Map<String, String> propertyOf = new HashMap<>();
        for (Map.Entry<String, String> property : properties.entrySet()) {
            String variable = variableOf(property.getKey());
            variables.put(variable, property.getValue());
            propertyOf.put(variable, property.getKey());
        }
        Path envFile = Path.of(environment.getProperty(ENV_FILE, ".env"));
        try {
            return EnvConfigLoader.load(variables, envFile);
        } catch (ConfigException e) {
            String property = propertyOf.get(e.variable());
            if (property == null) {
                throw e;
            }
            String problem = e.getMessage().startsWith(e.variable() + ": ")
                    ? e.getMessage().substring(e.variable().length() + 2) : e.getMessage();
            throw new ConfigException(property, problem + " (the seed's " + e.variable() + ")");
        }
    }

    /** The seed's variable a {@code keypool.*} property stands for. */
    static String variableOf(String property) {
        String name = property.substring(PREFIX.length()).replace('-', '_').replace('.', '_').toUpperCase(Locale.ROOT);
        for (String own : OWN_PREFIXES) {
            if (name.startsWith(own)) {
                return name;
            }
        }
        return name.startsWith("KEYPOOL_") ? name : "KEYPOOL_" + name;
    }

    /** Every {@code keypool.*} property Spring knows, with its value as Spring resolves it. */
    private static Map<String, String> properties(ConfigurableEnvironment environment) {
        Map<String, String> properties = new TreeMap<>();
        for (PropertySource<?> source : environment.getPropertySources()) {
            if (source instanceof EnumerablePropertySource<?> enumerable) {
                for (String name : enumerable.getPropertyNames()) {
                    String lower = name.toLowerCase(Locale.ROOT);
                    if (lower.startsWith(PREFIX) && !lower.equals(ENV_FILE) && !properties.containsKey(lower)) {
                        String value = environment.getProperty(name);
                        if (value != null) {
                            properties.put(lower, value);
                        }
                    }
                }
            }
        }
        return properties;
    }
}
