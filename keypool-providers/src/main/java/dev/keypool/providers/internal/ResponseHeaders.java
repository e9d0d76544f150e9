package dev.keypool.providers.internal;

import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Headers;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A response's headers as the classifiers read them: the first value of a name, in any case. Read
 * straight from the client's headers, so the few that are asked for are looked up rather than every
 * header of every answer copied into a map.
 */
@FunctionalInterface
public interface ResponseHeaders {

    /** No headers at all: an error reported inside a stream's event carries none of its own. */
    ResponseHeaders NONE = name -> Optional.empty();

    Optional<String> firstValue(String name);

    /** The client's headers; names are looked up case-insensitively, as Helidon keeps them. */
    static ResponseHeaders of(Headers headers) {
        return name -> headers.first(Names.of(name));
    }

    /** Headers from a map, names in any case (for tests and for answers built by hand). */
    static ResponseHeaders of(Map<String, List<String>> headers) {
        Map<String, List<String>> byName = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        byName.putAll(headers);
        return name -> {
            List<String> values = byName.get(name);
            return values == null || values.isEmpty() ? Optional.empty() : Optional.of(values.get(0));
        };
    }

    /** The header names asked for, made once each: creating one lower-cases and hashes it. */
    final class Names {
        private static final Map<String, HeaderName> NAMES = new ConcurrentHashMap<>();

        private Names() {
        }

        static HeaderName of(String name) {
            HeaderName known = NAMES.get(name);
            return known != null ? known : NAMES.computeIfAbsent(name, HeaderNames::create);
        }
    }
}
