package dev.keypool.server;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The error shape of each protocol the gateway speaks, so that a caller's own SDK reads the
 * gateway's errors as it reads its provider's: OpenAI's {@code {"error": {"message", "type",
 * "param", "code"}}}, Google's {@code google.rpc.Status} ({@code {"error": {"code", "message",
 * "status", "details"}}}, with a {@code RetryInfo} when the gateway says when to retry), and
 * Ollama's and SerpApi's {@code {"error": "…"}}. Which one is told by the path the caller called.
 */
enum ErrorShape {
    OPENAI, GOOGLE, OLLAMA, SERPAPI;

    /** The shape of the protocol that {@code path} belongs to. */
    static ErrorShape of(String path) {
        if (path.startsWith("/v1beta/") || path.equals("/v1beta") || (path.startsWith("/v1/") && path.indexOf(':') > 0)) {
            return GOOGLE;
        }
        if (path.startsWith("/api/") && !path.startsWith("/api/admin")) {
            return OLLAMA;
        }
        if (path.equals("/search") || path.startsWith("/search.") || path.startsWith("/searches/")
                || path.equals("/locations.json") || path.equals("/account.json")) {
            return SERPAPI;
        }
        return OPENAI;
    }

    /** The body of {@code error} in this shape. */
    Object body(ApiException error) {
        return switch (this) {
            case OPENAI -> error.body();
            case OLLAMA, SERPAPI -> Map.of("error", error.getMessage());
            case GOOGLE -> {
                Map<String, Object> status = new LinkedHashMap<>();
                status.put("code", error.status());
                status.put("message", error.getMessage());
                status.put("status", rpcStatus(error.status()));
                String retryAfter = error.headers().get("Retry-After");
                if (retryAfter != null) {
                    status.put("details", List.of(Map.of("@type", "type.googleapis.com/google.rpc.RetryInfo",
                            "retryDelay", retryAfter + "s")));
                }
                yield Map.of("error", status);
            }
        };
    }

    /** The {@code google.rpc.Code} name Google answers an HTTP status with. */
    private static String rpcStatus(int status) {
        return switch (status) {
            case 400, 413, 415 -> "INVALID_ARGUMENT";
            case 401 -> "UNAUTHENTICATED";
            case 403 -> "PERMISSION_DENIED";
            case 404 -> "NOT_FOUND";
            case 409 -> "ABORTED";
            case 429 -> "RESOURCE_EXHAUSTED";
            case 499 -> "CANCELLED";
            case 501 -> "UNIMPLEMENTED";
            case 503, 502 -> "UNAVAILABLE";
            case 504 -> "DEADLINE_EXCEEDED";
            default -> status >= 500 ? "INTERNAL" : "FAILED_PRECONDITION";
        };
    }
}
