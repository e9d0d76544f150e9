package dev.keypool.server;

import io.helidon.webserver.http.Filter;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;
import java.time.Duration;

/**
 * Around every request: refuses new work while the gateway drains, counts requests in flight (so
 * shutdown can wait for them), and records each request's endpoint, status and duration.
 */
final class RequestFilter implements Filter {

    private final Gateway gateway;

    RequestFilter(Gateway gateway) {
        this.gateway = gateway;
    }

    @Override
    public void filter(FilterChain chain, RoutingRequest request, RoutingResponse response) {
        String endpoint = endpoint(request.path().path());
        long start = System.nanoTime();
        boolean counted = !endpoint.equals("events") && !endpoint.equals("health") && !endpoint.equals("metrics");
        if (counted && !gateway.enter()) {
            response.header("Connection", "close");
            ApiErrors.write(request, response, new ApiException(503, "service_unavailable", "shutting_down",
                    "The gateway is shutting down; retry against another instance."));
            return;
        }
        try {
            chain.proceed();
        } finally {
            if (counted) {
                gateway.exit();
            }
            gateway.metrics().recordRequest(endpoint, response.status().code(), Duration.ofNanos(System.nanoTime() - start));
        }
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
