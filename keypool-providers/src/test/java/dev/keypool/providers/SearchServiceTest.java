package dev.keypool.providers;

import static dev.keypool.providers.Keys.SERP_0;
import static dev.keypool.providers.Keys.SERP_1;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.keypool.config.KeyMask;
import dev.keypool.config.Provider;
import dev.keypool.failure.FailureKind;
import dev.keypool.failure.UpstreamException;
import dev.keypool.providers.fake.FakeSerpApi;
import dev.keypool.providers.fake.RecordedRequest;
import dev.keypool.rotation.NoAvailableKeyException;
import dev.keypool.usage.KeyStatus;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class SearchServiceTest {

    private final FakeSerpApi serp = FakeSerpApi.start();
    private TestPool pool;

    @BeforeEach
    void pool() {
        pool = TestPool.builder().keys(serp, SERP_0, SERP_1).build();
    }

    @AfterEach
    void close() {
        pool.close();
        serp.close();
    }

    private static Map<String, List<String>> query(String q) {
        return Map.of("engine", List.of("google"), "q", List.of(q), "api_key", List.of("the-callers-own-key-xyz"),
                "location", List.of("Austin, Texas, United States"));
    }

    @Test
    void search_replacesTheCallersKeyWithThePooledOne_andCountsOneSearch() {
        SearchResult result = pool.search.search(query("deepseek"));

        RecordedRequest request = serp.requests().get(0);
        assertThat(request.path()).isEqualTo("/search.json");
        assertThat(request.queryParams().get("api_key")).containsExactly(SERP_0);
        assertThat(request.queryParam("q")).isEqualTo("deepseek");
        assertThat(request.queryParam("location")).isEqualTo("Austin, Texas, United States");
        assertThat(result.status()).isEqualTo(200);
        assertThat(result.body()).contains("\"organic_results\"").contains("\"q\": \"deepseek\"");
        assertThat(result.keyIndex()).isZero();
        assertThat(result.maskedKey()).isEqualTo(KeyMask.mask(SERP_0));
        assertThat(pool.status(Provider.SERP, 0).minuteTokens()).isEqualTo(1);
        assertThat(pool.status(Provider.SERP, 0).dayTokens()).isEqualTo(1);
    }

    @Test
    void search_withNoResults_isStillASearchMade() {
        serp.enqueue(FakeSerpApi.noResults());

        SearchResult result = pool.search.search(query("xqzzyqv"));

        assertThat(result.status()).isEqualTo(200);
        assertThat(result.body()).contains("Google hasn't returned any results for this query.");
        assertThat(pool.status(Provider.SERP, 0).dayTokens()).isEqualTo(1);
    }

    @Test
    void outOfSearches_deactivatesTheKey_andTheNextKeySearches() {
        serp.enqueue(SERP_0, FakeSerpApi.outOfSearches());

        SearchResult result = pool.search.search(query("deepseek"));

        assertThat(result.keyIndex()).isEqualTo(1);
        assertThat(serp.keys()).containsExactly(SERP_0, SERP_1);
        assertThat(pool.status(Provider.SERP, 0).status()).isEqualTo(KeyStatus.DEACTIVATED);
        assertThat(pool.status(Provider.SERP, 0).failureKind()).isEqualTo(FailureKind.QUOTA_EXHAUSTED);
        assertThat(pool.status(Provider.SERP, 0).dayTokens()).isZero();
    }

    @Test
    void invalidKey_isDeactivated_throughputLimit_coolsDown() {
        serp.enqueue(SERP_0, FakeSerpApi.invalidKey());
        serp.enqueue(SERP_1, FakeSerpApi.throughputLimited());

        NoAvailableKeyException failure = catchThrowableOfType(NoAvailableKeyException.class,
                () -> pool.search.search(query("deepseek")));

        assertThat(failure.reason()).isEqualTo(NoAvailableKeyException.Reason.ALL_KEYS_FAILED);
        assertThat(pool.status(Provider.SERP, 0).failureKind()).isEqualTo(FailureKind.INVALID_KEY);
        assertThat(pool.status(Provider.SERP, 1).status()).isEqualTo(KeyStatus.COOLING_DOWN);
        assertThat(pool.status(Provider.SERP, 1).failureKind()).isEqualTo(FailureKind.RATE_LIMITED);
    }

    @Test
    void failedSearch_isAServerError_andIsNotCounted() {
        serp.enqueue(SERP_0, FakeSerpApi.searchFailed());

        assertThat(pool.search.search(query("deepseek")).keyIndex()).isEqualTo(1);
        assertThat(pool.status(Provider.SERP, 0).dayTokens()).isZero();
        assertThat(pool.status(Provider.SERP, 0).failureKind()).isEqualTo(FailureKind.SERVER_ERROR);
    }

    @Test
    void missingQuery_goesBackWithSerpApisStatusAndMessage() {
        UpstreamException failure = catchThrowableOfType(UpstreamException.class,
                () -> pool.search.search(Map.of("engine", List.of("google"))));

        assertThat(failure.kind()).isEqualTo(FailureKind.CLIENT_ERROR);
        assertThat(failure.status()).isEqualTo(400);
        assertThat(failure.getMessage()).isEqualTo("Missing query `q` parameter.");
        assertThat(serp.keys()).containsExactly(SERP_0);
        assertThat(pool.status(Provider.SERP, 0).status()).isEqualTo(KeyStatus.ACTIVE);
    }

    @Test
    void spentKeys_failWithoutCallingSerpApi() {
        pool.close();
        pool = TestPool.builder().key(serp, SERP_0, null, 1, 100).build();
        pool.search.search(query("one"));

        NoAvailableKeyException failure = catchThrowableOfType(NoAvailableKeyException.class,
                () -> pool.search.search(query("two")));

        assertThat(failure.reason()).isEqualTo(NoAvailableKeyException.Reason.NO_HEADROOM);
        assertThat(serp.requests()).hasSize(1);
    }
}
