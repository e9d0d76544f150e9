package dev.keypool.server;

import dev.keypool.config.Provider;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

/**
 * Ollama's native API under {@code /api/…} (but keypool's own {@code /api/admin/…}), forwarded to
 * the configured Ollama as it came, answers and NDJSON streams as Ollama sent them, errors in
 * Ollama's {@code {"error": "…"}} shape.
 */
final class OllamaResource implements HttpService {

    private final Tokens tokens;
    private final Relaying relaying;

    OllamaResource(Relaying relaying, Tokens tokens) {
        this.tokens = tokens;
        this.relaying = relaying;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.any("/api/*", this::relay);
    }

    private void relay(ServerRequest request, ServerResponse response) {
        String path = request.path().rawPath();
        if (path.startsWith("/api/admin")) {
            throw ApiException.notFound("not_found", "No such endpoint: " + request.prologue().method().text()
                    + " " + path);
        }
        tokens.requireClient(request, ErrorShape.OLLAMA);
        relaying.relay(Provider.OLLAMA, request, response);
    }
}
