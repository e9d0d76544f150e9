package dev.keypool.failure;

import java.net.ConnectException;
import java.net.http.HttpTimeoutException;
import java.nio.channels.UnresolvedAddressException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns what a user's own operation threw into a {@link Failure}, the way the seed describes:
 * "429", "503", "rate limit", "quota exceeded" and the like in the message. An
 * {@link UpstreamException} is taken at its word. The order of the checks matters: a quota message
 * often also says 429, and a quota is not a rate limit (waiting a minute does not bring it back).
 */
public final class FailureClassifier {

    private static final Pattern RETRY_AFTER = Pattern.compile(
            "(?:retry|try again)[^0-9]{0,20}(\\d+(?:\\.\\d+)?)\\s*(ms|milliseconds?|s|sec|seconds?)\\b",
            Pattern.CASE_INSENSITIVE);

    /** How many links of a cause chain are read. */
    private static final int MAX_CAUSES = 16;

    private FailureClassifier() {
    }

    public static Failure classify(Throwable error) {
        List<Throwable> causes = causes(error);
        for (Throwable cause : causes) {
            if (cause instanceof UpstreamException upstream) {
                return upstream.failure();
            }
        }
        String text = describe(causes).toLowerCase(Locale.ROOT);
        String summary = summary(error);
        Duration retryAfter = retryAfter(text);

        if (containsAny(text, "insufficient_quota", "quota exceeded", "exceeded your current quota",
                "run out of searches", "quota_exceeded", "billing", "per day", "perday", "daily limit")) {
            return new Failure(FailureKind.QUOTA_EXHAUSTED, retryAfter, summary);
        }
        if (containsAny(text, "invalid_api_key", "api_key_invalid", "invalid api key", "incorrect api key",
                "api key not valid", "unauthorized", "permission denied", "permission_denied")
                || hasStatus(text, "401") || hasStatus(text, "403")) {
            return new Failure(FailureKind.INVALID_KEY, null, summary);
        }
        if (containsAny(text, "rate limit", "rate_limit", "ratelimit", "too many requests", "resource_exhausted",
                "resource exhausted", "quota") || hasStatus(text, "429")) {
            return new Failure(FailureKind.RATE_LIMITED, retryAfter, summary);
        }
        if (isUnreachable(causes)) {
            return new Failure(FailureKind.UNREACHABLE, null, summary);
        }
        if (containsAny(text, "overloaded", "unavailable", "internal server error", "bad gateway",
                "gateway timeout", "timed out", "timeout")
                || hasStatus(text, "500") || hasStatus(text, "502") || hasStatus(text, "503") || hasStatus(text, "504")) {
            return new Failure(FailureKind.SERVER_ERROR, retryAfter, summary);
        }
        return new Failure(FailureKind.CLIENT_ERROR, null, summary);
    }

    /**
     * The error and its causes, each once: a chain may loop (A caused by B caused by A), and one
     * with a thousand links says nothing the first {@link #MAX_CAUSES} do not.
     */
    private static List<Throwable> causes(Throwable error) {
        List<Throwable> chain = new ArrayList<>();
        Set<Throwable> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Throwable cause = error; cause != null && chain.size() < MAX_CAUSES && seen.add(cause);
                cause = cause.getCause()) {
            chain.add(cause);
        }
        return chain;
    }

    private static boolean isUnreachable(List<Throwable> causes) {
        for (Throwable cause : causes) {
            if (cause instanceof ConnectException || cause instanceof UnresolvedAddressException
                    || cause instanceof java.net.UnknownHostException
                    || cause instanceof java.net.NoRouteToHostException) {
                return true;
            }
            if (cause instanceof HttpTimeoutException || cause instanceof TimeoutException
                    || cause instanceof java.net.SocketTimeoutException) {
                return false;
            }
            // A user's own operation may say it only in words, in any exception type.
            if (cause.getMessage() != null
                    && cause.getMessage().toLowerCase(Locale.ROOT).contains("connection refused")) {
                return true;
            }
        }
        return false;
    }

    private static String describe(List<Throwable> causes) {
        StringBuilder text = new StringBuilder();
        for (Throwable cause : causes) {
            text.append(cause.getClass().getSimpleName()).append(": ").append(cause.getMessage()).append(' ');
        }
        return text.toString();
    }

    private static String summary(Throwable error) {
        String message = error.getMessage();
        String text = error.getClass().getSimpleName() + (message == null ? "" : ": " + message);
        return text.length() > 300 ? text.substring(0, 300) + "…" : text;
    }

    private static Duration retryAfter(String text) {
        Matcher matcher = RETRY_AFTER.matcher(text);
        if (!matcher.find()) {
            return null;
        }
        double amount = Double.parseDouble(matcher.group(1));
        boolean millis = matcher.group(2).startsWith("m");
        return Duration.ofMillis((long) Math.ceil(millis ? amount : amount * 1000));
    }

    private static boolean hasStatus(String text, String status) {
        return Pattern.compile("(?<![0-9])" + status + "(?![0-9])").matcher(text).find();
    }

    private static boolean containsAny(String text, String... needles) {
        for (String needle : needles) {
            if (text.contains(needle)) {
                return true;
            }
        }
        return false;
    }
}
