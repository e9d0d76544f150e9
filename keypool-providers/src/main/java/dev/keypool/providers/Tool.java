package dev.keypool.providers;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.providers.internal.Json;
import java.util.regex.Pattern;

/**
 * A function the model may call.
 *
 * @param name        letters, digits, {@code _} and {@code -}, at most 64
 * @param description what it does, for the model; {@code null} for none
 * @param parameters  its arguments' JSON Schema, a JSON object's text; {@code null} for none
 * @param strict      whether the arguments must follow the schema exactly (OpenAI's strict mode, Gemini's
 *                    validated calling; Ollama cannot, and refuses it)
 */
public record Tool(String name, String description, String parameters, boolean strict) {

    private static final Pattern NAME = Pattern.compile("[a-zA-Z0-9_-]{1,64}");

    public Tool {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("a tool's name must be 1 to 64 letters, digits, _ or -, was '" + name + "'");
        }
        if (parameters != null) {
            JsonNode schema = Json.parseOrMissing(parameters);
            if (!schema.isObject()) {
                throw new IllegalArgumentException("tool " + name + ": parameters must be a JSON Schema object");
            }
        }
    }

    /** A function with a schema for its arguments, not strict. */
    public static Tool function(String name, String description, String parameters) {
        return new Tool(name, description, parameters, false);
    }
}
