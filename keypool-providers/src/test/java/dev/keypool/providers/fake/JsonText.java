package dev.keypool.providers.fake;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.MinimalPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.keypool.providers.internal.Json;
import java.io.IOException;

/** JSON laid out the way each provider lays it out on the wire. */
final class JsonText {

    private JsonText() {
    }

    static ObjectNode object() {
        return Json.object();
    }

    /** Indented, {@code "name": value}, as OpenAI's error bodies (4) and Google's bodies (2) are. */
    static String pretty(JsonNode node, int indent) {
        DefaultIndenter indenter = new DefaultIndenter(" ".repeat(indent), "\n");
        DefaultPrettyPrinter printer = new DefaultPrettyPrinter(Separators.createDefaultInstance()
                .withObjectFieldValueSpacing(Separators.Spacing.AFTER)
                .withArrayEmptySeparator("")
                .withObjectEmptySeparator(""));
        printer.indentObjectsWith(indenter);
        printer.indentArraysWith(indenter);
        try {
            return Json.writer().with(printer).writeValueAsString(node) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** No whitespace at all, as OpenAI's and Ollama's stream lines are. */
    static String compact(JsonNode node) {
        return Json.write(node);
    }

    /** A space after each colon and none after commas, as Gemini's SSE events are. */
    static String googleCompact(JsonNode node) {
        MinimalPrettyPrinter printer = new MinimalPrettyPrinter() {
            @Override
            public void writeObjectFieldValueSeparator(JsonGenerator generator) throws IOException {
                generator.writeRaw(": ");
            }
        };
        try {
            return Json.writer().with(printer).writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@code text} as a JSON string literal. */
    static String quote(String text) {
        return Json.nodes().textNode(text).toString();
    }
}
