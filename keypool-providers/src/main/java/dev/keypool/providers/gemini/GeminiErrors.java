package dev.keypool.providers.gemini;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.failure.FailureKind;
import dev.keypool.failure.UpstreamException;
import dev.keypool.providers.internal.Durations;
import dev.keypool.providers.internal.Failures;
import dev.keypool.providers.internal.Json;
import dev.keypool.providers.internal.ResponseHeaders;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Gemini's error answers ({@code google.rpc.Status} bodies), classified: a 429
 * {@code RESOURCE_EXHAUSTED} whose {@code QuotaFailure} names a per-day quota (or a 402) exhausts the
 * key's quota, any other 429 cools it for the {@code RetryInfo.retryDelay}; {@code API_KEY_INVALID}
 * (a 400), 401 and 403 mean an invalid key, but for a 403 about an object the request names (a cached
 * content or a file that is gone or another project's), which is the request's and goes back to the
 * caller; 5xx and 499 are server errors; other 4xx go back to the caller.
 */
final class GeminiErrors {

    private GeminiErrors() {
    }

    /** Classifies a Gemini error answer ({@code google.rpc.Status}). */
    static UpstreamException failure(int status, ResponseHeaders headers, String body, String secret, Clock clock) {
        JsonNode error = Json.parseOrMissing(body).path("error");
        String rpcStatus = Json.text(error, "status");
        String raw = Json.text(error, "message");
        String message = Failures.message(raw != null ? raw
                : "HTTP " + status + " from Gemini with a body that is not a Google error", status, secret);
        List<String> reasons = new ArrayList<>();
        List<String> quotaIds = new ArrayList<>();
        Duration retryDelay = null;
        for (JsonNode detail : error.path("details")) {
            String type = orEmpty(Json.text(detail, "@type"));
            if (type.endsWith("google.rpc.ErrorInfo")) {
                reasons.add(orEmpty(Json.text(detail, "reason")));
            } else if (type.endsWith("google.rpc.QuotaFailure")) {
                for (JsonNode violation : detail.path("violations")) {
                    quotaIds.add(orEmpty(Json.text(violation, "quotaId")));
                }
            } else if (type.endsWith("google.rpc.RetryInfo")) {
                retryDelay = Durations.parseProtobuf(Json.text(detail, "retryDelay"));
            }
        }
        Duration retryAfter = retryDelay != null ? retryDelay : Failures.retryAfter(headers, clock);

        if (status == 402) {
            return Failures.exception(FailureKind.QUOTA_EXHAUSTED, null, message, status);
        }
        if (status == 429 || "RESOURCE_EXHAUSTED".equals(rpcStatus)) {
            // Google sends a seconds-long retryDelay even when the day's quota is gone: trust the quota id.
            if (quotaIds.stream().anyMatch(id -> id.toLowerCase(Locale.ROOT).contains("perday"))) {
                return Failures.exception(FailureKind.QUOTA_EXHAUSTED, null, message, status);
            }
            if (retryAfter == null) {
                retryAfter = Durations.fromMessage(message);
            }
            return Failures.exception(FailureKind.RATE_LIMITED, retryAfter, message, status);
        }
        if (status == 403 && namesAMissingObject(raw)) {
            // An expired cache refused by every key must not deactivate them all: the key is fine.
            return Failures.exception(FailureKind.CLIENT_ERROR, null, message, status);
        }
        if (reasons.contains("API_KEY_INVALID") || reasons.contains("API_KEY_EXPIRED")
                || status == 401 || status == 403 || "PERMISSION_DENIED".equals(rpcStatus)
                || "UNAUTHENTICATED".equals(rpcStatus)) {
            return Failures.exception(FailureKind.INVALID_KEY, null, message, status);
        }
        FailureKind kind = Failures.byStatus(status);
        return Failures.exception(kind, kind == FailureKind.CLIENT_ERROR ? null : retryAfter, message, status);
    }

    /**
     * Whether Google's message refuses an object the request names, not the key: "CachedContent not
     * found (or permission denied)", "You do not have permission to access the File … or it may not exist".
     */
    private static boolean namesAMissingObject(String message) {
        String text = orEmpty(message).toLowerCase(Locale.ROOT);
        return text.contains("not found (or permission denied)")
                || text.contains("permission to access") && text.contains("may not exist");
    }

    private static String orEmpty(String value) {
        return value == null ? "" : value;
    }
}
