package dev.keypool.providers.internal;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.StringJoiner;

/** A raw query string changed only where keypool must: one parameter removed, the rest as written. */
public final class RawQuery {

    private RawQuery() {
    }

    /** {@code query} without every {@code name=…} pair; {@code null} when nothing is left. */
    public static String without(String query, String name) {
        if (query == null || query.isEmpty()) {
            return null;
        }
        StringJoiner kept = new StringJoiner("&");
        for (String pair : query.split("&", -1)) {
            int equals = pair.indexOf('=');
            String key = URLDecoder.decode(equals < 0 ? pair : pair.substring(0, equals), StandardCharsets.UTF_8);
            if (!key.equals(name) && !pair.isEmpty()) {
                kept.add(pair);
            }
        }
        return kept.length() == 0 ? null : kept.toString();
    }

    /** The first decoded value of {@code name}, or {@code null}. */
    public static String value(String query, String name) {
        if (query == null || query.isEmpty()) {
            return null;
        }
        for (String pair : query.split("&")) {
            int equals = pair.indexOf('=');
            String key = URLDecoder.decode(equals < 0 ? pair : pair.substring(0, equals), StandardCharsets.UTF_8);
            if (key.equals(name)) {
                return equals < 0 ? "" : URLDecoder.decode(pair.substring(equals + 1), StandardCharsets.UTF_8);
            }
        }
        return null;
    }
}
