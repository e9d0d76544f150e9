package dev.keypool.providers.internal;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.util.JsonRecyclerPools;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The one Jackson mapper of the module, and lenient reading: providers add fields every month, so
 * nothing here fails on what it does not know.
 */
public final class Json {

    /**
     * Jackson's default buffer pool is per thread, and every request runs on a new virtual thread,
     * so each parse allocated fresh buffers; a shared lock-free pool recycles them.
     */
    public static final ObjectMapper MAPPER = new ObjectMapper(JsonFactory.builder()
            .recyclerPool(JsonRecyclerPools.sharedLockFreePool()).build())
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    private Json() {
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

    public static byte[] writeBytes(JsonNode node) {
        try {
            return MAPPER.writeValueAsBytes(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a JSON tree could not be written", e);
        }
    }

    public static String write(JsonNode node) {
        try {
            return MAPPER.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a JSON tree could not be written", e);
        }
    }
}
