package dev.keypool.server;

import static dev.keypool.server.Fidelity.bytes;
import static dev.keypool.server.Fidelity.fieldNames;
import static dev.keypool.server.Fidelity.single;
import static dev.keypool.server.Fidelity.with;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.config.SelectionStrategy;
import dev.keypool.config.WindowLimits;
import dev.keypool.event.KeyEvent;
import dev.keypool.providers.fake.FakeGemini;
import dev.keypool.providers.fake.Gate;
import dev.keypool.providers.fake.RecordedRequest;
import dev.keypool.providers.fake.RecordedResponse;
import dev.keypool.providers.internal.Json;
import dev.keypool.testing.ManualClock;
import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Gemini's native API through the gateway, against the fake's own record: what Google received is
 * what the caller sent but the key (moved from {@code ?key=} or the caller's {@code x-goog-api-key}
 * to the pooled key's header), what the caller received is what Google sent but the headers the
 * README lists; the usage committed to the key is the {@code usageMetadata} Google reported (or, for
 * embeddings, which report none, what was reserved), and nothing stays reserved.
 */
class GeminiNativeTest {

    static final List<String> KEYS = List.of("AIza-gemini-native-test-key-0000aaaa",
            "AIza-gemini-native-test-key-1111bbbb");
    static final String CALLERS_KEY = "AIza-TEST.callers-own-key-never-forwarded";
    static final String GENERATE = "/v1beta/models/gemini-2.5-flash:generateContent";
    static final String STREAM = "/v1beta/models/gemini-2.5-flash:streamGenerateContent";
    static final String BODY = """
            {"contents": [{"role": "user", "parts": [{"text": "Explain how AI works in a few words"}]}],
             "generationConfig": {"temperature": 0.2, "maxOutputTokens": 256, "thinkingConfig": {"thinkingBudget": 64}},
             "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
             "labels": {"team": "keypool"}}""";
    /** Headers an SDK sends beside its key: each must arrive as it was. */
    static final String[] HEADERS = {"Content-Type", "application/json", "x-goog-api-client",
        "google-genai-sdk/2.0.0 gl-java/21", "X-Server-Timeout", "60"};

    private final ManualClock clock = ManualClock.atNoonish();
    private final List<KeyEvent> events = new CopyOnWriteArrayList<>();
    private FakeGemini gemini;
    private KeypoolConfig config;
    private ServerSettings settings;
    private TestGateway server;

    @BeforeEach
    void start() {
        gemini = FakeGemini.start();
        config = config(WindowLimits.of(100_000, 1_000_000));
        settings = TestGateway.settings(config);
        startGateway();
    }

    private KeypoolConfig config(WindowLimits limits) {
        return TestGateway.geminiOnly(gemini)
                .addKey(Provider.GEMINI, KEYS.get(0), "gemini-2.5-flash", limits)
                .addKey(Provider.GEMINI, KEYS.get(1), "gemini-2.5-flash", limits)
                // Key 0 first: a request that reaches key 1 was sent there on purpose.
                .selectionStrategy(SelectionStrategy.FILL_FIRST)
                .build();
    }

    private void startGateway() {
        server = TestGateway.start(config, clock, settings);
        server.gateway.manager().events().addListener(events::add);
    }

    @AfterEach
    void stop() {
        server.close();
        gemini.close();
    }

    // ---- generateContent ----------------------------------------------------------------------------

    @Test
    void generateContent_keyInTheQuery_isRemovedAndTheRestArrivesAsSent() {
        gemini.enqueue(FakeGemini.generated("AI learns patterns from data.", 9, 6, 11));

        String query = "alt=json&key=" + CALLERS_KEY + "&%24prettyPrint=false&%24fields=candidates%2CusageMetadata";

        HttpResponse<byte[]> response = Fidelity.post(server.url(GENERATE + "?" + query), BODY, HEADERS);

        RecordedRequest received = single(gemini.requests());
        Fidelity.assertForwarded(received, "POST", GENERATE, bytes(BODY), HEADERS, "x-goog-api-key", KEYS.get(0));
        Fidelity.assertQueryForwarded(received, query, "key", null);
        Fidelity.assertNeverReached(gemini, CALLERS_KEY);
        RecordedResponse sent = gemini.responseTo(received);
        Fidelity.assertReturned(response, sent);
        assertThat(response.headers().firstValue("x-keypool-key-index")).contains("0");
        assertCommittedAsReported(0, List.of(sent.json().path("usageMetadata")));
    }

    @Test
    void generateContent_keyInTheHeader_isReplacedByThePooledKey() {
        String[] headers = with(HEADERS, "x-goog-api-key", CALLERS_KEY);
        gemini.enqueue(FakeGemini.generated("Patterns.", 12, 2));

        HttpResponse<byte[]> response = Fidelity.post(server.url(GENERATE), BODY, headers);

        RecordedRequest received = single(gemini.requests());
        Fidelity.assertForwarded(received, "POST", GENERATE, bytes(BODY), headers, "x-goog-api-key", KEYS.get(0));
        assertThat(received.query()).isNull();
        Fidelity.assertNeverReached(gemini, CALLERS_KEY);
        RecordedResponse sent = gemini.responseTo(received);
        Fidelity.assertReturned(response, sent);
        assertCommittedAsReported(0, List.of(sent.json().path("usageMetadata")));
    }

    @Test
    void generateContent_underV1_isGeminisStableApiPassedTheSameWay() {
        String path = "/v1/models/gemini-2.5-flash:generateContent";
        String[] headers = with(HEADERS, "x-goog-api-key", CALLERS_KEY);

        HttpResponse<byte[]> response = Fidelity.post(server.url(path), BODY, headers);

        RecordedRequest received = single(gemini.requests());
        Fidelity.assertForwarded(received, "POST", path, bytes(BODY), headers, "x-goog-api-key", KEYS.get(0));
        RecordedResponse sent = gemini.responseTo(received);
        Fidelity.assertReturned(response, sent);
        assertCommittedAsReported(0, List.of(sent.json().path("usageMetadata")));
    }

    // ---- streamGenerateContent ----------------------------------------------------------------------

    @Test
    void streamGenerateContent_sse_isPassedEventForEventAndCommitsTheLastUsage() {
        gemini.enqueue(FakeGemini.streamed(List.of("AI", " learns", " patterns", " from data."), 9, 7, 5));

        HttpResponse<byte[]> response = Fidelity.post(server.url(STREAM + "?alt=sse&key=" + CALLERS_KEY), BODY,
                HEADERS);

        RecordedRequest received = single(gemini.requests());
        Fidelity.assertForwarded(received, "POST", STREAM, bytes(BODY), HEADERS, "x-goog-api-key", KEYS.get(0));
        Fidelity.assertQueryForwarded(received, "alt=sse&key=" + CALLERS_KEY, "key", null);
        RecordedResponse sent = gemini.responseTo(received);
        Fidelity.assertReturned(response, sent);
        assertThat(response.headers().firstValue("content-type")).contains("text/event-stream");
        List<JsonNode> usages = Fidelity.sseData(sent.bodyText()).stream().map(event -> event.path("usageMetadata"))
                .toList();
        assertThat(usages).hasSize(4);
        assertThat(usages.get(0).path("totalTokenCount").asLong())
                .as("each event's usage is cumulative: the first is not the total")
                .isLessThan(usages.get(3).path("totalTokenCount").asLong());
        assertCommittedAsReported(0, List.of(usages.get(3)));
    }

    @Test
    void streamGenerateContent_withoutAltSse_isGooglesJsonArrayAsSent() {
        gemini.enqueue(FakeGemini.streamed(List.of("Pattern", " matching", " at scale."), 10, 6, 0));

        HttpResponse<byte[]> response = Fidelity.post(server.url(STREAM + "?key=" + CALLERS_KEY), BODY, HEADERS);

        RecordedRequest received = single(gemini.requests());
        Fidelity.assertForwarded(received, "POST", STREAM, bytes(BODY), HEADERS, "x-goog-api-key", KEYS.get(0));
        assertThat(received.query()).isNull();
        RecordedResponse sent = gemini.responseTo(received);
        Fidelity.assertReturned(response, sent);
        JsonNode array = Json.parseOrMissing(sent.bodyText());
        assertThat(array.isArray()).isTrue();
        assertThat(array.size()).isEqualTo(3);
        assertCommittedAsReported(0, List.of(array.get(2).path("usageMetadata")));
    }

    @Test
    void streamGenerateContent_eachEventReachesTheCallerBeforeGoogleSendsTheNext() throws Exception {
        String first = "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Hel\"}],\"role\": \"model\"},"
                + "\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 4,\"candidatesTokenCount\": 1,"
                + "\"totalTokenCount\": 5},\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"r1\"}\r\n\r\n";
        String last = "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"lo\"}],\"role\": \"model\"},"
                + "\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 4,"
                + "\"candidatesTokenCount\": 2,\"totalTokenCount\": 6},\"modelVersion\": \"gemini-2.5-flash\","
                + "\"responseId\": \"r1\"}\r\n\r\n";
        Gate gate = new Gate();
        gemini.enqueue(Fidelity.heldBetween("text/event-stream", first, gate, last));

        Fidelity.assertEventByEvent(Fidelity.request(server.url(STREAM + "?alt=sse"), HEADERS)
                .POST(HttpRequest.BodyPublishers.ofString(BODY)), first, gate, last);

        assertThat(server.keyStatus("gemini", 0).get("tokens_used_day").asLong()).isEqualTo(6);
        assertThat(server.gateway.manager().store().pendingCount()).isZero();
    }

    @Test
    void streamGenerateContent_cutShortByGoogle_isChargedItsWholeReservationAndNotRetried() throws Exception {
        Gate gate = new Gate();
        gemini.enqueue(FakeGemini.streamThenDrop(gate, "AI", " learns"));

        try (InputStream in = Fidelity.open(Fidelity.request(server.url(STREAM + "?alt=sse"), HEADERS)
                .POST(HttpRequest.BodyPublishers.ofString(BODY)))) {
            assertThat(Fidelity.readWithin(in, "data: ".length())).as("the stream began").isEqualTo("data: ");
            gate.open();
            try {
                Fidelity.readWithin(in, Integer.MAX_VALUE);
            } catch (java.util.concurrent.ExecutionException cut) {
                // the caller sees the stream cut where Google's was
            }
        }

        assertThat(gemini.requests()).as("an answer that began is never retried on another key").hasSize(1);
        KeyEvent.KeyAcquired acquired = acquired().get(0);
        assertThat(acquired.tokens()).as("prompt estimate + maxOutputTokens").isGreaterThan(256);
        assertThat(server.keyStatus("gemini", 0).get("tokens_used_day").asLong())
                .as("Google may have billed it all: the whole reservation is charged").isEqualTo(acquired.tokens());
        assertThat(server.gateway.manager().store().pendingCount()).isZero();
    }

    // ---- embeddings and token counts ----------------------------------------------------------------

    @Test
    void embedContent_isPassedThroughAndCommitsWhatItReserved() {
        String path = "/v1beta/models/gemini-embedding-001:embedContent";
        String body = """
                {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "What is the meaning of life?"}]},
                 "taskType": "RETRIEVAL_QUERY", "outputDimensionality": 8}""";

        HttpResponse<byte[]> response = Fidelity.post(server.url(path + "?key=" + CALLERS_KEY), body, HEADERS);

        RecordedRequest received = single(gemini.requests());
        Fidelity.assertForwarded(received, "POST", path, bytes(body), HEADERS, "x-goog-api-key", KEYS.get(0));
        RecordedResponse sent = gemini.responseTo(received);
        assertThat(sent.json().at("/embedding/values").size()).isEqualTo(8);
        assertThat(sent.json().has("usageMetadata")).as("Gemini reports no usage for embeddings").isFalse();
        Fidelity.assertReturned(response, sent);
        assertCommittedWhatWasReserved(0);
    }

    @Test
    void batchEmbedContents_isPassedThroughAndCommitsWhatItReserved() {
        String path = "/v1beta/models/gemini-embedding-001:batchEmbedContents";
        String body = """
                {"requests": [
                  {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "first document"}]}},
                  {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "second, longer document"}]},
                   "outputDimensionality": 4}]}""";

        HttpResponse<byte[]> response = Fidelity.post(server.url(path), body, with(HEADERS, "x-goog-api-key",
                CALLERS_KEY));

        RecordedRequest received = single(gemini.requests());
        Fidelity.assertForwarded(received, "POST", path, bytes(body), with(HEADERS, "x-goog-api-key", CALLERS_KEY),
                "x-goog-api-key", KEYS.get(0));
        RecordedResponse sent = gemini.responseTo(received);
        assertThat(sent.json().path("embeddings").size()).isEqualTo(2);
        Fidelity.assertReturned(response, sent);
        assertCommittedWhatWasReserved(0);
    }

    @Test
    void countTokens_isPassedThroughAndReservesNothing() {
        String path = "/v1beta/models/gemini-2.5-flash:countTokens";
        String body = "{\"contents\": [{\"parts\": [{\"text\": \"The quick brown fox jumps over the lazy dog.\"}]}]}";

        HttpResponse<byte[]> response = Fidelity.post(server.url(path + "?key=" + CALLERS_KEY), body, HEADERS);

        RecordedRequest received = single(gemini.requests());
        Fidelity.assertForwarded(received, "POST", path, bytes(body), HEADERS, "x-goog-api-key", KEYS.get(0));
        Fidelity.assertReturned(response, gemini.responseTo(received));
        assertThat(acquired()).singleElement().satisfies(acquired -> assertThat(acquired.tokens()).isZero());
        assertNothingCharged(0);
        assertThat(server.usage("gemini").get("requests").asLong()).isEqualTo(1);
    }

    // ---- models --------------------------------------------------------------------------------------

    @Test
    void models_listAndOneModel_arePassedThroughAndReserveNothing() {
        HttpResponse<byte[]> list = Fidelity.get(server.url("/v1beta/models?key=" + CALLERS_KEY + "&pageSize=50"));
        HttpResponse<byte[]> one = Fidelity.get(server.url("/v1beta/models/gemini-2.5-flash"), "x-goog-api-key",
                CALLERS_KEY);

        List<RecordedRequest> received = gemini.requests();
        assertThat(received).hasSize(2);
        Fidelity.assertForwarded(received.get(0), "GET", "/v1beta/models", new byte[0], new String[0], "x-goog-api-key",
                KEYS.get(0));
        Fidelity.assertQueryForwarded(received.get(0), "key=" + CALLERS_KEY + "&pageSize=50", "key", null);
        Fidelity.assertForwarded(received.get(1), "GET", "/v1beta/models/gemini-2.5-flash", new byte[0],
                new String[] {"x-goog-api-key", CALLERS_KEY}, "x-goog-api-key", KEYS.get(0));
        Fidelity.assertReturned(list, gemini.responseTo(received.get(0)));
        Fidelity.assertReturned(one, gemini.responseTo(received.get(1)));
        assertThat(Json.parseOrMissing(Fidelity.text(list)).path("models").size()).isPositive();
        Fidelity.assertNeverReached(gemini, CALLERS_KEY);
        assertThat(acquired()).hasSize(2).allSatisfy(acquired -> assertThat(acquired.tokens()).isZero());
        assertNothingCharged(0);
    }

    @Test
    void modelsUnderV1_withAGoogleKey_isGeminisListNotTheGatewaysOwn() {
        HttpResponse<byte[]> list = Fidelity.get(server.url("/v1/models"), "x-goog-api-key", CALLERS_KEY);

        RecordedRequest received = single(gemini.requests());
        assertThat(received.path()).isEqualTo("/v1/models");
        Fidelity.assertReturned(list, gemini.responseTo(received));
    }

    // ---- cached contents: on the key that created them ----------------------------------------------

    @Test
    void cachedContent_createdOnOneKey_isUsedOnThatKeyEvenWhenAnotherWouldBeChosen() {
        String name = createCacheOnKey1();

        HttpResponse<byte[]> plain = Fidelity.post(server.url(GENERATE), BODY, HEADERS);
        HttpResponse<byte[]> cached = Fidelity.post(server.url(GENERATE), withCache(name), HEADERS);
        HttpResponse<byte[]> read = Fidelity.get(server.url("/v1beta/" + name));

        assertThat(plain.headers().firstValue("x-keypool-key-index")).as("the pool's choice").contains("0");
        assertThat(cached.statusCode()).as(Fidelity.text(cached)).isEqualTo(200);
        assertThat(cached.headers().firstValue("x-keypool-key-index")).contains("1");
        assertThat(read.statusCode()).as(Fidelity.text(read)).isEqualTo(200);
        assertThat(read.headers().firstValue("x-keypool-key-index")).contains("1");
        List<RecordedRequest> received = gemini.requests();
        assertThat(received).extracting(RecordedRequest::key)
                .containsExactly(KEYS.get(1), KEYS.get(0), KEYS.get(1), KEYS.get(1));
        RecordedResponse answer = gemini.responseTo(received.get(2));
        Fidelity.assertReturned(cached, answer);
        assertThat(answer.json().at("/usageMetadata/cachedContentTokenCount").asLong()).isPositive();
    }

    @Test
    void cachedContent_staysWithItsKeyAcrossAGatewayRestartOnTheSameDataDirectory() {
        String name = createCacheOnKey1();
        server.close();
        startGateway();

        HttpResponse<byte[]> cached = Fidelity.post(server.url(GENERATE), withCache(name), HEADERS);

        assertThat(cached.statusCode()).as(Fidelity.text(cached)).isEqualTo(200);
        assertThat(cached.headers().firstValue("x-keypool-key-index")).contains("1");
        assertThat(gemini.keys()).containsExactly(KEYS.get(1), KEYS.get(1));
    }

    /** Creates a cached content while key 0 is out of service, so it lands on key 1; key 0 comes back. */
    private String createCacheOnKey1() {
        server.deactivate("gemini", 0);
        String body = "{\"model\": \"models/gemini-2.5-flash\", \"displayName\": \"manual\", \"ttl\": \"600s\","
                + " \"contents\": [{\"role\": \"user\", \"parts\": [{\"text\": \"" + "A long manual. ".repeat(300)
                + "\"}]}]}";
        HttpResponse<byte[]> created = Fidelity.post(server.url("/v1beta/cachedContents?key=" + CALLERS_KEY), body,
                HEADERS);
        assertThat(created.statusCode()).as(Fidelity.text(created)).isEqualTo(200);
        Fidelity.assertReturned(created, gemini.responseTo(gemini.requests().get(0)));
        String name = Json.parseOrMissing(Fidelity.text(created)).path("name").asText();
        assertThat(gemini.ownerOfCache(name)).isEqualTo(KEYS.get(1));
        server.activate("gemini", 0);
        return name;
    }

    private static String withCache(String name) {
        return "{\"cachedContent\": \"" + name + "\", \"contents\": [{\"role\": \"user\", \"parts\": [{\"text\":"
                + " \"Summarise the manual\"}]}]}";
    }

    // ---- errors in Google's shape -------------------------------------------------------------------

    @Test
    void spentPool_is429InGooglesShapeWithRetryInfoAndRetryAfterAndNoCall() {
        server.close();
        config = config(WindowLimits.of(1_000, 1_000_000));
        settings = TestGateway.settings(config);
        startGateway();
        gemini.enqueue(FakeGemini.answer("A long answer.").withUsage(10, 900, 0));
        gemini.enqueue(FakeGemini.answer("Another long answer.").withUsage(10, 900, 0));
        assertThat(Fidelity.post(server.url(GENERATE), BODY, HEADERS).statusCode()).isEqualTo(200);
        assertThat(Fidelity.post(server.url(GENERATE), BODY, HEADERS).statusCode()).isEqualTo(200);
        assertThat(gemini.keys()).as("each answer took 910 of its key's 1000 a minute").containsExactly(KEYS.get(0),
                KEYS.get(1));

        HttpResponse<byte[]> refused = Fidelity.post(server.url(GENERATE), BODY, HEADERS);

        assertThat(refused.statusCode()).isEqualTo(429);
        assertThat(gemini.requests()).as("no call for a spent pool").hasSize(2);
        String retryAfter = refused.headers().firstValue("retry-after").orElseThrow();
        assertThat(Long.parseLong(retryAfter)).as("a minute, plus the store's one-second bucket").isBetween(1L, 61L);
        JsonNode body = Json.parseOrMissing(Fidelity.text(refused));
        assertThat(fieldNames(body)).containsExactly("error");
        JsonNode error = body.path("error");
        assertThat(fieldNames(error)).containsExactly("code", "message", "status", "details");
        assertThat(error.path("code").asInt()).isEqualTo(429);
        assertThat(error.path("status").asText()).isEqualTo("RESOURCE_EXHAUSTED");
        assertThat(error.path("message").asText()).isNotBlank();
        assertThat(error.path("details")).singleElement().satisfies(detail -> {
            assertThat(detail.path("@type").asText()).isEqualTo("type.googleapis.com/google.rpc.RetryInfo");
            assertThat(detail.path("retryDelay").asText()).isEqualTo(retryAfter + "s");
        });
        assertThat(refused.headers().firstValue("content-type")).hasValueSatisfying(
                type -> assertThat(type).startsWith("application/json"));
    }

    @Test
    void googlesOwn400_comesBackAsGoogleSentItAndTheKeyIsLeftAlone() {
        String bad = "{\"contents\": [{\"role\": \"assistant\", \"parts\": [{\"text\": \"hi\"}]}]}";

        HttpResponse<byte[]> response = Fidelity.post(server.url(GENERATE + "?key=" + CALLERS_KEY), bad, HEADERS);

        RecordedRequest received = single(gemini.requests());
        RecordedResponse sent = gemini.responseTo(received);
        assertThat(sent.status()).isEqualTo(400);
        assertThat(sent.bodyText()).contains("Please use a valid role: user, model.");
        Fidelity.assertReturned(response, sent);
        assertThat(server.keyStatus("gemini", 0).get("status").asText()).isEqualTo("active");
        assertNothingCharged(0);
    }

    // ---- helpers -------------------------------------------------------------------------------------

    /**
     * The key's day window and the report hold exactly the usage Google reported in these answers
     * (the prompt, and the rest of the total: candidates and thoughts), and nothing is left reserved.
     */
    private void assertCommittedAsReported(int index, List<JsonNode> reported) {
        long prompt = 0;
        long total = 0;
        for (JsonNode usage : reported) {
            assertThat(usage.path("totalTokenCount").isNumber()).as("Google reported usage: %s", usage).isTrue();
            prompt += usage.path("promptTokenCount").asLong();
            total += usage.path("totalTokenCount").asLong();
        }
        assertThat(server.keyStatus("gemini", index).get("tokens_used_day").asLong()).isEqualTo(total);
        JsonNode key = reportedKey(index);
        assertThat(key.get("prompt_tokens").asLong()).isEqualTo(prompt);
        assertThat(key.get("completion_tokens").asLong()).isEqualTo(total - prompt);
        assertThat(key.get("successes").asLong()).isEqualTo(reported.size());
        assertThat(server.gateway.manager().store().pendingCount()).isZero();
    }

    /** Nothing reported: the key's window and the report hold what was reserved, no more, no less. */
    private void assertCommittedWhatWasReserved(int index) {
        KeyEvent.KeyAcquired acquired = acquired().get(0);
        assertThat(acquired.tokens()).as("the input's estimate").isPositive();
        assertThat(server.keyStatus("gemini", index).get("tokens_used_day").asLong()).isEqualTo(acquired.tokens());
        assertThat(reportedKey(index).get("total_tokens").asLong()).isEqualTo(acquired.tokens());
        assertThat(server.gateway.manager().store().pendingCount()).isZero();
    }

    private void assertNothingCharged(int index) {
        assertThat(server.keyStatus("gemini", index).get("tokens_used_day").asLong()).isZero();
        assertThat(reportedKey(index).get("total_tokens").asLong()).isZero();
        assertThat(server.gateway.manager().store().pendingCount()).isZero();
    }

    private JsonNode reportedKey(int index) {
        for (JsonNode key : server.usage("gemini").path("keys")) {
            if (key.path("index").asInt() == index) {
                return key;
            }
        }
        throw new AssertionError("no key " + index + " in the usage report");
    }

    private List<KeyEvent.KeyAcquired> acquired() {
        return events.stream().filter(KeyEvent.KeyAcquired.class::isInstance).map(KeyEvent.KeyAcquired.class::cast)
                .toList();
    }
}
