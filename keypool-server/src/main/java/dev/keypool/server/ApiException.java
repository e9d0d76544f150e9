package dev.keypool.server;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An error the gateway answers itself, with an explicit status, in the error shape of the protocol
 * the caller speaks ({@link ErrorShape}: OpenAI's {@code {"error": {"message", "type", "param",
 * "code"}}} unless the caller speaks Gemini's, Ollama's or SerpApi's). Handlers throw it; the
 * routing's error handler writes it.
 */
final class ApiException extends RuntimeException {

    private final int status;
    private final String type;
    private final String code;
    private final String param;
    private final Map<String, String> headers;

    ApiException(int status, String type, String code, String message) {
        this(status, type, code, message, Map.of());
    }

    ApiException(int status, String type, String code, String message, Map<String, String> headers) {
        this(status, type, code, null, message, headers);
    }

    ApiException(int status, String type, String code, String param, String message, Map<String, String> headers) {
        super(message, null, false, false);
        this.status = status;
        this.type = type;
        this.code = code;
        this.param = param;
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

    /** The request field at fault, or {@code null}. */
    String param() {
        return param;
    }

    Map<String, String> headers() {
        return headers;
    }

    /** The response body in OpenAI's shape. */
    Map<String, Object> body() {
        Map<String, Object> error = new LinkedHashMap<>();
        error.put("message", getMessage());
        error.put("type", type);
        error.put("param", param);
        error.put("code", code);
        return Map.of("error", error);
    }
}
