package dev.keypool.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.providers.internal.Json;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/** Reading request bodies within the size limit, and writing JSON responses. */
final class Http {

    static final String JSON = "application/json";

    private Http() {
    }

    static void json(ServerResponse response, int status, Object body) {
        response.status(status);
        sendJson(response, Json.writeBytes(body));
    }

    /** JSON already written, with the status set before. */
    static void sendJson(ServerResponse response, byte[] json) {
        response.header(HeaderNames.CONTENT_TYPE, JSON);
        response.send(json);
    }

    static void json(ServerResponse response, Object body) {
        json(response, 200, body);
    }

    /**
     * The request body, at most {@code maxBytes}; empty when there is none.
     *
     * @throws ApiException 413 when it is larger
     */
    static byte[] body(ServerRequest request, long maxBytes) {
        var length = request.headers().contentLength();
        if (length.isPresent() && length.getAsLong() > maxBytes) {
            throw tooLarge(maxBytes);
        }
        if (!request.content().hasEntity()) {
            return new byte[0];
        }
        try (InputStream in = request.content().inputStream()) {
            // With a Content-Length, read exactly that (plus one byte to catch a lying sender):
            // readNBytes(max) would allocate its 16 KiB chunks for a 150-byte body.
            long limit = length.isPresent() ? length.getAsLong() + 1 : maxBytes + 1;
            byte[] bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, Math.min(limit, maxBytes + 1)));
            if (bytes.length > maxBytes) {
                throw tooLarge(maxBytes);
            }
            return bytes;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The body as JSON; {@code null} when the body is empty. */
    static JsonNode jsonBody(ServerRequest request, long maxBytes) {
        byte[] body = body(request, maxBytes);
        if (blank(body)) {
            return null;
        }
        try {
            return Json.readTree(body);
        } catch (java.io.IOException e) {
            throw ApiException.badRequest("invalid_json", "The request body is not valid JSON: "
                    + firstLine(e.getMessage()));
        }
    }

    /** Whether the body is empty or JSON whitespace only (decoding it to ask would copy it). */
    private static boolean blank(byte[] body) {
        for (byte b : body) {
            if (b != ' ' && b != '\n' && b != '\r' && b != '\t') {
                return false;
            }
        }
        return true;
    }

    private static ApiException tooLarge(long maxBytes) {
        return new ApiException(413, "invalid_request_error", "request_too_large",
                "The request body is larger than this gateway accepts (" + maxBytes
                        + " bytes; raise KEYPOOL_MAX_BODY_BYTES to allow more).");
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "unreadable";
        }
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }
}
