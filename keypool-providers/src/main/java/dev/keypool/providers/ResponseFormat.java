package dev.keypool.providers;

import dev.keypool.providers.internal.Json;

/**
 * What the answer's text must be: free text, any JSON object, or JSON following a schema.
 *
 * @param name   a {@link Type#JSON_SCHEMA}'s name (letters, digits, {@code _}, {@code -})
 * @param schema a {@link Type#JSON_SCHEMA}'s JSON Schema, a JSON object's text
 * @param strict whether the answer must follow the schema exactly (OpenAI's strict mode; Gemini and
 *               Ollama constrain their output to the schema either way)
 */
public record ResponseFormat(Type type, String name, String schema, boolean strict) {

    public enum Type { TEXT, JSON_OBJECT, JSON_SCHEMA }

    public ResponseFormat {
        if (type == null) {
            throw new IllegalArgumentException("a response format needs its type");
        }
        if (type == Type.JSON_SCHEMA) {
            if (name == null || !name.matches("[a-zA-Z0-9_-]{1,64}")) {
                throw new IllegalArgumentException("a JSON schema format needs a name of 1 to 64 letters, digits, _ or -");
            }
            if (schema == null || !Json.parseOrMissing(schema).isObject()) {
                throw new IllegalArgumentException("format " + name + ": the schema must be a JSON Schema object");
            }
        } else if (name != null || schema != null || strict) {
            throw new IllegalArgumentException("only a JSON schema format has a name, a schema or strictness");
        }
    }

    public static ResponseFormat text() {
        return new ResponseFormat(Type.TEXT, null, null, false);
    }

    /** Any JSON object (tell the model so in the prompt, as OpenAI requires). */
    public static ResponseFormat json() {
        return new ResponseFormat(Type.JSON_OBJECT, null, null, false);
    }

    /** JSON following {@code schema}, strictly. */
    public static ResponseFormat jsonSchema(String name, String schema) {
        return new ResponseFormat(Type.JSON_SCHEMA, name, schema, true);
    }
}
