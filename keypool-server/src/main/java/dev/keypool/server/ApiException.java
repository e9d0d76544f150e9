package dev.keypool.server;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An error the gateway answers in OpenAI's shape, {@code {"error": {"message", "type", "code"}}},
 * with an explicit status. Handlers throw it; the routing's error handler writes it.
 */
final class ApiException extends RuntimeException {

    private final int status;
    private final String type;
    private final String code;
    private final Map<String, String> headers;

    ApiException(int status, String type, String code, String message) {
        this(status, type, code, message, Map.of());
    }

    ApiException(int status, String type, String code, String message, Map<String, String> headers) {
        super(message, null, false, false);
        this.status = status;
        this.type = type;
        this.code = code;
        this.headers = Map.copyOf(headers);
    }

    static ApiException badRequest(String code, String message) {
        return new ApiException(400, "invalid_request_error", code, message);
    }

    static ApiException notFound(String code, String message) {
        return new ApiException(404, "invalid_request_error", code, message);
    }

    int status() {
        return status;
    }

    String type() {
        return type;
    }

    String code() {
        return code;
    }

    Map<String, String> headers() {
        return headers;
    }

    /** The response body. */
    Map<String, Object> body() {
        Map<String, Object> error = new LinkedHashMap<>();
        error.put("message", getMessage());
        error.put("type", type);
        error.put("param", null);
        error.put("code", code);
        return Map.of("error", error);
    }
}
