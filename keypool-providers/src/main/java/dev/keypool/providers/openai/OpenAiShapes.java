package dev.keypool.providers.openai;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.keypool.providers.internal.Json;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.UUID;

/**
 * OpenAI's shapes as keypool writes them itself: for answers translated from another provider and
 * for the gateway's own errors. Pass-through answers are never rewritten with these.
 */
public final class OpenAiShapes {

    private OpenAiShapes() {
    }

    /** {@code {"error": {"message", "type", "param", "code"}}}. */
    public static byte[] error(String message, String type, String param, String code) {
        return write(json -> {
            json.writeStartObject();
            json.writeObjectFieldStart("error");
            json.writeStringField("message", message);
            json.writeStringField("type", type);
            if (param == null) {
                json.writeNullField("param");
            } else {
                json.writeStringField("param", param);
            }
            if (code == null) {
                json.writeNullField("code");
            } else {
                json.writeStringField("code", code);
            }
            json.writeEndObject();
            json.writeEndObject();
        });
    }

    /** A completion id for an answer that came with none ({@code chatcmpl-kp…}). */
    public static String newCompletionId() {
        return "chatcmpl-kp" + UUID.randomUUID().toString().replace("-", "").substring(0, 24);
    }

    /**
     * An id for a tool call the provider gave none ({@code call_kp…}): {@code call_} like OpenAI's and
     * Ollama's, so a provider that would need its own ids back can tell these from them.
     */
    public static String newToolCallId() {
        return "call_kp" + UUID.randomUUID().toString().replace("-", "").substring(0, 22);
    }

    /** Writes JSON with the module's mapper. */
    public static byte[] write(JsonWriter writer) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        try (JsonGenerator json = Json.generator(out)) {
            writer.write(json);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** Something that writes one JSON document. */
    @FunctionalInterface
    public interface JsonWriter {
        void write(JsonGenerator json) throws IOException;
    }
}
