package dev.keypool.providers.openai;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.providers.internal.Json;
import java.nio.charset.StandardCharsets;
import java.util.Set;

/**
 * Which event of an OpenAI stream is the first to say something, so that the events before it
 * (a chat stream's role-only chunk; a response's {@code response.created} and
 * {@code response.in_progress}) can be held back until then: a stream that fails before it says
 * anything is retried on the next key without the caller ever seeing it.
 */
public final class StreamOpening {

    private static final Set<String> PREAMBLE = Set.of("response.created", "response.in_progress", "response.queued");

    private StreamOpening() {
    }

    /** A chat chunk opens the stream when a choice carries content, a refusal, a tool call or a finish. */
    public static boolean chat(byte[] data) {
        JsonNode chunk = Json.parseOrMissing(new String(data, StandardCharsets.UTF_8));
        if (!chunk.isObject() || !chunk.has("choices")) {
            return true; // [DONE], an error, the usage: anything but a chunk opens it
        }
        for (JsonNode choice : chunk.path("choices")) {
            if (!choice.path("finish_reason").isNull() && !choice.path("finish_reason").isMissingNode()) {
                return true;
            }
            JsonNode delta = choice.path("delta");
            if (!delta.path("content").asText("").isEmpty() || !delta.path("refusal").asText("").isEmpty()
                    || delta.has("tool_calls") || delta.has("function_call") || delta.has("audio")) {
                return true;
            }
            if (!choice.path("text").asText("").isEmpty()) {
                return true; // a legacy completion's chunk
            }
        }
        return false;
    }

    /** A Responses event opens the stream unless it is one of the preamble's. */
    public static boolean responses(byte[] data) {
        JsonNode event = Json.parseOrMissing(new String(data, StandardCharsets.UTF_8));
        return !PREAMBLE.contains(event.path("type").asText(""));
    }
}
