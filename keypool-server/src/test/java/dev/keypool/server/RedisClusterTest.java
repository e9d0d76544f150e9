package dev.keypool.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.config.SelectionStrategy;
import dev.keypool.config.WindowLimits;
import dev.keypool.providers.fake.FakeOpenAi;
import dev.keypool.redis.testing.RedisServerExtension;
import dev.keypool.testing.CloseAfterEach;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Two gateway instances on one Redis in front of one fake OpenAI: between them they admit no more
 * than each key's limits, a key rate-limited through one is skipped by the other, and each one's
 * usage report shows the whole cluster.
 */
class RedisClusterTest {

    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();

    /** Each successful fake completion uses this many tokens (13 prompt + 5 completion). */
    static final int TOKENS_PER_CALL = 18;

    static final String MINUTE_BOUND = "sk-proj-TEST.cluster-test-aaaaaaaa-key0";
    static final String DAY_BOUND = "sk-proj-TEST.cluster-test-bbbbbbbb-key1";

    @RegisterExtension
    final CloseAfterEach closing = new CloseAfterEach();
    private final FakeOpenAi openAi = closing.add(FakeOpenAi.start());

    private KeypoolConfig.Builder cluster(int db) {
        return TestGateway.openAiOnly(openAi)
                .selectionStrategy(SelectionStrategy.FILL_FIRST)
                .setting("KEYPOOL_REDIS_URL", REDIS.server().url() + "/" + db);
    }

