package dev.keypool.providers.fake;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.testing.ManualClock;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** FakeSerpApi answers SerpApi's search, archive, locations and account APIs as serpapi.com does. */
class FakeSerpApiTest {

    private static final String KEY = "serp-key-a-0000";
    private static final String OTHER = "serp-key-b-0000";

    private final ManualClock clock = ManualClock.atNoonish();
    private final FakeSerpApi fake = FakeSerpApi.start();

    FakeSerpApiTest() {
        fake.setClock(clock);
    }

    @AfterEach
    void close() {
        fake.close();
    }

    private HttpResponse<String> get(String pathAndQuery) {
        return Http.get(fake.baseUrl() + pathAndQuery);
    }

    @Test
    void search_givesEverySearchItsOwnId_andOutputHtmlIsTextHtml() {
        JsonNode first = Http.json(get("/search.json?engine=google&q=coffee&api_key=" + KEY));
        JsonNode second = Http.json(get("/search?engine=google&q=coffee&api_key=" + KEY));
        HttpResponse<String> html = get("/search?engine=google&q=coffee&output=html&api_key=" + KEY);

        String id = first.path("search_metadata").path("id").asText();
        assertThat(id).matches("[0-9a-f]{24}");
        assertThat(second.path("search_metadata").path("id").asText()).matches("[0-9a-f]{24}").isNotEqualTo(id);
        assertThat(first.path("search_metadata").path("json_endpoint").asText()).endsWith("/" + id + ".json");
        assertThat(first.path("search_metadata").path("created_at").asText()).isEqualTo("2026-01-15 10:00:00 UTC");
        assertThat(first.path("search_parameters").path("q").asText()).isEqualTo("coffee");
        assertThat(html.headers().firstValue("content-type")).hasValue("text/html; charset=utf-8");
        assertThat(html.body()).startsWith("<!doctype html>").contains("<title>coffee - Google Search</title>");
    }

    @Test
    void archive_answersOnlyTheKeyThatRanTheSearch() {
        HttpResponse<String> search = get("/search.json?engine=google&q=coffee&api_key=" + KEY);
        String id = Http.json(search).path("search_metadata").path("id").asText();

        HttpResponse<String> json = get("/searches/" + id + ".json?api_key=" + KEY);
        HttpResponse<String> html = get("/searches/" + id + ".html?api_key=" + KEY);
        HttpResponse<String> other = get("/searches/" + id + ".json?api_key=" + OTHER);
        HttpResponse<String> keyless = get("/searches/" + id + ".json");

        assertThat(json.body()).isEqualTo(search.body());
        assertThat(html.headers().firstValue("content-type")).hasValue("text/html; charset=utf-8");
        assertThat(html.body()).contains("coffee - Google Search");
        assertThat(other.statusCode()).isEqualTo(404);
        assertThat(other.body()).isEqualTo("{\n  \"error\": \"The requested resource doesn't exist.\"\n}\n");
        assertThat(keyless.statusCode()).isEqualTo(401);
        assertThat(fake.ownerOfSearch(id)).isEqualTo(KEY);
    }

    @Test
    void locations_needNoKey_filterByQ_andHonourLimit() {
        JsonNode austin = Http.json(get("/locations.json?q=Austin&limit=2"));
        JsonNode all = Http.json(get("/locations.json"));

        assertThat(austin).hasSize(2);
        assertThat(austin.get(0).path("canonical_name").asText()).isEqualTo("Austin, TX,Texas,United States");
        assertThat(austin.get(0).fieldNames()).toIterable().containsExactly("id", "google_id", "google_parent_id", "name",
                "canonical_name", "country_code", "target_type", "reach", "gps");
        assertThat(austin.get(1).path("gps")).hasSize(2);
        assertThat(all.size()).isBetween(3, 10);
        assertThat(fake.keys()).containsOnlyNulls();
    }

    @Test
    void account_reportsThePlan_andTheSearchesFromTheFakesOwnLog() {
        fake.setPlan(KEY, "Big Data Plan", 30000, 6000);
        get("/search.json?engine=google&q=a&api_key=" + KEY);
        clock.advance(Duration.ofHours(1));
        get("/search.json?engine=google&q=b&api_key=" + KEY);
        get("/search.json?engine=google&q=c&api_key=" + KEY);
        get("/search.json?engine=google&api_key=" + KEY);
        get("/search.json?engine=google&q=d&api_key=" + OTHER);

        JsonNode account = Http.json(get("/account.json?api_key=" + KEY));

        assertThat(account.fieldNames()).toIterable().containsExactly("account_id", "api_key", "account_email",
                "account_status", "plan_id", "plan_name", "plan_monthly_price", "plan_renewal_date", "searches_per_month",
                "plan_searches_left", "extra_credits", "total_searches_left", "this_month_usage", "this_hour_searches",
                "last_hour_searches", "account_rate_limit_per_hour");
        assertThat(account.path("api_key").asText()).isEqualTo(KEY);
        assertThat(account.path("plan_name").asText()).isEqualTo("Big Data Plan");
        assertThat(account.path("this_month_usage").asInt()).isEqualTo(3);
        assertThat(account.path("plan_searches_left").asInt()).isEqualTo(29997);
        assertThat(account.path("this_hour_searches").asInt()).isEqualTo(2);
        assertThat(account.path("last_hour_searches").asInt()).isEqualTo(1);
        assertThat(account.path("account_rate_limit_per_hour").asInt()).isEqualTo(6000);
        assertThat(get("/account.json").statusCode()).isEqualTo(401);
    }

    @Test
    void unknownPaths_getSerpApisNotFound() {
        HttpResponse<String> response = get("/searches.json?api_key=" + KEY);

        assertThat(response.statusCode()).isEqualTo(404);
        assertThat(Http.json(response).path("error").asText()).isEqualTo("The requested resource doesn't exist.");
    }
}
