package dev.keypool.server;

import static dev.keypool.server.Fidelity.fieldNames;
import static dev.keypool.server.Fidelity.single;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.config.SelectionStrategy;
import dev.keypool.config.WindowLimits;
import dev.keypool.event.KeyEvent;
import dev.keypool.providers.fake.FakeSerpApi;
import dev.keypool.providers.fake.FakeUpstream;
import dev.keypool.providers.fake.RecordedRequest;
import dev.keypool.providers.fake.RecordedResponse;
import dev.keypool.providers.internal.Json;
import dev.keypool.testing.ManualClock;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * SerpApi through the gateway, against the fake's own record: the query arrives as written with the
 * pooled {@code api_key} in place of the caller's, the answer (JSON or HTML) comes back as SerpApi
 * sent it, an archived search goes to the key that ran it, locations go keyless, the account is the
 * pool's own view, errors are SerpApi's {@code {"error": "…"}}, and each search that SerpApi counts
 * is one search on its key (a failed one, which it does not count, none).
 */
class SerpApiNativeTest {

    static final List<String> KEYS = List.of("serp-native-test-key-aaaaaaaa-0000", "serp-native-test-key-bbbbbbbb-1111");
    static final String CALLERS_KEY = "callers-own-serpapi-key-never-forwarded";
    static final String[] HEADERS = {"Accept", "application/json", "Accept-Language", "en-GB"};
    static final long PER_DAY = 1000;

    private final ManualClock clock = ManualClock.atNoonish();
    private final List<KeyEvent> events = new CopyOnWriteArrayList<>();
    private FakeSerpApi serp;
    private TestGateway server;

    @BeforeEach
    void start() {
        serp = FakeSerpApi.start();
        start(WindowLimits.of(100, PER_DAY));
    }

    private void start(WindowLimits limits) {
        KeypoolConfig config = KeypoolConfig.builder()
                .addKey(Provider.SERP, KEYS.get(0), null, limits)
                .addKey(Provider.SERP, KEYS.get(1), null, limits)
                .baseUrl(Provider.SERP, serp.baseUrl())
                .baseUrl(Provider.OLLAMA, FakeUpstream.unreachableUrl())
                // Key 0 first: a request that reaches key 1 was sent there on purpose.
                .selectionStrategy(SelectionStrategy.FILL_FIRST)
                .build();
        server = TestGateway.start(config, clock);
        server.gateway.manager().events().addListener(events::add);
    }

    @AfterEach
    void stop() {
        server.close();
        serp.close();
    }

    // ---- searches -------------------------------------------------------------------------------------

    @Test
    void search_json_arrivesAsWrittenWithThePooledKeyAndComesBackAsSent() {
        String query = "engine=google&q=coffee+shops&location=Austin%2C+Texas%2C+United+States&hl=en&gl=us&num=10";

        HttpResponse<byte[]> response = Fidelity.get(server.url("/search.json?" + query + "&api_key=" + CALLERS_KEY),
                HEADERS);

        RecordedRequest received = single(serp.requests());
        Fidelity.assertForwarded(received, "GET", "/search.json", new byte[0], HEADERS, null, null);
        Fidelity.assertQueryForwarded(received, query + "&api_key=" + CALLERS_KEY, "api_key", KEYS.get(0));
        Fidelity.assertNeverReached(serp, CALLERS_KEY);
        RecordedResponse sent = serp.responseTo(received);
        Fidelity.assertReturned(response, sent);
        assertThat(sent.json().at("/search_parameters/location").asText()).isEqualTo("Austin, Texas, United States");
        assertSearches(1, 0);
    }

    @Test
    void search_outputHtml_isSerpApisPageWithItsContentTypeByteForByte() {
        HttpResponse<byte[]> response = Fidelity.get(server.url("/search?engine=google&q=coffee&output=html"));

        RecordedRequest received = single(serp.requests());
        assertThat(received.path()).isEqualTo("/search");
        Fidelity.assertQueryForwarded(received, "engine=google&q=coffee&output=html", "api_key", KEYS.get(0));
        RecordedResponse sent = serp.responseTo(received);
        assertThat(sent.header("content-type")).isEqualTo("text/html; charset=utf-8");
        assertThat(sent.bodyText()).startsWith("<!doctype html>");
        Fidelity.assertReturned(response, sent);
        assertSearches(1, 0);
    }

