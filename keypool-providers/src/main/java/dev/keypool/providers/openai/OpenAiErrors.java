package dev.keypool.providers.openai;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.failure.FailureKind;
import dev.keypool.failure.UpstreamException;
import dev.keypool.providers.internal.Durations;
import dev.keypool.providers.internal.Failures;
import dev.keypool.providers.internal.Json;
import dev.keypool.providers.internal.ResponseHeaders;
import java.time.Clock;
import java.time.Duration;
import java.util.Locale;

/**
 * OpenAI's error answers, classified: {@code insufficient_quota} (any code, e.g.
 * {@code credit_balance_exhausted}) and the per-day limits (TPD, RPD) exhaust the key's quota; 401,
 * 403 and {@code invalid_api_key} mean an invalid key; a {@code rate_limit_exceeded} 429 cools it
 * for {@code retry-after-ms}, {@code Retry-After}, the message's "try again in", else the reset
 * header of the limit that was hit; "Request too large" is the request's fault, not the key's; 408
 * and 5xx (HTML from a proxy included) are server errors; any other 4xx goes back to the caller.
 */
final class OpenAiErrors {

    private OpenAiErrors() {
    }

    /**
     * Classifies an OpenAI error answer. {@code status} 0 is an error event inside a stream, which
     * has no status of its own; it is then read from the error's type.
     */
    public static UpstreamException failure(int status, ResponseHeaders headers, String body, String secret, Clock clock) {
        JsonNode error = Json.parseOrMissing(body).path("error");
        String type = orEmpty(Json.text(error, "type"));
        String code = orEmpty(Json.text(error, "code"));
        String raw = Json.text(error, "message");
        int effective = status != 0 ? status : streamStatus(type, code);
        String message = Failures.message(raw, effective, secret);
        String lower = message.toLowerCase(Locale.ROOT);
        Duration retryAfter = Failures.retryAfter(headers, clock);

        if (type.equals("insufficient_quota") || code.equals("insufficient_quota")
                || code.equals("credit_balance_exhausted") || code.equals("billing_hard_limit_reached")) {
            return Failures.exception(FailureKind.QUOTA_EXHAUSTED, retryAfter, message, effective);
        }
        if (effective == 401 || effective == 403 || code.equals("invalid_api_key")) {
            return Failures.exception(FailureKind.INVALID_KEY, null, message, effective);
        }
        if (effective == 429 || code.equals("rate_limit_exceeded")) {
            if (lower.startsWith("request too large")) {
                return Failures.exception(FailureKind.CLIENT_ERROR, null, message, effective);
            }
            if (lower.contains("per day") || lower.contains("(tpd)") || lower.contains("(rpd)")) {
                return Failures.exception(FailureKind.QUOTA_EXHAUSTED, retryAfter, message, effective);
            }
            if (retryAfter == null) {
                retryAfter = Durations.fromMessage(message);
            }
            if (retryAfter == null) {
                retryAfter = resetOf(headers, type);
            }
            return Failures.exception(FailureKind.RATE_LIMITED, retryAfter, message, effective);
        }
        if (raw == null && effective >= 500) {
            message = Failures.message("HTTP " + effective + " from OpenAI with a body that is not an OpenAI error",
                    effective, secret);
        }
        FailureKind kind = type.equals("server_error") ? FailureKind.SERVER_ERROR : Failures.byStatus(effective);
        return Failures.exception(kind, kind == FailureKind.CLIENT_ERROR ? null : retryAfter, message, effective);
    }

    private static Duration resetOf(ResponseHeaders headers, String type) {
        Duration tokens = Durations.parseGo(headers.firstValue("x-ratelimit-reset-tokens").orElse(null));
        Duration requests = Durations.parseGo(headers.firstValue("x-ratelimit-reset-requests").orElse(null));
        if (type.equals("tokens") && tokens != null) {
            return tokens;
        }
        if (type.equals("requests") && requests != null) {
            return requests;
        }
        if (tokens == null) {
            return requests;
        }
        return requests == null || tokens.compareTo(requests) >= 0 ? tokens : requests;
    }

    private static int streamStatus(String type, String code) {
        if (code.equals("rate_limit_exceeded") || type.equals("tokens") || type.equals("requests")) {
            return 429;
        }
        if (type.equals("invalid_request_error")) {
            return 400;
        }
        return 500;
    }

    private static String orEmpty(String value) {
        return value == null ? "" : value;
    }
}
