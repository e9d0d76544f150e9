package dev.keypool.providers.openai;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.keypool.providers.internal.Json;
import dev.keypool.providers.relay.AnswerSpec;
import java.io.ByteArrayOutputStream;
import java.io.IOException;

/**
 * Hides what {@code stream_options.include_usage} brings from a caller that did not ask for it:
 * the last chunk ({@code "choices": []} with the usage) is left out, and the {@code "usage": null}
 * OpenAI adds to every other chunk is taken out of it, so the stream reads as if keypool had never
 * asked. The relay still reads the usage from the chunk it leaves out.
 */
final class HiddenUsage implements AnswerSpec.EventEditor {

    static final HiddenUsage INSTANCE = new HiddenUsage();

    private HiddenUsage() {
    }

    @Override
    public byte[] edit(byte[] data) {
        int nameStart = -1;
        int valueEnd = -1;
        boolean usageNull = false;
        boolean usageObject = false;
        boolean noChoices = false;
        try (JsonParser json = Json.parser(data)) {
            if (json.nextToken() != JsonToken.START_OBJECT) {
                return data;
            }
            while (json.nextToken() == JsonToken.FIELD_NAME) {
                String field = json.currentName();
                int start = (int) json.currentTokenLocation().getByteOffset();
                JsonToken value = json.nextToken();
                if (field.equals("usage")) {
                    if (value == JsonToken.VALUE_NULL) {
                        usageNull = true;
                        nameStart = start;
                        valueEnd = (int) json.currentLocation().getByteOffset();
                    } else {
                        usageObject = value == JsonToken.START_OBJECT;
                        json.skipChildren();
                    }
                } else if (field.equals("choices") && value == JsonToken.START_ARRAY) {
                    noChoices = json.nextToken() == JsonToken.END_ARRAY;
                    if (!noChoices) {
                        json.skipChildren();
                        skipToArrayEnd(json);
                    }
                } else {
                    json.skipChildren();
                }
            }
        } catch (IOException e) {
            return data; // not a chunk ([DONE], an error): passed as it is
        }
        if (usageObject && noChoices) {
            return null;
        }
        return usageNull ? without(data, nameStart, valueEnd) : data;
    }

    private static void skipToArrayEnd(JsonParser json) throws IOException {
        JsonToken token;
        while ((token = json.nextToken()) != JsonToken.END_ARRAY && token != null) {
            json.skipChildren();
        }
    }

    /** {@code data} without the member at {@code [nameStart, valueEnd)} and the comma that joined it. */
    private static byte[] without(byte[] data, int nameStart, int valueEnd) {
        int start = nameStart;
        int end = valueEnd;
        int before = start - 1;
        while (before >= 0 && isSpace(data[before])) {
            before--;
        }
        if (before >= 0 && data[before] == ',') {
            start = before;
        } else {
            int after = end;
            while (after < data.length && isSpace(data[after])) {
                after++;
            }
            if (after < data.length && data[after] == ',') {
                end = after + 1;
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(data.length);
        out.write(data, 0, start);
        out.write(data, end, data.length - end);
        return out.toByteArray();
    }

    private static boolean isSpace(byte b) {
        return b == ' ' || b == '\n' || b == '\r' || b == '\t';
    }
}
