package dev.keypool.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.config.SelectionStrategy;
import dev.keypool.config.WindowLimits;
import dev.keypool.providers.fake.FakeSerpApi;
import dev.keypool.testing.CloseAfterEach;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@code /search} and {@code /search.json}: SerpApi's answer verbatim, paid for by a pooled key. */
class SearchTest {

    static final List<String> KEYS = List.of("serp-search-test-key-aaaa-0000", "serp-search-test-key-bbbb-1111");
    static final String CALLERS_KEY = "callers-own-serpapi-key-do-not-forward";

    @RegisterExtension
    final CloseAfterEach closing = new CloseAfterEach();
    private final FakeSerpApi serp = closing.add(FakeSerpApi.start());
    private final TestGateway server = closing.add(TestGateway.start(KeypoolConfig.builder()
            .addKey(Provider.SERP, KEYS.get(0), null, WindowLimits.of(100, 1000))
            .addKey(Provider.SERP, KEYS.get(1), null, WindowLimits.of(100, 1000))
            .baseUrl(Provider.SERP, serp.baseUrl())
            .selectionStrategy(SelectionStrategy.FILL_FIRST)
            .build()));

    @Test
    void search_forwardsTheQueryWithAPooledKeyInsteadOfTheCallers() {
        HttpResponse<String> response = server.get("/search.json?engine=google&q=coffee&hl=en&api_key=" + CALLERS_KEY);

        assertThat(response.statusCode()).isEqualTo(200);
        JsonNode body = TestGateway.json(response);
        assertThat(body.at("/search_metadata/status").asText()).isEqualTo("Success");
        assertThat(body.get("organic_results").isArray()).isTrue();
        assertThat(response.headers().firstValue("x-keypool-provider")).contains("serp");
        assertThat(response.headers().firstValue("x-keypool-key-index")).contains("0");

        assertThat(serp.requests()).singleElement().satisfies(request -> {
            assertThat(request.queryParam("api_key")).isEqualTo(KEYS.get(0));
            assertThat(request.queryParam("q")).isEqualTo("coffee");
            assertThat(request.queryParam("engine")).isEqualTo("google");
            assertThat(request.queryParam("hl")).isEqualTo("en");
        });
        assertThat(serp.requests().toString()).doesNotContain(CALLERS_KEY);
    }

    @Test
    void search_withoutJsonSuffix_isTheSame() {
        assertThat(server.get("/search?engine=google&q=tea").statusCode()).isEqualTo(200);
        assertThat(serp.requests()).singleElement()
                .satisfies(request -> assertThat(request.queryParam("q")).isEqualTo("tea"));
    }

    @Test
    void search_outOfSearches_deactivatesTheKeyAndTheNextOnePays() {
        serp.enqueue(KEYS.get(0), FakeSerpApi.outOfSearches());

        HttpResponse<String> response = server.get("/search.json?engine=google&q=coffee");

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("x-keypool-key-index")).contains("1");
        JsonNode key0 = server.status().at("/providers/serp/keys/0");
        assertThat(key0.get("status").asText()).isEqualTo("deactivated");
        assertThat(key0.get("failure_kind").asText()).isEqualTo("quota_exhausted");
        JsonNode usage = TestGateway.json(server.adminGet("/api/admin/api-key-usage-report/")).at("/providers/serp");
        assertThat(usage.get("successes").asLong()).isEqualTo(1);
        assertThat(usage.get("failures").asLong()).isEqualTo(1);
    }

    @Test
    void search_withoutParameters_is400() {
        assertThat(server.get("/search.json").statusCode()).isEqualTo(400);
        assertThat(serp.requests()).isEmpty();
    }
}
