package dev.keypool.config;

/**
 * A configuration value that keypool cannot start with. The message names the variable (or the
 * builder field) and says what was expected; it never contains a key.
 */
public class ConfigException extends RuntimeException {

    private final String variable;

    public ConfigException(String variable, String problem) {
        super(variable + ": " + problem);
        this.variable = variable;
    }

    /** The environment variable or builder field at fault. */
    public String variable() {
        return variable;
    }
}
