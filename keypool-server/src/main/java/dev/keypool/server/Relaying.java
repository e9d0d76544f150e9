package dev.keypool.server;

import dev.keypool.config.Provider;
import dev.keypool.providers.Relay;
import dev.keypool.providers.relay.Header;
import dev.keypool.providers.relay.Inbound;
import dev.keypool.providers.relay.Operation;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.util.ArrayList;
import java.util.List;

/**
 * What every protocol's resource does with a request: read it (no more than its bytes and
 * headers), hand it to the {@link Relay} in that protocol, and let the answer stream back through a
 * {@link ResponseSink}. Errors the relay throws before an answer began go to {@link ApiErrors}, in
 * the caller's protocol's shape; after it began, the answer simply ends where the provider's did.
 */
final class Relaying {

    private final Relay relay;
    private final long maxBodyBytes;

    Relaying(Relay relay, long maxBodyBytes) {
        this.relay = relay;
        this.maxBodyBytes = maxBodyBytes;
    }

    /** Relays the caller's request, as it came, in {@code protocol}. */
    void relay(Provider protocol, ServerRequest request, ServerResponse response) {
        String method = request.prologue().method().text();
        String path = request.path().rawPath();
        Operation operation = relay.operation(protocol, method, path);
        if (operation == null) {
            throw ApiException.notFound("not_found", "No such endpoint: " + method + " " + path);
        }
        relay(protocol, operation, request, response);
    }

    void relay(Provider protocol, Operation operation, ServerRequest request, ServerResponse response) {
        String query = request.query().rawValue();
        Inbound inbound = new Inbound(request.prologue().method().text(), request.path().rawPath(),
                query == null || query.isEmpty() ? null : query, headers(request),
                Http.body(request, maxBodyBytes));
        try {
            relay.relay(protocol, operation, inbound, new ResponseSink(response));
        } catch (Relay.StreamBroken | Relay.CallerGone ended) {
            // The answer had begun: it ends where the provider's (or the caller's connection) did.
        }
    }

    private static List<Header> headers(ServerRequest request) {
        List<Header> headers = new ArrayList<>(16);
        for (io.helidon.http.Header header : request.headers()) {
            for (String value : header.allValues()) {
                headers.add(new Header(header.name(), value));
            }
        }
        return headers;
    }
}
