package dev.keypool.providers.fake;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.providers.internal.Json;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A request a fake received.
 *
 * @param path    without the query
 * @param query   the raw query, or {@code null}
 * @param headers lower-cased names
 * @param key     the API key it carried where the provider expects it, or {@code null}
 * @param clientPort the caller's port: requests on one kept-alive connection share it
 * @param arrivedMillis when the request arrived, on the fake's clock ({@link FakeUpstream#useClock}):
 *                      what a provider counts its rate limits by
 */
public record RecordedRequest(String method, String path, String query, Map<String, List<String>> headers,
        String body, String key, int clientPort, long arrivedMillis) {

    /** The first value of a header, or {@code null}. */
    public String header(String name) {
        List<String> values = headers.get(name.toLowerCase(java.util.Locale.ROOT));
        return values == null || values.isEmpty() ? null : values.get(0);
    }

    /** The body parsed as JSON (a missing node when it is not JSON). */
    public JsonNode json() {
        return Json.parseOrMissing(body);
    }

    /** The decoded query parameters, in order. */
    public Map<String, List<String>> queryParams() {
        Map<String, List<String>> params = new LinkedHashMap<>();
        if (query == null || query.isEmpty()) {
            return params;
        }
        for (String pair : query.split("&")) {
            int equals = pair.indexOf('=');
            String name = URLDecoder.decode(equals < 0 ? pair : pair.substring(0, equals), StandardCharsets.UTF_8);
            String value = equals < 0 ? "" : URLDecoder.decode(pair.substring(equals + 1), StandardCharsets.UTF_8);
            params.computeIfAbsent(name, n -> new ArrayList<>()).add(value);
        }
        return params;
    }

    /** The first value of a query parameter, or {@code null}. */
    public String queryParam(String name) {
        List<String> values = queryParams().get(name);
        return values == null || values.isEmpty() ? null : values.get(0);
    }
}
