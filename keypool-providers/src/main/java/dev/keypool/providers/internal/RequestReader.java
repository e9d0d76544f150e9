package dev.keypool.providers.internal;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.keypool.providers.relay.RequestRefused;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * A caller's JSON body read once with the streaming parser, for the few fields the pool needs, with
 * the byte offsets of each token so that a field can be changed in place ({@link BodyEdits})
 * without rebuilding the body. Every value is visited, so a body that is not well-formed JSON is
 * refused here rather than sent on.
 */
public final class RequestReader implements AutoCloseable {

    private final byte[] body;
    private final JsonParser parser;

    private RequestReader(byte[] body) throws IOException {
        this.body = body;
        this.parser = Json.parser(body);
    }

    /**
     * Opens {@code body}, which must be a JSON object, positioned on its first field.
     *
     * @throws RequestRefused 400 when the body is empty or not a JSON object
     */
    public static RequestReader object(byte[] body, String what) {
        try {
            RequestReader reader = new RequestReader(body);
            if (reader.parser.nextToken() != JsonToken.START_OBJECT) {
                throw RequestRefused.notJson("The body must be a JSON object (" + what + ").");
            }
            return reader;
        } catch (IOException e) {
            throw RequestRefused.notJson("The body is not valid JSON (" + what + ").");
        }
    }

    public byte[] body() {
        return body;
    }

    /** The next field of the current object, its value token read; {@code null} at the object's end. */
    public String nextField() {
        JsonToken token = next();
        if (token != JsonToken.FIELD_NAME) {
            return null;
        }
        String name;
        try {
            name = parser.currentName();
        } catch (IOException e) {
            throw RequestRefused.notJson("The body is not valid JSON.");
        }
        next();
        return name;
    }

    public JsonToken next() {
        try {
            return parser.nextToken();
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw RequestRefused.notJson("The body is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw RequestRefused.notJson("The body is not valid JSON.");
        }
    }

    /** The current value's token. */
    public JsonToken token() {
        return parser.currentToken();
    }

    /** Skips the current value (and, for an object or array, everything in it). */
    public void skip() {
        try {
            parser.skipChildren();
        } catch (IOException e) {
            throw RequestRefused.notJson("The body is not valid JSON: " + e.getMessage());
        }
    }

    /** Where the current token starts in the body. */
    public int start() {
        return (int) parser.currentTokenLocation().getByteOffset();
    }

    /** Where the current token (a scalar, or a container after {@link #skip}) ends. */
    public int end() {
        try {
            // Jackson reads a string's characters only when asked: until then the location is its opening quote
            parser.finishToken();
        } catch (IOException e) {
            throw RequestRefused.notJson("The body is not valid JSON: " + e.getMessage());
        }
        return (int) parser.currentLocation().getByteOffset();
    }

    public String text() {
        try {
            return parser.getText();
        } catch (IOException e) {
            throw RequestRefused.notJson("The body is not valid JSON: " + e.getMessage());
        }
    }

    /** The current value's JSON text, as written (after this the value is skipped). */
    public String raw() {
        int start = start();
        skip();
        return new String(body, start, end() - start, StandardCharsets.UTF_8);
    }

    /** The current value as a string, or {@code null} when it is JSON {@code null}. */
    public String string(String field) {
        JsonToken token = token();
        if (token == JsonToken.VALUE_NULL) {
            return null;
        }
        if (token != JsonToken.VALUE_STRING) {
            skip();
            throw RequestRefused.invalid(field, "'" + field + "' must be a string.");
        }
        return text();
    }

    /**
     * The current value as a positive whole number, or {@code null} when it is JSON {@code null}.
     *
     * @throws RequestRefused when it is anything else
     */
    public Long positive(String field) {
        JsonToken token = token();
        if (token == JsonToken.VALUE_NULL) {
            return null;
        }
        try {
            if (token == JsonToken.VALUE_NUMBER_INT && parser.getLongValue() > 0) {
                return parser.getLongValue();
            }
        } catch (IOException e) {
            // too large for a long: refused below
        }
        skip();
        throw RequestRefused.invalid(field, "'" + field + "' must be a positive integer.");
    }

    /** The current value as a boolean; {@code false} for JSON {@code null}. */
    public boolean bool(String field) {
        JsonToken token = token();
        if (token == JsonToken.VALUE_TRUE) {
            return true;
        }
        if (token == JsonToken.VALUE_FALSE || token == JsonToken.VALUE_NULL) {
            return false;
        }
        skip();
        throw RequestRefused.invalid(field, "'" + field + "' must be a boolean.");
    }

    /**
     * Walks the current value, handing every string in it, with the name of the field that holds it,
     * to {@code tally}.
     */
    public void tally(PromptTally tally) {
        walk(null, tally);
    }

    /**
     * Walks a conversation (Gemini's {@code contents}, a Responses {@code input}): each element of an
     * array counts as one message; any other value is walked as one.
     */
    public void tallyMessages(PromptTally tally) {
        if (token() == JsonToken.START_ARRAY) {
            while (next() != JsonToken.END_ARRAY) {
                tally.message();
                tally(tally);
            }
        } else {
            tally(tally);
        }
    }

    private void walk(String field, PromptTally tally) {
        JsonToken token = token();
        if (token == JsonToken.START_OBJECT) {
            String name;
            while ((name = nextField()) != null) {
                walk(name, tally);
            }
        } else if (token == JsonToken.START_ARRAY) {
            while (next() != JsonToken.END_ARRAY) {
                walk(field, tally);
            }
        } else if (token == JsonToken.VALUE_STRING) {
            tally.string(field, text());
        }
    }

    /** Checks that nothing follows the object. */
    public void end(String what) {
        JsonToken after = next();
        if (after != null) {
            throw RequestRefused.notJson("The body must be one JSON object (" + what + "); found more after it.");
        }
    }

    @Override
    public void close() {
        try {
            parser.close();
        } catch (IOException ignored) {
            // a parser over a byte array holds nothing to release
        }
    }
}