    @Test
    void search_thatSerpApiFailed_isRefundedAndTheNextKeyPays() {
        serp.enqueue(KEYS.get(0), FakeSerpApi.searchFailed());

        HttpResponse<byte[]> response = Fidelity.get(server.url("/search.json?engine=google&q=coffee"));

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(serp.keys()).containsExactly(KEYS.get(0), KEYS.get(1));
        Fidelity.assertReturned(response, serp.responseTo(serp.requests().get(1)));
        assertSearches(0, 1);
    }

    // ---- the archive, locations, the account ----------------------------------------------------------

    @Test
    void archivedSearch_goesToTheKeyThatRanIt_andCostsNoSearch() {
        server.deactivate("serp", 0);
        HttpResponse<byte[]> search = Fidelity.get(server.url("/search.json?engine=google&q=coffee"));
        server.activate("serp", 0);
        String id = Json.parseOrMissing(Fidelity.text(search)).at("/search_metadata/id").asText();
        assertThat(serp.ownerOfSearch(id)).isEqualTo(KEYS.get(1));

        HttpResponse<byte[]> json = Fidelity.get(server.url("/searches/" + id + ".json?api_key=" + CALLERS_KEY),
                HEADERS);
        HttpResponse<byte[]> html = Fidelity.get(server.url("/searches/" + id + ".html"));
        HttpResponse<byte[]> fresh = Fidelity.get(server.url("/search.json?engine=google&q=tea"));

        assertThat(json.statusCode()).as(Fidelity.text(json)).isEqualTo(200);
        assertThat(json.headers().firstValue("x-keypool-key-index")).contains("1");
        assertThat(html.headers().firstValue("x-keypool-key-index")).contains("1");
        assertThat(fresh.headers().firstValue("x-keypool-key-index")).as("the pool's own choice").contains("0");
        List<RecordedRequest> received = serp.requests();
        assertThat(received).extracting(RecordedRequest::key)
                .containsExactly(KEYS.get(1), KEYS.get(1), KEYS.get(1), KEYS.get(0));
        Fidelity.assertForwarded(received.get(1), "GET", "/searches/" + id + ".json", new byte[0], HEADERS, null, null);
        Fidelity.assertQueryForwarded(received.get(1), "api_key=" + CALLERS_KEY, "api_key", KEYS.get(1));
        Fidelity.assertReturned(json, serp.responseTo(received.get(1)));
        assertThat(json.body()).as("the archive is the search as it was answered").isEqualTo(search.body());
        Fidelity.assertReturned(html, serp.responseTo(received.get(2)));
        assertThat(html.headers().firstValue("content-type")).contains("text/html; charset=utf-8");
        Fidelity.assertNeverReached(serp, CALLERS_KEY);
        assertSearches(1, 1);
    }

    @Test
    void locations_reachSerpApiWithoutAnyKeyAndCostNothing() {
        HttpResponse<byte[]> response = Fidelity.get(server.url("/locations.json?q=Austin&limit=3&api_key="
                + CALLERS_KEY), HEADERS);

        RecordedRequest received = single(serp.requests());
        Fidelity.assertForwarded(received, "GET", "/locations.json", new byte[0], HEADERS, null, null);
        Fidelity.assertQueryForwarded(received, "q=Austin&limit=3&api_key=" + CALLERS_KEY, "api_key", null);
        assertThat(received.key()).isNull();
        RecordedResponse sent = serp.responseTo(received);
        assertThat(sent.json().size()).isEqualTo(3);
        Fidelity.assertReturned(response, sent);
        assertThat(events).noneMatch(KeyEvent.KeyAcquired.class::isInstance);
        assertSearches(0, 0);
    }

