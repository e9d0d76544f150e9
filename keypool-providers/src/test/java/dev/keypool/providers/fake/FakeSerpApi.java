package dev.keypool.providers.fake;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import dev.keypool.config.Provider;
import java.util.Map;

/**
 * SerpApi as {@code serpapi.com} answers it: {@code GET /search.json} (or {@code /search}) with the
 * key in the {@code api_key} query parameter; the result JSON with {@code search_metadata} and
 * {@code search_parameters} echoing the query; errors as {@code {"error": "…"}} with SerpApi's own
 * sentences.
 */
public final class FakeSerpApi extends FakeUpstream {

    private static final String JSON = "application/json; charset=utf-8";

    private FakeSerpApi() {
    }

    public static FakeSerpApi start() {
        FakeSerpApi fake = new FakeSerpApi();
        fake.listen();
        return fake;
    }

    @Override
    public Provider provider() {
        return Provider.SERP;
    }

    @Override
    protected String keyOf(HttpExchange exchange, RecordedRequest request) {
        return request.queryParam("api_key");
    }

    @Override
    protected Reply check(RecordedRequest request) {
        if (!request.method().equals("GET")
                || !(request.path().equals("/search.json") || request.path().equals("/search"))) {
            return error(404, "The requested resource doesn't exist.");
        }
        if (request.key() == null || request.key().isEmpty()) {
            return invalidKey();
        }
        String engine = request.queryParam("engine");
        if ((engine == null || engine.equals("google")) && request.queryParam("q") == null) {
            return error(400, "Missing query `q` parameter.");
        }
        return null;
    }

    @Override
    protected Reply success() {
        return results();
    }

    /** A Google result page for the query. */
    public static Reply results() {
        return exchange -> {
            ObjectNode root = page(exchange.request(), "Success");
            root.putObject("search_information").put("query_displayed", query(exchange.request()))
                    .put("total_results", 384000000L).put("time_taken_displayed", 0.28)
                    .put("organic_results_state", "Results for exact spelling");
            ObjectNode result = root.putArray("organic_results").addObject();
            result.put("position", 1);
            result.put("title", "DeepSeek");
            result.put("link", "https://www.deepseek.com/");
            result.put("displayed_link", "https://www.deepseek.com");
            result.put("snippet", "DeepSeek-R1 is now live and open source, rivaling OpenAI's Model o1.");
            result.put("source", "DeepSeek");
            Reply.body(200, JSON, JsonText.pretty(root, 2)).send(exchange);
        };
    }

    /** 200 with an {@code error}: the search ran (and counts) but Google had nothing. */
    public static Reply noResults() {
        return exchange -> {
            ObjectNode root = page(exchange.request(), "Success");
            root.putObject("search_information").put("organic_results_state", "Fully empty")
                    .put("query_displayed", query(exchange.request()));
            root.put("error", "Google hasn't returned any results for this query.");
            Reply.body(200, JSON, JsonText.pretty(root, 2)).send(exchange);
        };
    }

    /** 429: the account's searches for the month are spent. */
    public static Reply outOfSearches() {
        return error(429, "Your account has run out of searches.");
    }

    /** 429: the hourly throughput limit (SerpApi's wording here is not documented). */
    public static Reply throughputLimited() {
        return error(429, "You have exceeded the hourly throughput limit.");
    }

    /** 401: an invalid key. */
    public static Reply invalidKey() {
        return error(401, "Invalid API key. Your API key should be here: https://serpapi.com/manage-api-key");
    }

    /** 503: the search failed (SerpApi does not count it). */
    public static Reply searchFailed() {
        return exchange -> {
            ObjectNode root = page(exchange.request(), "Error");
            root.put("error", "We couldn't get valid results for this search. Please try again later.");
            Reply.body(503, JSON, JsonText.pretty(root, 2)).send(exchange);
        };
    }

    /** Any SerpApi error answer. */
    public static Reply error(int status, String message) {
        return Reply.body(status, JSON, JsonText.pretty(JsonText.object().put("error", message), 2));
    }

    private static ObjectNode page(RecordedRequest request, String status) {
        ObjectNode root = JsonText.object();
        ObjectNode metadata = root.putObject("search_metadata");
        metadata.put("id", "679fbeb4931dfa210a6dcaff");
        metadata.put("status", status);
        metadata.put("json_endpoint", "https://serpapi.com/searches/3a2af076dc153d9a/679fbeb4931dfa210a6dcaff.json");
        metadata.put("created_at", "2025-02-02 18:51:32 UTC");
        metadata.put("processed_at", "2025-02-02 18:51:32 UTC");
        metadata.put("google_url", "https://www.google.com/search?q=" + query(request));
        metadata.put("raw_html_file", "https://serpapi.com/searches/3a2af076dc153d9a/679fbeb4931dfa210a6dcaff.html");
        metadata.put("total_time_taken", 1.01);
        ObjectNode parameters = root.putObject("search_parameters");
        parameters.put("engine", "google");
        for (Map.Entry<String, java.util.List<String>> param : request.queryParams().entrySet()) {
            if (!param.getKey().equals("api_key") && !param.getKey().equals("engine")) {
                parameters.put(param.getKey(), param.getValue().get(0));
            }
        }
        parameters.put("google_domain", "google.com");
        parameters.put("device", "desktop");
        return root;
    }

    private static String query(RecordedRequest request) {
        String q = request.queryParam("q");
        return q == null ? "" : q;
    }
}
