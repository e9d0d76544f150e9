package dev.keypool.providers.internal;

import dev.keypool.config.KeyMask;
import dev.keypool.failure.FailureKind;
import dev.keypool.failure.UpstreamException;
import java.net.URI;
import java.net.URLEncoder;
import io.helidon.http.HeaderValues;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.StringJoiner;

/**
 * SerpApi: {@code GET {SERP_BASE_URL}/search.json?…&api_key=KEY}. The key travels in the query
 * string, as SerpApi requires, so no URL is ever put in a message.
 *
 * <p>A 200 is a search made, even when its body holds {@code "error": "Google hasn't returned any
 * results for this query."}: SerpApi counts it. Errors are {@code {"error": "…"}}: a 429 "run out of
 * searches" exhausts the key's quota, any other 429 (the hourly throughput limit) cools it; 401 and
 * 403 mean an invalid key; 5xx (a failed search, which SerpApi does not count) is a server error;
 * other 4xx (a missing {@code q}) go back to the caller with SerpApi's message.
 */
public final class SerpApiClient {

    private final Upstream upstream;
    private final String baseUrl;
    private final Clock clock;

    public SerpApiClient(Upstream upstream, String baseUrl, Clock clock) {
        this.upstream = upstream;
        this.baseUrl = baseUrl;
        this.clock = clock;
    }

    /**
     * Runs one search with {@code apiKey}; any {@code api_key} among {@code params} is ignored.
     *
     * @return SerpApi's 200 answer, verbatim, with the key masked should it ever echo it
     * @throws UpstreamException when SerpApi refused or failed the search
     */
    public Upstream.Response search(String apiKey, Map<String, List<String>> params) {
        StringJoiner query = new StringJoiner("&");
        params.forEach((name, values) -> {
            if (!name.equals("api_key") && values != null) {
                for (String value : values) {
                    query.add(encode(name) + "=" + encode(value == null ? "" : value));
                }
            }
        });
        query.add("api_key=" + encode(apiKey));
        UpstreamRequest request = UpstreamRequest.get(URI.create(baseUrl + "/search.json?" + query))
                .header(HeaderValues.ACCEPT_JSON);
        Upstream.Response response = upstream.send(request, apiKey);
        if (response.status() != 200) {
            throw failure(response.status(), response.headers(), response.body(), apiKey, clock);
        }
        return new Upstream.Response(response.status(), response.headers(), KeyMask.scrub(response.body(), apiKey));
    }

    /** Classifies a SerpApi error answer. */
    static UpstreamException failure(int status, ResponseHeaders headers, String body, String secret, Clock clock) {
        String raw = Json.text(Json.parseOrMissing(body), "error");
        String message = Failures.message(raw != null ? raw
                : "HTTP " + status + " from SerpApi with a body that is not a SerpApi error", status, secret);
        Duration retryAfter = Failures.retryAfter(headers, clock);
        if (status == 429 && message.toLowerCase(Locale.ROOT).contains("run out of searches")) {
            return Failures.exception(FailureKind.QUOTA_EXHAUSTED, null, message, status);
        }
        FailureKind kind = Failures.byStatus(status);
        return Failures.exception(kind, kind == FailureKind.CLIENT_ERROR ? null : retryAfter, message, status);
    }

    private static String encode(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8);
    }
}