    /** Eight threads each sending {@code perThread} chats, alternating between {@code a} and {@code b}: the statuses. */
    private static Map<Integer, AtomicInteger> alternate(TestGateway a, TestGateway b, int perThread) throws Exception {
        Map<Integer, AtomicInteger> statuses = new ConcurrentHashMap<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(8)) {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int thread = t;
                done.add(pool.submit(() -> {
                    for (int i = 0; i < perThread; i++) {
                        TestGateway target = (thread + i) % 2 == 0 ? a : b;
                        int status = chat(target).statusCode();
                        statuses.computeIfAbsent(status, s -> new AtomicInteger()).incrementAndGet();
                    }
                }));
            }
            for (Future<?> future : done) {
                future.get();
            }
        }
        return statuses;
    }

    /**
     * The calls the provider got on each key in a run whose answers were {@code statuses}, once seen
     * to be one for every 200, with some requests refused (429) and nothing else answered.
     */
    private Served served(Map<Integer, AtomicInteger> statuses) {
        assertThat(statuses.keySet()).containsOnly(200, 429);
        Served served = new Served(servedOn(MINUTE_BOUND), servedOn(DAY_BOUND));
        assertThat(served.onKey0() + served.onKey1()).isEqualTo(statuses.get(200).get()).isPositive();
        assertThat(statuses.get(429).get()).isPositive();
        return served;
    }

    private record Served(long onKey0, long onKey1) {
    }

    private long servedOn(String key) {
        return openAi.keys().stream().filter(key::equals).count();
    }

    private TestGateway instance(KeypoolConfig config) {
        return closing.add(TestGateway.start(config));
    }

    @Test
    void concurrentTrafficOnTwoInstances_neverAdmitsMoreThanAKeysLimits() throws Exception {
        // Key 0 is bound by its minute (20 calls' worth), key 1 by its day (15 calls' worth).
        long minuteLimit = 20 * TOKENS_PER_CALL;
        long dayLimit = 15 * TOKENS_PER_CALL;
        KeypoolConfig config = cluster(1)
                .addKey(Provider.OPENAI, MINUTE_BOUND, "gpt-4o", WindowLimits.of(minuteLimit, 1_000_000))
                .addKey(Provider.OPENAI, DAY_BOUND, "gpt-4o", WindowLimits.of(1_000_000, dayLimit))
                .build();
        TestGateway a = instance(config);
        TestGateway b = instance(config);

        // 80 requests, twice what the keys can take, on 8 threads alternating between the instances.
        Map<Integer, AtomicInteger> statuses = alternate(a, b, 10);

        // The whole run lies within one minute and one day, so every 60-second span and the day
        // hold at most what the run served.
        Served served = served(statuses);
        long servedOnKey0 = served.onKey0();
        long servedOnKey1 = served.onKey1();
        assertThat(servedOnKey0 * TOKENS_PER_CALL).isLessThanOrEqualTo(minuteLimit);
        assertThat(servedOnKey1 * TOKENS_PER_CALL).isLessThanOrEqualTo(dayLimit);

        // Both instances see the cluster's usage in the status and, once flushed, in the report.
        for (TestGateway instance : List.of(a, b)) {
            JsonNode keys = instance.status().path("providers").path("openai").path("keys");
            assertThat(keys.get(0).path("tokens_used_day").asLong()).isEqualTo(servedOnKey0 * TOKENS_PER_CALL);
            assertThat(keys.get(1).path("tokens_used_day").asLong()).isEqualTo(servedOnKey1 * TOKENS_PER_CALL);
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                JsonNode openai = TestGateway.json(instance.adminGet("/api/admin/api-key-usage-report/"))
                        .path("providers").path("openai");
                assertThat(openai.path("successes").asLong()).isEqualTo(servedOnKey0 + servedOnKey1);
                assertThat(openai.path("total_tokens").asLong())
                        .isEqualTo((servedOnKey0 + servedOnKey1) * TOKENS_PER_CALL);
                assertThat(openai.path("exhausted").asLong()).isEqualTo(statuses.get(429).get());
            });
        }
    }

    @Test
    void concurrentTrafficOnTwoInstances_neverAdmitsMoreRequestsThanAKeysRequestLimits() throws Exception {
        // Tokens to spare: key 0 is bound by its requests per minute, key 1 by its requests per day.
        KeypoolConfig config = cluster(3)
                .addKey(Provider.OPENAI, MINUTE_BOUND, "gpt-4o",
                        WindowLimits.of(1_000_000, 1_000_000).withRequests(7, 1_000))
                .addKey(Provider.OPENAI, DAY_BOUND, "gpt-4o", WindowLimits.of(1_000_000, 1_000_000).withRequests(1_000, 5))
                .build();
        TestGateway a = instance(config);
        TestGateway b = instance(config);

        // 40 requests, more than three times what the keys can take, on 8 threads alternating between the instances.
        Map<Integer, AtomicInteger> statuses = alternate(a, b, 5);

        // The whole run lies within one minute and one day: what the provider received is what every span held.
        Served served = served(statuses);
        long servedOnKey0 = served.onKey0();
        long servedOnKey1 = served.onKey1();
        assertThat(servedOnKey0).isLessThanOrEqualTo(7);
        assertThat(servedOnKey1).isLessThanOrEqualTo(5);
        assertThat(statuses.get(429).get()).isEqualTo(40 - statuses.get(200).get());
        for (TestGateway instance : List.of(a, b)) {
            JsonNode keys = instance.status().path("providers").path("openai").path("keys");
            assertThat(keys.get(0).path("requests_used_day").asLong()).isEqualTo(servedOnKey0);
            assertThat(keys.get(1).path("requests_used_day").asLong()).isEqualTo(servedOnKey1);
        }
    }

    @Test
    void keyRateLimitedThroughOneInstance_isSkippedByTheOther() {
        KeypoolConfig config = cluster(2)
                .addKey(Provider.OPENAI, MINUTE_BOUND, "gpt-4o", WindowLimits.of(100_000, 1_000_000))
                .addKey(Provider.OPENAI, DAY_BOUND, "gpt-4o", WindowLimits.of(100_000, 1_000_000))
                .build();
        TestGateway a = instance(config);
        TestGateway b = instance(config);
        openAi.reply(MINUTE_BOUND, FakeOpenAi.rateLimitedTokens("20m0s"));

        HttpResponse<String> throughA = chat(a);
        assertThat(throughA.statusCode()).isEqualTo(200);
        assertThat(throughA.headers().firstValue("x-keypool-key-index")).hasValue("1");

        for (int i = 0; i < 3; i++) {
            HttpResponse<String> throughB = chat(b);
            assertThat(throughB.statusCode()).isEqualTo(200);
            assertThat(throughB.headers().firstValue("x-keypool-key-index")).hasValue("1");
        }
        assertThat(servedOn(MINUTE_BOUND)).isEqualTo(1);
        assertThat(b.status().path("providers").path("openai").path("keys").get(0).path("status").asText())
                .isEqualTo("cooling_down");
    }

    private static HttpResponse<String> chat(TestGateway gateway) {
        return gateway.postJson("/v1/chat/completions", "{\"model\":\"gpt-4o\",\"max_tokens\":8,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"Say this is a test!\"}]}");
    }
}
