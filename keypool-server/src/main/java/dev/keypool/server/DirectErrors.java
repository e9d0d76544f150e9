package dev.keypool.server;

import dev.keypool.providers.internal.Json;
import io.helidon.http.DirectHandler;
import io.helidon.http.HeaderNames;
import io.helidon.http.ServerResponseHeaders;
import io.helidon.http.Status;
import io.helidon.webserver.http.DirectHandlers;

/**
 * The answers Helidon writes itself, before any route sees the request (a request line too long
 * for it, headers too large, a malformed request, an unsupported HTTP version), in the gateway's
 * error shape instead of an empty or plain-text body.
 */
final class DirectErrors implements DirectHandler {

    private static final String GENERIC = "Bad request, see server log for more information";

    private DirectErrors() {
    }

    /** The handlers for every kind of event. */
    static DirectHandlers all() {
        DirectHandlers.Builder handlers = DirectHandlers.builder();
        DirectErrors errors = new DirectErrors();
        for (EventType type : EventType.values()) {
            handlers.addHandler(type, errors);
        }
        return handlers.build();
    }

    @Override
    public TransportResponse handle(TransportRequest request, EventType eventType, Status status,
            ServerResponseHeaders headers, String message) {
        ApiException error = error(status, message);
        headers.set(HeaderNames.CONTENT_TYPE, Http.JSON);
        error.headers().forEach((name, value) -> headers.set(HeaderNames.create(name), value));
        return TransportResponse.builder()
                .status(status)
                .headers(headers)
                .entity(Json.writeBytes(error.body()))
                .build();
    }

    private static ApiException error(Status status, String message) {
        int code = status.code();
        return switch (code) {
            case 414 -> new ApiException(code, "invalid_request_error", "request_line_too_long",
                    "The request line (method, path and query) is longer than the " + Gateway.MAX_REQUEST_LINE
                            + " bytes this gateway reads.");
            case 505 -> new ApiException(code, "invalid_request_error", "http_version_not_supported",
                    "This gateway speaks HTTP/1.1 (and HTTP/1.0 as the first request of a connection).");
            default -> code >= 500
                    ? new ApiException(code, "server_error", "internal_error", "The gateway failed to read this request.")
                    : new ApiException(code, "invalid_request_error", "invalid_request",
                            message == null || message.isBlank() || message.equals(GENERIC)
                                    ? "The request could not be read as HTTP/1.1: a malformed request line or header,"
                                            + " or headers over " + Gateway.MAX_HEADERS + " bytes." : message);
        };
    }
}
