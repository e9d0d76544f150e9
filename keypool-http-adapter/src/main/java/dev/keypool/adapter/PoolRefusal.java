package dev.keypool.adapter;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keypool.config.Provider;
import dev.keypool.failure.FailureKind;
import dev.keypool.failure.UpstreamException;
import dev.keypool.providers.UnknownModelException;
import dev.keypool.providers.relay.Header;
import dev.keypool.providers.relay.RequestRefused;
import dev.keypool.rotation.NoAvailableKeyException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What keypool refused before any provider answered, as the provider itself would have answered
 * it, so that the framework reads it with its own error handling: the status (429 with
 * {@code Retry-After} when the pool is spent, 503 with no keys, 400 for a request larger than every
 * key's limit, 404 for a model nobody serves), and the body in the protocol's error shape
 * (OpenAI's {@code {"error": {"message", "type", "param", "code"}}}, Google's
 * {@code google.rpc.Status} with a {@code RetryInfo}, Ollama's {@code {"error": "…"}}). The gateway
 * answers the same refusals with the same statuses ({@code keypool-server}'s {@code ApiErrors}).
 *
 * @param status     the HTTP status
 * @param headers    {@code Retry-After} and {@code X-Should-Retry: false} when the pool is spent
 * @param body       the error body
 * @param retryAfter how long until a key frees up, or {@code null}
 * @param cause      what the relay threw
 */
public record PoolRefusal(int status, List<Header> headers, byte[] body, Duration retryAfter, RuntimeException cause) {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Whether the pool was spent (every key resting, full or rate-limited): the caller should wait. */
    public boolean rateLimited() {
        return status == 429;
    }

    /** The message, with the time until a key frees up when one will. */
    public String message() {
        return cause.getMessage() + (retryAfter == null ? "" : " (a key frees up in " + retryAfter.toSeconds() + " s)");
    }

    /**
     * The answer to {@code error} in {@code protocol}'s shape, or {@code null} when it is not a
     * refusal (a bug, or an I/O failure the framework should see as it is).
     */
    static PoolRefusal of(Provider protocol, RuntimeException error, long nowMillis) {
        return switch (error) {
            case RequestRefused refused -> new PoolRefusal(refused.status(), json(), body(protocol, refused.status(),
                    refused.getMessage(), "invalid_request_error", refused.code(), refused.param()), null, refused);
            case NoAvailableKeyException exhausted -> exhausted(protocol, exhausted, nowMillis);
            case UnknownModelException unknown -> new PoolRefusal(404, json(),
                    body(protocol, 404, unknown.getMessage(), "invalid_request_error", "model_not_found", "model"),
                    null, unknown);
            case UpstreamException upstream -> {
                int status = upstream.kind() == FailureKind.CLIENT_ERROR && upstream.status() >= 400
                        && upstream.status() < 500 ? upstream.status() : 502;
                yield new PoolRefusal(status, json(), body(protocol, status, upstream.getMessage(),
                        status == 502 ? "upstream_error" : "invalid_request_error", "upstream_failed", null), null, upstream);
            }
            case IllegalArgumentException bad -> new PoolRefusal(400, json(),
                    body(protocol, 400, bad.getMessage(), "invalid_request_error", "invalid_request", null), null, bad);
            default -> null;
        };
    }

    private static PoolRefusal exhausted(Provider protocol, NoAvailableKeyException e, long nowMillis) {
        Duration retryAfter = e.retryAfter(nowMillis);
        int status = switch (e.reason()) {
            case NO_KEYS -> 503;
            case REQUEST_TOO_LARGE -> 400;
            // Every key was tried and failed: the failure table answers for the last kind, as it
            // was classified when it happened (the gateway's ApiErrors reads the same row).
            case ALL_KEYS_FAILED -> lastKind(e).gatewayStatus() == 0 ? 502 : lastKind(e).gatewayStatus();
            default -> 429;
        };
        List<Header> headers = json();
        headers.add(new Header("X-Should-Retry", "false"));
        if (status == 429 && retryAfter != null) {
            headers.add(new Header("Retry-After", Long.toString(retryAfter.toSeconds())));
        }
        String code = switch (e.reason()) {
            case NO_KEYS -> "no_keys_configured";
            case REQUEST_TOO_LARGE -> "request_exceeds_key_limits";
            case ALL_KEYS_FAILED -> lastKind(e).gatewayCode();
            default -> "keys_exhausted";
        };
        String type = switch (status) {
            case 429 -> "rate_limit_exceeded";
            case 400 -> "invalid_request_error";
            case 503 -> "service_unavailable";
            default -> "upstream_error";
        };
        Duration wait = status == 429 ? retryAfter : null;
        return new PoolRefusal(status, headers, body(protocol, status, e.getMessage(), type, code, null, wait), wait, e);
    }

    private static FailureKind lastKind(NoAvailableKeyException e) {
        return e.lastKind() == null ? FailureKind.SERVER_ERROR : e.lastKind();
    }

    private static List<Header> json() {
        List<Header> headers = new ArrayList<>(3);
        headers.add(new Header("Content-Type", "application/json"));
        return headers;
    }

    private static byte[] body(Provider protocol, int status, String message, String type, String code, String param) {
        return body(protocol, status, message, type, code, param, null);
    }

    private static byte[] body(Provider protocol, int status, String message, String type, String code, String param,
            Duration retryAfter) {
        Object body = switch (protocol) {
            case GEMINI -> Map.of("error", google(status, message, retryAfter));
            case OLLAMA, SERP -> Map.of("error", message);
            default -> {
                Map<String, Object> error = new LinkedHashMap<>();
                error.put("message", message);
                error.put("type", type);
                error.put("param", param);
                error.put("code", code);
                yield Map.of("error", error);
            }
        };
        try {
            return JSON.writeValueAsBytes(body);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            return message.getBytes(StandardCharsets.UTF_8);
        }
    }

    /** Google's {@code google.rpc.Status}, with the {@code RetryInfo} its SDKs read when a key frees up later. */
    private static Map<String, Object> google(int status, String message, Duration retryAfter) {
        Map<String, Object> error = new LinkedHashMap<>();
        error.put("code", status);
        error.put("message", message);
        error.put("status", switch (status) {
            case 400 -> "INVALID_ARGUMENT";
            case 404 -> "NOT_FOUND";
            case 429 -> "RESOURCE_EXHAUSTED";
            case 503, 502 -> "UNAVAILABLE";
            default -> status >= 500 ? "INTERNAL" : "FAILED_PRECONDITION";
        });
        if (retryAfter != null) {
            error.put("details", List.of(Map.of("@type", "type.googleapis.com/google.rpc.RetryInfo",
                    "retryDelay", retryAfter.toSeconds() + "s")));
        }
        return error;
    }
}
