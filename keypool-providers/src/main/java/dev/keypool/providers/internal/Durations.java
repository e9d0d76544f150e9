package dev.keypool.providers.internal;

import java.math.BigDecimal;
import java.time.Clock;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The duration formats providers write: Go's {@code time.Duration} ({@code 6m0s}, {@code 20ms},
 * {@code 1m30.5s}) in OpenAI's reset headers and messages, {@code Retry-After} (decimal seconds or an
 * HTTP date), {@code retry-after-ms}, and protobuf's {@code "20.70617005s"} in Gemini's
 * {@code RetryInfo}. Every parser answers {@code null} for text it cannot read: a header we cannot
 * parse is a header we ignore, never a failed request.
 */
public final class Durations {

    private static final Pattern GO_PART = Pattern.compile("(\\d+(?:\\.\\d+)?)(ns|us|µs|μs|ms|h|m|s)");
    private static final Pattern TRY_AGAIN = Pattern.compile(
            "(?:try again|retry) in ((?:\\d+(?:\\.\\d+)?(?:ns|us|µs|μs|ms|h|m|s))+)", Pattern.CASE_INSENSITIVE);

    private Durations() {
    }

    /** Parses a Go duration ({@code 11m32.334s}, {@code 180ms}, {@code 1h2m}); {@code null} if it is not one. */
    public static Duration parseGo(String text) {
        if (text == null) {
            return null;
        }
        String value = text.trim();
        if (value.isEmpty()) {
            return null;
        }
        if (value.equals("0")) {
            return Duration.ZERO;
        }
        Matcher part = GO_PART.matcher(value);
        BigDecimal nanos = BigDecimal.ZERO;
        int position = 0;
        while (position < value.length()) {
            if (!part.find(position) || part.start() != position) {
                return null;
            }
            BigDecimal amount = new BigDecimal(part.group(1));
            long unit = switch (part.group(2)) {
                case "ns" -> 1L;
                case "us", "µs", "μs" -> 1_000L;
                case "ms" -> 1_000_000L;
                case "s" -> 1_000_000_000L;
                case "m" -> 60_000_000_000L;
                default -> 3_600_000_000_000L;
            };
            nanos = nanos.add(amount.multiply(BigDecimal.valueOf(unit)));
            position = part.end();
        }
        return Duration.ofNanos(nanos.longValue());
    }

    /**
     * Parses {@code Retry-After}: delta seconds (OpenAI sends decimals too) or an HTTP date, which is
     * measured from {@code clock}.
     */
    public static Duration parseRetryAfter(String text, Clock clock) {
        if (text == null || text.isBlank()) {
            return null;
        }
        String value = text.trim();
        try {
            BigDecimal seconds = new BigDecimal(value);
            return seconds.signum() < 0 ? null : Duration.ofMillis(seconds.movePointRight(3).longValue());
        } catch (NumberFormatException notSeconds) {
            try {
                ZonedDateTime at = ZonedDateTime.parse(value, DateTimeFormatter.RFC_1123_DATE_TIME);
                Duration until = Duration.between(clock.instant(), at.toInstant());
                return until.isNegative() ? Duration.ZERO : until;
            } catch (DateTimeParseException notADate) {
                return null;
            }
        }
    }

    /** Parses {@code retry-after-ms}. */
    public static Duration parseMillis(String text) {
        if (text == null || text.isBlank()) {
            return null;
        }
        try {
            BigDecimal millis = new BigDecimal(text.trim());
            return millis.signum() < 0 ? null : Duration.ofNanos(millis.movePointRight(6).longValue());
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** Parses a protobuf duration as JSON writes it: {@code "20s"}, {@code "0.2s"}. */
    public static Duration parseProtobuf(String text) {
        if (text == null || !text.trim().endsWith("s")) {
            return null;
        }
        String seconds = text.trim();
        try {
            BigDecimal value = new BigDecimal(seconds.substring(0, seconds.length() - 1));
            return value.signum() < 0 ? null : Duration.ofNanos(value.movePointRight(9).longValue());
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /**
     * The wait a provider wrote into its message: OpenAI's "Please try again in 644ms.", Gemini's
     * "Please retry in 20.70617005s.".
     */
    public static Duration fromMessage(String message) {
        if (message == null) {
            return null;
        }
        Matcher matcher = TRY_AGAIN.matcher(message);
        return matcher.find() ? parseGo(matcher.group(1)) : null;
    }
}
