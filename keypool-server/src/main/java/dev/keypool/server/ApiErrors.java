package dev.keypool.server;

import dev.keypool.failure.FailureKind;
import dev.keypool.failure.UpstreamException;
import dev.keypool.providers.UnknownModelException;
import dev.keypool.providers.relay.RequestRefused;
import dev.keypool.rotation.NoAvailableKeyException;
import io.helidon.http.HttpException;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns what the library throws into OpenAI-shaped errors with the right status:
 *
 * <table>
 *   <caption>Mapping</caption>
 *   <tr><th>thrown</th><th>status</th></tr>
 *   <tr><td>{@link NoAvailableKeyException}, keys spent or cooling, or every key rate-limited</td>
 *       <td>429, {@code Retry-After} when a key frees up by itself, {@code X-Should-Retry: false}</td></tr>
 *   <tr><td>{@link NoAvailableKeyException}, no keys configured</td><td>503</td></tr>
 *   <tr><td>{@link NoAvailableKeyException}, the request exceeds every key's limit</td><td>400</td></tr>
 *   <tr><td>{@link NoAvailableKeyException}, every key failed with server errors or was unreachable</td><td>502 / 503</td></tr>
 *   <tr><td>{@link UpstreamException} of kind client error</td><td>the provider's 4xx</td></tr>
 *   <tr><td>{@link UnknownModelException}</td><td>404 {@code model_not_found}</td></tr>
 *   <tr><td>{@link IllegalArgumentException}</td><td>400</td></tr>
 *   <tr><td>anything else</td><td>500, details in the log only</td></tr>
 * </table>
 *
 * {@code X-Should-Retry: false} stops the official SDKs from retrying a 429 the gateway already
 * knows will repeat: every key is spent, and retrying would only spend the caller's time.
 */
final class ApiErrors {

    private static final Logger LOG = LoggerFactory.getLogger(ApiErrors.class);

    private ApiErrors() {
    }

    static void register(HttpRouting.Builder routing, Clock clock) {
        routing.error(ApiException.class, (request, response, error) -> write(request, response, error));
        routing.error(Exception.class, (request, response, error) ->
                write(request, response, translate(error, clock.millis())));
    }

    /** Writes {@code error} in the shape of the protocol the caller's path belongs to. */
    static void write(ServerRequest request, ServerResponse response, ApiException error) {
        write(ErrorShape.of(request.path().rawPath()), response, error);
    }

    static void write(ErrorShape shape, ServerResponse response, ApiException error) {
        if (response.isSent()) {
            return;
        }
        error.headers().forEach(response::header);
        Http.json(response, error.status(), shape.body(error));
    }

    static ApiException translate(Throwable error, long nowMillis) {
        return switch (error) {
            case ApiException api -> api;
            case RequestRefused refused -> new ApiException(refused.status(),
                    refused.status() == 403 ? "permission_error" : "invalid_request_error",
                    refused.code(), refused.param(), refused.getMessage(), Map.of());
            case NoAvailableKeyException exhausted -> exhausted(exhausted, nowMillis);
            case UpstreamException upstream -> upstream(upstream);
            case IllegalArgumentException bad -> ApiException.badRequest("invalid_request", bad.getMessage());
            case HttpException http -> http(http);
            // The request's thread was interrupted (the server is stopping): nothing went wrong with the pool.
            case CancellationException cancelled -> new ApiException(503, "service_unavailable", "cancelled",
                    "The request was cancelled before the provider answered.");
            case UnknownModelException unknown -> ApiException.notFound("model_not_found", unknown.getMessage());
            default -> {
                LOG.error("Unexpected error while serving a request", error);
                yield new ApiException(500, "server_error", "internal_error",
                        "The gateway failed to serve this request; see its log.");
            }
        };
    }

    /** Helidon's own refusals (no route, a malformed request line): their status, our shape. */
    private static ApiException http(HttpException e) {
        int status = e.status().code();
        if (status == 404) {
            return ApiException.notFound("not_found", "Not found");
        }
        if (status >= 500) {
            LOG.error("The web server failed a request", e);
            return new ApiException(status, "server_error", "internal_error", "The gateway failed to serve this request.");
        }
        return new ApiException(status, "invalid_request_error", "invalid_request", e.getMessage());
    }

    private static ApiException exhausted(NoAvailableKeyException e, long nowMillis) {
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("X-Should-Retry", "false");
        Duration retryAfter = e.retryAfter(nowMillis);
        if (retryAfter != null) {
            headers.put("Retry-After", Long.toString(retryAfter.toSeconds()));
        }
        String provider = e.provider() == null ? "" : e.provider().id();
        if (!provider.isEmpty()) {
            headers.put("x-keypool-provider", provider);
        }
        return switch (e.reason()) {
            case NO_KEYS -> new ApiException(503, "service_unavailable", "no_keys_configured", e.getMessage(),
                    Map.of("X-Should-Retry", "false"));
            case REQUEST_TOO_LARGE -> new ApiException(400, "invalid_request_error", "request_exceeds_key_limits",
                    e.getMessage());
            case ALL_KEYS_FAILED -> allFailed(e, headers);
            default -> new ApiException(429, "rate_limit_exceeded", "keys_exhausted", e.getMessage(), headers);
        };
    }

    /**
     * Every key was tried and failed: the last failure's kind, as it was classified when it
     * happened, says what the caller hears ({@link FailureKind#gatewayStatus()}).
     */
    private static ApiException allFailed(NoAvailableKeyException e, Map<String, String> headers) {
        FailureKind kind = e.lastKind() == null ? FailureKind.SERVER_ERROR : e.lastKind();
        return failed(kind, 502, e.getMessage(), kind.gatewayStatus() == 429 ? headers : Map.of());
    }

    private static ApiException upstream(UpstreamException e) {
        int status = e.status();
        boolean clientError = e.kind().gatewayStatus() == 0 && status >= 400 && status < 500;
        return failed(clientError ? e.kind() : FailureKind.SERVER_ERROR, status, e.getMessage(), Map.of());
    }

    /** The answer the failure table gives for {@code kind}; {@code providerStatus} where it passes the provider's on. */
    private static ApiException failed(FailureKind kind, int providerStatus, String message, Map<String, String> headers) {
        int status = kind.gatewayStatus() == 0 ? providerStatus : kind.gatewayStatus();
        String type = switch (status) {
            case 429 -> "rate_limit_exceeded";
            case 503 -> "service_unavailable";
            case 502 -> "upstream_error";
            default -> "invalid_request_error";
        };
        return new ApiException(status, type, kind.gatewayCode(), message, headers);
    }
}