    @Test
    void account_isThePoolsViewAnsweredByTheGatewayWithNoKeyInIt() {
        Fidelity.get(server.url("/search.json?engine=google&q=coffee"));
        Fidelity.get(server.url("/search.json?engine=google&q=tea"));
        serp.reset();

        HttpResponse<byte[]> response = Fidelity.get(server.url("/account.json?api_key=" + CALLERS_KEY));

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(serp.requests()).as("the gateway answers the account itself").isEmpty();
        String text = Fidelity.text(response);
        for (String secret : List.of(KEYS.get(0), KEYS.get(1), CALLERS_KEY)) {
            assertThat(text).doesNotContain(secret);
        }
        JsonNode account = Json.parseOrMissing(text);
        assertThat(account.get("api_key").isNull()).isTrue();
        assertThat(account.get("account_email").isNull()).isTrue();
        assertThat(account.get("account_status").asText()).isEqualTo("Active");
        assertThat(account.get("total_searches_left").asLong()).isEqualTo(2 * PER_DAY - 2);
        assertThat(account.get("this_day_usage").asLong()).isEqualTo(2);
        JsonNode keys = account.get("keys");
        assertThat(keys).hasSize(2);
        assertThat(keys.get(0).get("masked_key").asText()).isEqualTo("serp…0000");
        assertThat(keys.get(0).get("searches_today").asLong()).isEqualTo(2);
        assertThat(keys.get(0).get("searches_left_today").asLong()).isEqualTo(PER_DAY - 2);
        assertThat(keys.get(1).get("searches_today").asLong()).isZero();
        assertThat(keys.get(1).get("searches_left_today").asLong()).isEqualTo(PER_DAY);
    }

    // ---- errors in SerpApi's shape --------------------------------------------------------------------

    @Test
    void spentPool_is429InSerpApisShapeWithRetryAfterAndNoCall() {
        server.close();
        start(WindowLimits.of(1, PER_DAY));
        assertThat(Fidelity.get(server.url("/search.json?engine=google&q=one")).statusCode()).isEqualTo(200);
        assertThat(Fidelity.get(server.url("/search.json?engine=google&q=two")).statusCode()).isEqualTo(200);

        HttpResponse<byte[]> refused = Fidelity.get(server.url("/search.json?engine=google&q=three"));

        assertThat(refused.statusCode()).isEqualTo(429);
        assertThat(serp.keys()).as("one search a minute on each key, and no call once both ran")
                .containsExactly(KEYS.get(0), KEYS.get(1));
        assertThat(Long.parseLong(refused.headers().firstValue("retry-after").orElseThrow())).isBetween(1L, 61L);
        JsonNode body = Json.parseOrMissing(Fidelity.text(refused));
        assertThat(fieldNames(body)).as("SerpApi's {\"error\": \"…\"}").containsExactly("error");
        assertThat(body.get("error").isTextual()).isTrue();
        assertThat(body.get("error").asText()).isNotBlank();
    }

    @Test
    void serpApisOwn400_comesBackAsItCameAndCostsNoSearch() {
        HttpResponse<byte[]> response = Fidelity.get(server.url("/search.json?engine=google&hl=en"), HEADERS);

        RecordedResponse sent = serp.responseTo(single(serp.requests()));
        assertThat(sent.status()).isEqualTo(400);
        assertThat(sent.bodyText()).isEqualTo("{\n  \"error\": \"Missing query `q` parameter.\"\n}\n");
        Fidelity.assertReturned(response, sent);
        assertThat(server.keyStatus("serp", 0).get("status").asText()).isEqualTo("active");
        assertSearches(0, 0);
    }

    // ---- helpers ---------------------------------------------------------------------------------------

    /** Each key's day window and the report hold these searches, and nothing stays reserved. */
    private void assertSearches(long key0, long key1) {
        long[] expected = {key0, key1};
        JsonNode report = server.usage("serp");
        for (int index = 0; index < expected.length; index++) {
            assertThat(server.keyStatus("serp", index).get("tokens_used_day").asLong()).as("key %d's searches", index)
                    .isEqualTo(expected[index]);
        }
        for (JsonNode key : report.path("keys")) {
            assertThat(key.get("total_tokens").asLong()).isEqualTo(expected[key.get("index").asInt()]);
        }
        assertThat(report.get("total_tokens").asLong()).isEqualTo(key0 + key1);
        assertThat(server.gateway.manager().store().pendingCount()).isZero();
    }
}
