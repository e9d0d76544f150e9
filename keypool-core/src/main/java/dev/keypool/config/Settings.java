package dev.keypool.config;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The one set of parsers for {@code KEYPOOL_*} values, used by every module's own binding
 * ({@link EnvConfigLoader} for the pool, the providers', the Redis store's and the server's
 * settings), so that the same kind of value is read the same way everywhere. Each refusal is a
 * {@link ConfigException} naming the variable. The {@code (config, name, fallback)} forms read
 * {@link KeypoolConfig#setting(String)} and answer {@code fallback} when the variable is unset or
 * blank.
 */
public final class Settings {

    private Settings() {
    }

    /** The value trimmed, or {@code null} when unset or blank. */
    public static String text(KeypoolConfig config, String name) {
        String value = config.setting(name);
        return value == null || value.isBlank() ? null : value.trim();
    }

    public static String text(KeypoolConfig config, String name, String fallback) {
        String value = text(config, name);
        return value == null ? fallback : value;
    }

    /** {@code true}, {@code 1}, {@code yes}, {@code on} or their opposites, in any case. */
    public static boolean flag(KeypoolConfig config, String name, boolean fallback) {
        String value = text(config, name);
        if (value == null) {
            return fallback;
        }
        return switch (value.toLowerCase(Locale.ROOT)) {
            case "true", "1", "yes", "on" -> true;
            case "false", "0", "no", "off" -> false;
            default -> throw new ConfigException(name, "must be true or false, was '" + value + "'");
        };
    }

    public static long positiveLong(String name, String value) {
        String trimmed = value == null ? "" : value.trim();
        try {
            long parsed = Long.parseLong(trimmed);
            if (parsed > 0) {
                return parsed;
            }
        } catch (NumberFormatException e) {
            // refused below, with the variable's name
        }
        throw new ConfigException(name, "must be a positive integer, was '" + trimmed + "'");
    }

    public static long positiveLong(KeypoolConfig config, String name, long fallback) {
        String value = text(config, name);
        return value == null ? fallback : positiveLong(name, value);
    }

    public static int positiveInt(String name, String value) {
        long parsed = positiveLong(name, value);
        if (parsed > Integer.MAX_VALUE) {
            throw new ConfigException(name, "must be a positive integer up to " + Integer.MAX_VALUE + ", was '"
                    + value.trim() + "'");
        }
        return (int) parsed;
    }

    public static int positiveInt(KeypoolConfig config, String name, int fallback) {
        String value = text(config, name);
        return value == null ? fallback : positiveInt(name, value);
    }

    /** Whole seconds, more than zero. */
    public static Duration seconds(String name, String value) {
        return Duration.ofSeconds(positiveLong(name, value));
    }

    public static Duration seconds(KeypoolConfig config, String name, Duration fallback) {
        String value = text(config, name);
        return value == null ? fallback : seconds(name, value);
    }

    /** Whole seconds, zero allowed: for a setting whose zero means "never". */
    public static Duration zeroOrSeconds(String name, String value) {
        return value.trim().equals("0") ? Duration.ZERO : seconds(name, value);
    }

    /** Seconds with decimals allowed ({@code 0.5}), more than zero, to the millisecond (at least 1 ms). */
    public static Duration fractionalSeconds(KeypoolConfig config, String name, Duration fallback) {
        String value = text(config, name);
        if (value == null) {
            return fallback;
        }
        try {
            BigDecimal seconds = new BigDecimal(value);
            if (seconds.signum() > 0) {
                return Duration.ofMillis(Math.max(1, seconds.movePointRight(3).longValue()));
            }
        } catch (NumberFormatException e) {
            // refused below, with the variable's name
        }
        throw new ConfigException(name, "must be a positive number of seconds, was '" + value + "'");
    }

    /** A TCP port, 0 (any free port) to 65535. */
    public static int port(String name, String value) {
        String trimmed = value == null ? "" : value.trim();
        try {
            int port = Integer.parseInt(trimmed);
            if (port >= 0 && port <= 65535) {
                return port;
            }
        } catch (NumberFormatException e) {
            // refused below, with the variable's name
        }
        throw new ConfigException(name, "must be a port number between 0 and 65535, was '" + trimmed + "'");
    }

    /** Comma-separated items, trimmed; an empty item between commas is refused. */
    public static List<String> list(String name, String value) {
        List<String> items = new ArrayList<>();
        for (String part : value.split(",", -1)) {
            String item = part.trim();
            if (item.isEmpty()) {
                throw new ConfigException(name, "has an empty entry between commas");
            }
            items.add(item);
        }
        return items;
    }
}
