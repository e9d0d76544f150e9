package dev.keypool.providers.internal;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.util.JsonRecyclerPools;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.MissingNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;

/**
 * keypool's one JSON codec, for every module: lenient reading (providers add fields every month, so
 * nothing here fails on what it does not know), and writing keypool's own records with snake_case
 * names and their nulls ({@code maskedKey} is {@code masked_key}; the admin contract has
 * {@code "reason": null}). Its mappers are private, so nobody can reconfigure them for everyone;
 * what it hands out (an {@link ObjectWriter}, parsers, generators, node factories) is immutable or
 * per use.
 *
 * <p>Jackson's default buffer pool is per thread, and every request runs on a new virtual thread,
 * so each parse allocated fresh buffers; a shared lock-free pool recycles them.
 */
public final class Json {

    /** Trees, and other people's values as they are named (a caller's extra request fields). */
    private static final ObjectMapper MAPPER = new ObjectMapper(factory())
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    /** keypool's own records and maps: snake_case names, nulls written, empty beans allowed. */
    private static final ObjectWriter RECORDS = new ObjectMapper(factory())
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .configure(SerializationFeature.FAIL_ON_EMPTY_BEANS, false)
            .writer();

    private Json() {
    }

    private static JsonFactory factory() {
        return JsonFactory.builder().recyclerPool(JsonRecyclerPools.sharedLockFreePool()).build();
    }

    /** The tree of {@code body}. @throws IOException when it is not JSON */
    public static JsonNode readTree(byte[] body) throws IOException {
        return MAPPER.readTree(body);
    }

    /** The tree of {@code text}. @throws IOException when it is not JSON */
    public static JsonNode readTree(String text) throws IOException {
        return MAPPER.readTree(text);
    }

    /** A streaming parser over {@code body}, for reading only what is needed. */
    public static JsonParser parser(byte[] body) throws IOException {
        return MAPPER.getFactory().createParser(body);
    }

    /** A streaming generator writing UTF-8 to {@code out}. */
    public static JsonGenerator generator(OutputStream out) throws IOException {
        return MAPPER.getFactory().createGenerator(out);
    }

    /** Writes a value another party named (a caller's field) as it is named. */
    public static void writeValue(JsonGenerator json, Object value) throws IOException {
        MAPPER.writeValue(json, value);
    }

    /** A value another party named, as a tree. */
    public static JsonNode valueToTree(Object value) {
        return MAPPER.valueToTree(value);
    }

    /** A writer of trees and values as they are named; immutable ({@code writer().with(printer)} makes another). */
    public static ObjectWriter writer() {
        return MAPPER.writer();
    }

    public static JsonNodeFactory nodes() {
        return MAPPER.getNodeFactory();
    }

    /** The parsed tree, or a missing node when {@code text} is not JSON (an HTML error page). */
    public static JsonNode parseOrMissing(String text) {
        if (text == null || text.isBlank()) {
            return MissingNode.getInstance();
        }
        try {
            JsonNode node = MAPPER.readTree(text);
            return node == null ? MissingNode.getInstance() : node;
        } catch (JsonProcessingException e) {
            return MissingNode.getInstance();
        }
    }

    /**
     * The parsed object when {@code data} is a JSON object with an {@code error} member, else a
     * missing node; parses only when the bytes mention it, so ordinary events cost a scan.
     */
    public static JsonNode errorEvent(byte[] data) {
        if (!contains(data, ERROR_MEMBER)) {
            return MissingNode.getInstance();
        }
        JsonNode node = parseOrMissing(new String(data, java.nio.charset.StandardCharsets.UTF_8));
        return node.isObject() && node.has("error") ? node : MissingNode.getInstance();
    }

    private static final byte[] ERROR_MEMBER = "\"error\"".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    private static boolean contains(byte[] data, byte[] needle) {
        outer:
        for (int i = 0; i <= data.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (data[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    /** A field's text, or {@code null} when it is missing, {@code null} or not a scalar. */
    public static String text(JsonNode node, String field) {
        JsonNode value = node.path(field);
        return value.isValueNode() && !value.isNull() ? value.asText() : null;
    }

    /** A field's whole number, or {@code -1} when it is missing or not a number. */
    public static long number(JsonNode node, String field) {
        JsonNode value = node.path(field);
        return value.isNumber() ? value.asLong() : -1;
    }

    public static ObjectNode object() {
        return MAPPER.createObjectNode();
    }

    /** {@code value} as JSON: a tree as it is, keypool's own records with snake_case names. */
    public static byte[] writeBytes(Object value) {
        try {
            return RECORDS.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a value could not be written as JSON", e);
        }
    }

    /** Like {@link #writeBytes(Object)}, as text. */
    public static String write(Object value) {
        try {
            return RECORDS.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a value could not be written as JSON", e);
        }
    }
}
