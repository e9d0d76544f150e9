package dev.keypool.server;

import dev.keypool.server.metrics.KeypoolMetrics;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.Filter;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;
import java.time.Duration;

/**
 * Around every request: refuses new work while the gateway drains, and requests that may call
 * upstream beyond {@code KEYPOOL_MAX_IN_FLIGHT} or {@code KEYPOOL_MAX_BODY_BYTES_IN_FLIGHT} (503 with
 * {@code Retry-After}, at once, before the body is read); counts requests in flight (so shutdown can wait for them), and records each
 * request's endpoint, status and duration.
 */
final class RequestFilter implements Filter {

    private final Door door;
    private final KeypoolMetrics metrics;
    private final long maxBodyBytes;

    RequestFilter(Door door, KeypoolMetrics metrics, long maxBodyBytes) {
        this.door = door;
        this.metrics = metrics;
        this.maxBodyBytes = maxBodyBytes;
    }

    @Override
    public void filter(FilterChain chain, RoutingRequest request, RoutingResponse response) {
        String endpoint = endpoint(request.path().path());
        long start = System.nanoTime();
        boolean counted = !endpoint.equals("events") && !endpoint.equals("health") && !endpoint.equals("metrics");
        // The admin API and the dashboard's files answer from memory: only the connection cap bounds
        // them. Everything else may call upstream, the endpoints this filter has no name for included.
        boolean capped = counted && !endpoint.equals("admin") && !DashboardResource.isFile(request);
        long bodyBytes = capped ? bodyBytes(request) : 0;
        if (counted) {
            LoadShedding.Admission admission = door.enter(capped, bodyBytes);
            if (admission != LoadShedding.Admission.ADMITTED) {
                if (admission == LoadShedding.Admission.DRAINING) {
                    response.header("Connection", "close");
                }
                ApiException refusal = door.refusal(admission);
                ApiErrors.write(request, response, refusal);
                metrics.recordRequest(endpoint, refusal.status(), Duration.ofNanos(System.nanoTime() - start));
                return;
            }
        }
        try {
            chain.proceed();
        } finally {
            if (counted) {
                door.exit(capped, bodyBytes);
            }
            metrics.recordRequest(endpoint, response.status().code(), Duration.ofNanos(System.nanoTime() - start));
        }
    }

    /**
     * What the request's body is counted as: its declared length, at most the largest body read
     * (a larger one is refused with 413); a body of unknown length as the largest.
     */
    private long bodyBytes(RoutingRequest request) {
        long max = maxBodyBytes;
        if (request.headers().contains(HeaderNames.TRANSFER_ENCODING)) {
            return max;
        }
        return Math.min(max, Math.max(0, request.headers().contentLength().orElse(0)));
    }

    static String endpoint(String path) {
        if (path.startsWith("/v1/chat/completions")) {
            return "chat_completions";
        }
        if (path.startsWith("/v1/responses")) {
            return "responses";
        }
        if (path.startsWith("/v1/embeddings")) {
            return "embeddings";
        }
        if (path.startsWith("/v1/completions")) {
            return "completions";
        }
        if (path.startsWith("/v1beta/") || (path.startsWith("/v1/") && path.indexOf(':') > 0)) {
            return "gemini";
        }
        if (path.startsWith("/v1/models")) {
            return "models";
        }
        if (path.startsWith("/v1/")) {
            return "v1_other";
        }
        if (path.equals("/search") || path.startsWith("/search.") || path.startsWith("/search/")
                || path.startsWith("/searches/") || path.equals("/locations.json") || path.startsWith("/account")) {
            return "search";
        }
        if (path.startsWith("/api/admin/events")) {
            return "events";
        }
        if (path.startsWith("/api/admin/")) {
            return "admin";
        }
        if (path.startsWith("/api/")) {
            return "ollama";
        }
        if (path.startsWith("/health")) {
            return "health";
        }
        if (path.startsWith("/metrics")) {
            return "metrics";
        }
        return "dashboard";
    }
}
