package dev.keypool.providers.ollama;

import dev.keypool.failure.FailureKind;
import dev.keypool.failure.UpstreamException;
import dev.keypool.providers.internal.Failures;
import dev.keypool.providers.internal.Json;

/**
 * Ollama's error answers ({@code {"error": "…"}}): a 404 (model not pulled) or 400 goes back to the
 * caller, 5xx is a server error, a refused connection means Ollama is not running. A stream that
 * fails after it started carries one more line holding {@code error}, with status 200. Ollama is
 * keyless: a 401 or 403 (a cloud model without sign-in) is the caller's, not a key to retire.
 */
final class OllamaErrors {

    private OllamaErrors() {
    }

    static UpstreamException failure(int status, String body) {
        String raw = Json.text(Json.parseOrMissing(body), "error");
        String message = Failures.message(raw != null ? raw
                : "HTTP " + status + " from Ollama with a body that is not an Ollama error", status, null);
        FailureKind kind = switch (status) {
            case 401, 403 -> FailureKind.CLIENT_ERROR;
            default -> Failures.byStatus(status);
        };
        return Failures.exception(kind, null, message, status);
    }
}
