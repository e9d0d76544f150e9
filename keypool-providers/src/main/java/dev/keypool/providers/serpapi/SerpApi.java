package dev.keypool.providers.serpapi;

import dev.keypool.config.Provider;
import dev.keypool.failure.FailureKind;
import dev.keypool.failure.UpstreamException;
import dev.keypool.providers.internal.Failures;
import dev.keypool.providers.internal.Json;
import dev.keypool.providers.internal.RawQuery;
import dev.keypool.providers.internal.ResponseHeaders;
import dev.keypool.providers.internal.UpstreamRequest;
import dev.keypool.providers.relay.AnswerSpec;
import dev.keypool.providers.relay.Call;
import dev.keypool.providers.relay.Inbound;
import dev.keypool.providers.relay.Operation;
import dev.keypool.providers.relay.ProviderApi;
import dev.keypool.providers.relay.RelayContext;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * SerpApi ({@code SERP_BASE_URL}, default {@code https://serpapi.com}) as its clients call it:
 * {@code GET /search} ({@code /search.json}, and {@code output=html} or {@code /search.html} answered
 * as SerpApi's HTML), {@code /searches/{id}.json|.html} (the Search Archive, on the key that ran the
 * search), and {@code /locations.json} (which needs no key, so none is spent). The caller's
 * {@code api_key} is replaced by the pooled key; the key travels in the query string, as SerpApi
 * requires, so no URL is ever put in a message. A search reserves and commits one "token" (SerpApi
 * counts searches); an archived search costs none.
 *
 * <p>Errors are {@code {"error": "…"}}: a 429 "run out of searches" exhausts the key's quota, any
 * other 429 (the hourly throughput limit) cools it; 401 and 403 mean an invalid key; 5xx (a failed
 * search, which SerpApi does not count) is a server error; other 4xx (a missing {@code q}) go back
 * to the caller in SerpApi's shape. A 200 is a search made, even when its body holds
 * {@code "error": "Google hasn't returned any results for this query."}: SerpApi counts it.
 */
public final class SerpApi implements ProviderApi {

    private static final Pattern ARCHIVE = Pattern.compile("/searches/([A-Za-z0-9]+)\\.(json|html)");
    private static final AnswerSpec SEARCH = new AnswerSpec(AnswerSpec.Framing.DOCUMENT, null,
            List.of(List.of("search_metadata", "id")), null, true);
    private static final AnswerSpec READ = new AnswerSpec(AnswerSpec.Framing.DOCUMENT, null, List.of(), null, true);

    private final String baseUrl;
    private final Clock clock;
    private final Operation search = new Endpoint("search", 1, true);
    private final Operation archive = new Endpoint("search_archive", 0, true);
    private final Operation locations = new Endpoint("locations", 0, false);

    public SerpApi(RelayContext context) {
        this.baseUrl = context.config().baseUrl(Provider.SERP);
        this.clock = context.clock();
    }

    @Override
    public Provider provider() {
        return Provider.SERP;
    }

    @Override
    public Operation operation(String method, String path) {
        if (!method.equals("GET")) {
            return null;
        }
        return switch (path) {
            case "/search", "/search.json", "/search.html" -> search;
            case "/locations.json" -> locations;
            default -> ARCHIVE.matcher(path).matches() ? archive : null;
        };
    }

    @Override
    public UpstreamException failure(int status, ResponseHeaders headers, String body, String secret) {
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

    private final class Endpoint implements Operation {

        private final String name;
        private final long tokens;
        private final boolean keyed;

        Endpoint(String name, long tokens, boolean keyed) {
            this.name = name;
            this.tokens = tokens;
            this.keyed = keyed;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public Call prepare(Inbound request) {
            Matcher archived = ARCHIVE.matcher(request.path());
            Set<String> references = archived.matches() ? Set.of(archived.group(1)) : Set.of();
            return new Call() {
                @Override
                public String model() {
                    return null;
                }

                @Override
                public long promptTokens() {
                    return tokens;
                }

                @Override
                public long outputTokens() {
                    return 0;
                }

                @Override
                public boolean needsKey() {
                    return keyed;
                }

                @Override
                public Set<String> references() {
                    return references;
                }

                @Override
                public UpstreamRequest upstream(String apiKey, String routedModel) {
                    String query = RawQuery.without(request.query(), "api_key");
                    if (apiKey != null) {
                        String key = "api_key=" + URLEncoder.encode(apiKey, StandardCharsets.UTF_8);
                        query = query == null ? key : query + "&" + key;
                    }
                    return UpstreamRequest.of("GET",
                            URI.create(baseUrl + request.path() + (query == null ? "" : "?" + query)), null)
                            .forwarding(request.headers());
                }

                @Override
                public AnswerSpec answer() {
                    return name.equals("search") ? SEARCH : READ;
                }
            };
        }
    }
}
