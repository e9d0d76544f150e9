package dev.keypool.server;

import dev.keypool.config.Provider;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

/**
 * Gemini's native API under {@code /v1beta/…}, as Google's SDKs call it with their base URL on the
 * gateway: passed through to pooled Gemini keys, the caller's key replaced ({@code /v1/…} calls of
 * Gemini's stable API arrive through {@link OpenAiResource}).
 */
final class GeminiResource implements HttpService {

    private static final io.helidon.http.HeaderName GOOGLE_KEY = HeaderNames.create("x-goog-api-key");

    private final Tokens tokens;
    private final Relaying relaying;

    GeminiResource(Relaying relaying, Tokens tokens) {
        this.tokens = tokens;
        this.relaying = relaying;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.any("/v1beta/*", this::relay);
    }

    private void relay(ServerRequest request, ServerResponse response) {
        tokens.requireClient(request, ErrorShape.GOOGLE);
        relaying.relay(Provider.GEMINI, request, response);
    }

    /** Whether the caller presents a Google credential (so a {@code /v1/models} listing is Gemini's). */
    static boolean speaksGoogle(ServerRequest request) {
        return request.headers().contains(GOOGLE_KEY) || request.query().contains("key");
    }
}
