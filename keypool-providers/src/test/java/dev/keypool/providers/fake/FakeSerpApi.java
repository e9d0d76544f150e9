package dev.keypool.providers.fake;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import dev.keypool.config.Provider;
import java.io.IOException;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * SerpApi as {@code serpapi.com} answers it, the key in the {@code api_key} query parameter:
 * {@code GET /search.json} and {@code /search} (the result JSON with {@code search_metadata}, a fresh
 * {@code id} for every search, and {@code search_parameters} echoing the query; with
 * {@code output=html} the raw page as {@code text/html}); the Search Archive API
 * {@code /searches/{id}.json}, {@code /searches/{id}.html} and {@code /searches/{id}?output=…}; the
 * Locations API {@code /locations.json} ({@code q}, {@code limit}, no key needed); the Account API
 * {@code /account.json}. Errors are SerpApi's {@code {"error": "…"}} with its statuses and sentences.
 *
 * <p>An archived search belongs to the key that ran it: for any other key the archive answers
 * {@code 404 {"error": "The requested resource doesn't exist."}}, the sentence SerpApi's status table
 * gives for 404 (its reference names no other for this case). The Account API is computed from the
 * fake's own log on its clock: {@code this_month_usage} counts the key's searches answered 200 this
 * UTC month, {@code this_hour_searches} those since the start of the current UTC hour,
 * {@code last_hour_searches} those of the hour before; the plan is the {@linkplain #setPlan one set}
 * for the key (default: the free plan, 250 searches a month, 50 an hour). Like SerpApi, it echoes the
 * {@code api_key} in full, so a gateway must answer with its own view, never pass it through. The fake
 * never serves a search from SerpApi's one-hour cache: every search counts. Reads of the archive, of
 * locations and of the account are answered by the fake itself, never by a script.
 */
public final class FakeSerpApi extends FakeUpstream {

    private static final String JSON = "application/json; charset=utf-8";
    private static final String HTML = "text/html; charset=utf-8";
    private static final Pattern ARCHIVE = Pattern.compile("^/searches/(?:[0-9a-f]{16}/)?([0-9a-f]{24})(\\.json|\\.html)?$");
    private static final String NOT_FOUND = "The requested resource doesn't exist.";

    /** An archived search: the JSON and the page the search answered with. */
    record Archived(String json, String html) {
    }

    /** An account's plan. */
    record Plan(String id, String name, double monthlyPrice, int searchesPerMonth, int ratePerHour) {
    }

    private static final Plan FREE = new Plan("free", "Free Plan", 0.0, 250, 50);

    private final Ledger<Archived> archive = new Ledger<>();
    private final Map<String, Plan> plans = new ConcurrentHashMap<>();

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

    /** The plan {@code /account.json} reports for {@code key}. */
    public void setPlan(String key, String planName, int searchesPerMonth, int ratePerHour) {
        plans.put(key, new Plan(planName.toLowerCase(Locale.ROOT).replace(" plan", "").replace(' ', '_'), planName,
                0.0, searchesPerMonth, ratePerHour));
    }

    /** The key that ran the archived search {@code id}, or {@code null}. */
    public String ownerOfSearch(String id) {
        return archive.owner(id);
    }

    @Override
    protected String keyOf(HttpExchange exchange, RecordedRequest request) {
        return request.queryParam("api_key");
    }

    @Override
    protected Reply check(RecordedRequest request) {
        String path = request.path();
        Matcher archived = ARCHIVE.matcher(path);
        boolean search = path.equals("/search.json") || path.equals("/search");
        if (!request.method().equals("GET") || !(search || archived.matches() || path.equals("/locations.json")
                || path.equals("/account.json"))) {
            return error(404, NOT_FOUND);
        }
        if (path.equals("/locations.json")) {
            return locations(request);
        }
        if (request.key() == null || request.key().isEmpty()) {
            return invalidKey();
        }
        if (archived.matches()) {
            return archived(request, archived.group(1), archived.group(2));
        }
        if (!search) {
            return account(request);
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

    @Override
    protected void forget() {
        archive.clear();
    }

    /** A Google result page for the query (its raw HTML with {@code output=html}), archived for the key. */
    public static Reply results() {
        return exchange -> {
            ObjectNode root = page(exchange, "Success");
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
            send(exchange, 200, root);
        };
    }

    /** 200 with an {@code error}: the search ran (and counts) but Google had nothing. */
    public static Reply noResults() {
        return exchange -> {
            ObjectNode root = page(exchange, "Success");
            root.putObject("search_information").put("organic_results_state", "Fully empty")
                    .put("query_displayed", query(exchange.request()));
            root.put("error", "Google hasn't returned any results for this query.");
            send(exchange, 200, root);
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
            ObjectNode root = page(exchange, "Error");
            root.put("error", "We couldn't get valid results for this search. Please try again later.");
            send(exchange, 503, root);
        };
    }

    /** Any SerpApi error answer. */
    public static Reply error(int status, String message) {
        return Reply.body(status, JSON, JsonText.pretty(JsonText.object().put("error", message), 2));
    }

    // ---- bodies -----------------------------------------------------------------------------------

    /** Sends the page (as HTML when asked) and archives both forms for the key. */
    private static void send(Exchange exchange, int status, ObjectNode root) throws IOException {
        RecordedRequest request = exchange.request();
        String json = JsonText.pretty(root, 2);
        String html = html(query(request));
        if (exchange.upstream() instanceof FakeSerpApi serp) {
            serp.archive.put(root.path("search_metadata").path("id").asText(), request.key(), new Archived(json, html));
        }
        if ("html".equals(request.queryParam("output"))) {
            Reply.body(status, HTML, html).send(exchange);
        } else {
            Reply.body(status, JSON, json).send(exchange);
        }
    }

    private static ObjectNode page(Exchange exchange, String status) {
        RecordedRequest request = exchange.request();
        Instant now = exchange.now();
        String id = String.format("%08x", now.getEpochSecond()) + Ids.hex(16);
        String hash = Ids.hex(16);
        String at = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'").withZone(ZoneOffset.UTC).format(now);
        ObjectNode root = JsonText.object();
        ObjectNode metadata = root.putObject("search_metadata");
        metadata.put("id", id);
        metadata.put("status", status);
        metadata.put("json_endpoint", "https://serpapi.com/searches/" + hash + "/" + id + ".json");
        metadata.put("created_at", at);
        metadata.put("processed_at", at);
        metadata.put("google_url", "https://www.google.com/search?q=" + query(request));
        metadata.put("raw_html_file", "https://serpapi.com/searches/" + hash + "/" + id + ".html");
        metadata.put("total_time_taken", 1.01);
        ObjectNode parameters = root.putObject("search_parameters");
        parameters.put("engine", "google");
        for (Map.Entry<String, List<String>> param : request.queryParams().entrySet()) {
            if (!param.getKey().equals("api_key") && !param.getKey().equals("engine")) {
                parameters.put(param.getKey(), param.getValue().get(0));
            }
        }
        parameters.put("google_domain", "google.com");
        parameters.put("device", "desktop");
        return root;
    }

    private static String html(String query) {
        return "<!doctype html><html itemscope=\"\" itemtype=\"http://schema.org/SearchResultsPage\" lang=\"en\">"
                + "<head><meta charset=\"UTF-8\"><title>" + query + " - Google Search</title></head><body>"
                + "<div id=\"search\"><div class=\"g\"><a href=\"https://www.deepseek.com/\"><h3>DeepSeek</h3></a>"
                + "<div class=\"VwiC3b\">DeepSeek-R1 is now live and open source, rivaling OpenAI's Model o1.</div>"
                + "</div></div></body></html>";
    }

    private Reply archived(RecordedRequest request, String id, String extension) {
        Archived search = archive.get(id, request.key());
        if (search == null) {
            return error(404, NOT_FOUND);
        }
        boolean html = ".html".equals(extension) || extension == null && "html".equals(request.queryParam("output"));
        return html ? Reply.body(200, HTML, search.html()) : Reply.body(200, JSON, search.json());
    }

    private Reply account(RecordedRequest request) {
        String key = request.key();
        Plan plan = plans.getOrDefault(key, FREE);
        ZonedDateTime now = clock().instant().atZone(ZoneOffset.UTC);
        Instant month = now.truncatedTo(ChronoUnit.DAYS).withDayOfMonth(1).toInstant();
        Instant hour = now.truncatedTo(ChronoUnit.HOURS).toInstant();
        Instant lastHour = hour.minus(1, ChronoUnit.HOURS);
        int thisMonth = 0;
        int thisHour = 0;
        int previousHour = 0;
        List<RecordedRequest> requests = requests();
        List<RecordedResponse> responses = responses();
        for (int i = 0; i < requests.size(); i++) {
            RecordedRequest search = requests.get(i);
            boolean counted = key.equals(search.key()) && responses.get(i).status() == 200
                    && (search.path().equals("/search") || search.path().equals("/search.json"));
            if (!counted) {
                continue;
            }
            Instant at = search.arrivedAt();
            thisMonth += at.isBefore(month) ? 0 : 1;
            thisHour += at.isBefore(hour) ? 0 : 1;
            previousHour += !at.isBefore(lastHour) && at.isBefore(hour) ? 1 : 0;
        }
        int left = Math.max(0, plan.searchesPerMonth() - thisMonth);
        ObjectNode root = JsonText.object();
        root.put("account_id", String.format("%024x", Math.abs((long) key.hashCode())));
        root.put("api_key", key);
        root.put("account_email", "keypool-" + Integer.toHexString(key.hashCode()) + "@example.com");
        root.put("account_status", "Active");
        root.put("plan_id", plan.id());
        root.put("plan_name", plan.name());
        root.put("plan_monthly_price", plan.monthlyPrice());
        LocalDate renewal = now.toLocalDate().plusMonths(1);
        root.put("plan_renewal_date", renewal.toString());
        root.put("searches_per_month", plan.searchesPerMonth());
        root.put("plan_searches_left", left);
        root.put("extra_credits", 0);
        root.put("total_searches_left", left);
        root.put("this_month_usage", thisMonth);
        root.put("this_hour_searches", thisHour);
        root.put("last_hour_searches", previousHour);
        root.put("account_rate_limit_per_hour", plan.ratePerHour());
        return Reply.body(200, JSON, JsonText.pretty(root, 2));
    }

    /** The Locations API: locations containing {@code q}, biggest reach first, at most {@code limit} (and 10). */
    private static Reply locations(RecordedRequest request) {
        String q = request.queryParam("q");
        int limit = 10;
        try {
            limit = Math.min(10, Math.max(1, Integer.parseInt(request.queryParam("limit"))));
        } catch (NumberFormatException e) {
            // No limit, or not a number: SerpApi's maximum.
        }
        ArrayNode list = JsonText.object().arrayNode();
        for (Object[] location : LOCATIONS) {
            String name = (String) location[3];
            String canonical = (String) location[4];
            if (q != null && !(name + " " + canonical).toLowerCase(Locale.ROOT).contains(q.toLowerCase(Locale.ROOT))) {
                continue;
            }
            if (list.size() == limit) {
                break;
            }
            ObjectNode entry = list.addObject();
            entry.put("id", (String) location[0]);
            entry.put("google_id", (Integer) location[1]);
            entry.put("google_parent_id", (Integer) location[2]);
            entry.put("name", name);
            entry.put("canonical_name", canonical);
            entry.put("country_code", (String) location[5]);
            entry.put("target_type", (String) location[6]);
            entry.put("reach", (Long) location[7]);
            entry.putArray("gps").add((Double) location[8]).add((Double) location[9]);
        }
        return Reply.body(200, JSON, JsonText.pretty(list, 2));
    }

    /** A few locations, biggest reach first (the Austin ones as SerpApi's reference shows them). */
    private static final List<Object[]> LOCATIONS = List.of(
            new Object[] {"585069e1ee19ad271e9c8d25", 1023191, 21167, "New York", "New York,New York,United States",
                "US", "City", 21900000L, -74.0059728, 40.7127753},
            new Object[] {"585069dcee19ad271e9c7d3a", 1006886, 20339, "London", "London,England,United Kingdom", "GB",
                "City", 12100000L, -0.1275862, 51.5072178},
            new Object[] {"585069bdee19ad271e9bc072", 200635, 21176, "Austin, TX", "Austin, TX,Texas,United States",
                "US", "DMA Region", 5560000L, -97.7430608, 30.267153},
            new Object[] {"585069b8ee19ad271e9ba949", 1026201, 21176, "Austin", "Austin,Texas,United States", "US",
                "City", 4870000L, -97.7430608, 30.267153},
            new Object[] {"585069d5ee19ad271e9c5f0b", 1003854, 20228, "Berlin", "Berlin,Berlin,Germany", "DE", "City",
                4230000L, 13.404954, 52.5200066},
            new Object[] {"585069bdee19ad271e9bc05e", 200611, 2840, "Rochester, MN-Mason City, IA-Austin, MN",
                "Rochester, MN-Mason City, IA-Austin, MN,United States", "US", "DMA Region", 495000L, -92.4801989,
                43.6666296});

    private static String query(RecordedRequest request) {
        String q = request.queryParam("q");
        return q == null ? "" : q;
    }
}
