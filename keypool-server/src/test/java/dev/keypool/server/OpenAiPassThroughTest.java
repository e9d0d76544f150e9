package dev.keypool.server;

import dev.keypool.providers.internal.Json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.config.SelectionStrategy;
import dev.keypool.config.WindowLimits;
import dev.keypool.event.KeyEvent;
import dev.keypool.providers.fake.FakeOpenAi;
import dev.keypool.providers.fake.OpenAiToolCall;
import dev.keypool.providers.fake.OpenAiUsage;
import dev.keypool.providers.fake.RecordedRequest;
import dev.keypool.providers.fake.RecordedResponse;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * OpenAI's protocol through the gateway, judged from the fake's own recording: what OpenAI received
 * is what the caller sent but the credential (and the edits {@code keypool-server/README.md}
 * lists), and what the caller received is what OpenAI sent but the headers it lists.
 */
class OpenAiPassThroughTest {

    static final List<String> KEYS = List.of("sk-proj-TEST.passthrough-aaaaaaaa-key0", "sk-proj-TEST.passthrough-bbbbbbbb-key1");
    static final String CALLERS_KEY = "sk-proj-TEST.callers-own-key-never-forwarded";

    /** A body with features the gateway does not read, in an order and spacing it must keep. */
    static final String TOOLS_REQUEST = "{\"model\":\"gpt-4o\",  \"n\": 2, \"logprobs\":true, \"top_logprobs\":2,"
            + " \"messages\":[{\"role\":\"developer\",\"content\":\"Use tools.\"},"
            + "{\"role\":\"user\",\"name\":\"ada\",\"content\":[{\"type\":\"text\",\"text\":\"What is the weather\"},"
            + "{\"type\":\"text\",\"text\":\" in Paris?\"},{\"type\":\"image_url\",\"image_url\":{\"url\":"
            + "\"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==\","
            + "\"detail\":\"low\"}}]}],\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
            + "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}}}],"
            + "\"tool_choice\":\"auto\",\"parallel_tool_calls\":true,\"temperature\":1.0e0,\"seed\":7,"
            + "\"service_tier\":\"default\",\"some_future_field\":{\"nested\":[1,2,{\"x\":\"\\u00e9\"}]}}";

    private FakeOpenAi openAi;
    private TestGateway server;
    private final HttpClient http = HttpClient.newHttpClient();
    private final List<KeyEvent> events = new CopyOnWriteArrayList<>();

    @TempDir
    Path dataDir;

    @BeforeEach
    void start() {
        openAi = FakeOpenAi.start();
        server = gateway();
    }

    private TestGateway gateway() {
        KeypoolConfig.Builder config = TestGateway.openAiOnly(openAi)
                .selectionStrategy(SelectionStrategy.FILL_FIRST);
        for (String key : KEYS) {
            config.addKey(Provider.OPENAI, key, null, WindowLimits.of(100_000, 1_000_000));
        }
        KeypoolConfig built = config.build();
        TestGateway gateway = TestGateway.start(built, java.time.Clock.systemUTC(),
                TestGateway.inDataDir(TestGateway.settings(built), dataDir));
        gateway.gateway.manager().events().addListener(events::add);
        return gateway;
    }

    @AfterEach
    void stop() {
        server.close();
        openAi.close();
        http.close();
    }

    private HttpResponse<byte[]> post(String path, String body) {
        return send(HttpRequest.newBuilder(URI.create(server.url(path)))
                .header("Content-Type", "application/json")
                .header("Authorization", "Bearer " + CALLERS_KEY)
                .header("OpenAI-Beta", "assistants=v2")
                .POST(HttpRequest.BodyPublishers.ofString(body)));
    }

    private HttpResponse<byte[]> send(HttpRequest.Builder request) {
        try {
            return http.send(request.timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static String text(HttpResponse<byte[]> response) {
        return new String(response.body(), StandardCharsets.UTF_8);
    }

    /** What OpenAI sent last, once the caller is seen to have got its status and its bytes unchanged. */
    private RecordedResponse relayedUnchanged(HttpResponse<byte[]> response) {
        RecordedResponse sent = openAi.lastResponse();
        assertThat(response.statusCode()).isEqualTo(sent.status());
        assertThat(response.body()).isEqualTo(sent.body());
        return sent;
    }

    private long committed() {
        return events.stream().filter(KeyEvent.UsageCommitted.class::isInstance).map(KeyEvent.UsageCommitted.class::cast)
                .mapToLong(event -> event.promptTokens() + event.completionTokens()).sum();
    }

    // ---- chat completions ------------------------------------------------------------------------

    @Test
    void chatWithToolsImagesNAndLogprobs_goesUpstreamByteForByte_andComesBackByteForByte() {
        openAi.enqueue(FakeOpenAi.toolCalls(OpenAiToolCall.of("get_weather", "{\"city\":\"Paris\"}"))
                .withUsage(OpenAiUsage.of(91, 18).withCachedTokens(64).withReasoningTokens(6))
                .withServiceTier("default").withSystemFingerprint("fp_9a1b2c"));

        HttpResponse<byte[]> response = post("/v1/chat/completions", TOOLS_REQUEST);

        RecordedRequest received = openAi.requests("/v1/chat/completions").get(0);
        assertThat(new String(received.bodyBytes(), StandardCharsets.UTF_8)).isEqualTo(TOOLS_REQUEST);
        assertThat(received.header("authorization")).isEqualTo("Bearer " + KEYS.get(0));
        assertThat(received.header("openai-beta")).isEqualTo("assistants=v2");
        assertThat(openAi.requests().toString()).doesNotContain(CALLERS_KEY);

        RecordedResponse sent = openAi.responseTo(received);
        assertThat(response.statusCode()).isEqualTo(sent.status()).isEqualTo(200);
        assertThat(response.body()).isEqualTo(sent.body());
        JsonNode answer = TestGateway.json(text(response));
        assertThat(answer.at("/choices/0/message/tool_calls/0/function/name").asText()).isEqualTo("get_weather");
        assertThat(answer.at("/usage/prompt_tokens_details/cached_tokens").asInt()).isEqualTo(64);
        assertThat(answer.path("choices")).hasSize(2);
        assertThat(committed()).isEqualTo(sent.json().at("/usage/total_tokens").asLong()).isPositive();
    }

    @Test
    void providersHeadersComeBack_butTheAccountsAndTheConnectionsDoNot_andKeypoolSaysWhoServed() {
        HttpResponse<byte[]> response = post("/v1/chat/completions",
                "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");

        RecordedResponse sent = openAi.lastResponse();
        for (String header : List.of("x-request-id", "openai-processing-ms", "openai-version",
                "x-ratelimit-limit-requests", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens")) {
            assertThat(response.headers().firstValue(header)).as(header).contains(sent.header(header));
        }
        assertThat(sent.header("openai-organization")).isNotNull();
        assertThat(response.headers().firstValue("openai-organization")).isEmpty();
        assertThat(response.headers().firstValue("openai-project")).isEmpty();
        assertThat(response.headers().firstValue("x-keypool-provider")).contains("openai");
        assertThat(response.headers().firstValue("x-keypool-key")).contains("sk-p...key0");
        assertThat(response.headers().firstValue("content-type")).contains(sent.header("content-type"));
    }

    @Test
    void noOutputCapIsInjected_theReserveIsReserved_andTheUsageCommitted() {
        openAi.enqueue(FakeOpenAi.answer("Long answer.").withUsage(OpenAiUsage.of(9, 2_000)));
        String body = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"Write at length.\"}]}";

        post("/v1/chat/completions", body);

        assertThat(new String(openAi.requests().get(0).bodyBytes(), StandardCharsets.UTF_8)).isEqualTo(body);
        long reserved = events.stream().filter(KeyEvent.KeyAcquired.class::isInstance)
                .mapToLong(event -> ((KeyEvent.KeyAcquired) event).tokens()).sum();
        assertThat(reserved).isGreaterThan(1024).isLessThan(1024 + 50);
        // The answer ran past the reserve: the overshoot is charged, as the provider reported it.
        assertThat(committed()).isEqualTo(2_009);
        assertThat(server.status().at("/providers/openai/keys/0/tokens_used_minute").asLong()).isEqualTo(2_009);
    }

    @Test
    void streamThatAskedForUsage_isPassedThroughByteForByte() {
        openAi.enqueue(FakeOpenAi.streamed(List.of("Hel", "lo", "!"), 11, 3));
        String body = "{\"model\":\"gpt-4o\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

        HttpResponse<byte[]> response = post("/v1/chat/completions", body);

        RecordedRequest received = openAi.requests().get(0);
        assertThat(new String(received.bodyBytes(), StandardCharsets.UTF_8)).isEqualTo(body);
        assertThat(response.body()).isEqualTo(openAi.responseTo(received).body());
        assertThat(text(response)).endsWith("data: [DONE]\n\n");
        assertThat(committed()).isEqualTo(14);
    }

    @Test
    void streamThatDidNotAskForUsage_isAskedUpstream_andTheUsageIsHiddenFromTheCaller() {
        openAi.enqueue(FakeOpenAi.streamed(List.of("Hel", "lo", "!"), 11, 3));
        String body = "{\"model\":\"gpt-4o\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

        HttpResponse<byte[]> response = post("/v1/chat/completions", body);

        RecordedRequest received = openAi.requests().get(0);
        assertThat(new String(received.bodyBytes(), StandardCharsets.UTF_8))
                .isEqualTo(body.substring(0, body.length() - 1) + ",\"stream_options\":{\"include_usage\":true}}");
        List<JsonNode> upstream = events(openAi.responseTo(received).bodyText());
        List<JsonNode> caller = events(text(response));
        List<JsonNode> expected = new ArrayList<>();
        for (JsonNode event : upstream) {
            if (event.isObject() && event.path("choices").isEmpty() && event.path("usage").isObject()) {
                continue; // the usage chunk it did not ask for
            }
            if (event.isObject()) {
                ((ObjectNode) event).remove("usage");
            }
            expected.add(event);
        }
        assertThat(upstream.size()).isEqualTo(caller.size() + 1);
        assertThat(caller).isEqualTo(expected);
        assertThat(text(response)).doesNotContain("\"usage\"").endsWith("data: [DONE]\n\n");
        assertThat(committed()).isEqualTo(14);
    }

    @Test
    void errorEventInsideAStream_reachesTheCallerAsItCame_andTheKeyGetsItsReaction() {
        openAi.enqueue(FakeOpenAi.streamThenError(List.of("Partial"), "The server had an error while processing your request."));
        String body = "{\"model\":\"gpt-4o\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

        HttpResponse<byte[]> response = post("/v1/chat/completions", body);

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.body()).isEqualTo(openAi.lastResponse().body());
        assertThat(text(response)).contains("\"error\"").doesNotContain("[DONE]");
        assertThat(server.status().at("/providers/openai/keys/0/status").asText()).isEqualTo("cooling_down");
        assertThat(server.gateway.manager().store().pendingCount()).isZero();
    }

    @Test
    void toolFollowUpTurn_goesAsWritten_andTheAnswerComesBack() {
        String body = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"Weather in Paris?\"},"
                + "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_abc123\",\"type\":\"function\","
                + "\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}}]},"
                + "{\"role\":\"tool\",\"tool_call_id\":\"call_abc123\",\"content\":\"18C and sunny\"}]}";

        HttpResponse<byte[]> response = post("/v1/chat/completions", body);

        assertThat(response.statusCode()).as(text(response)).isEqualTo(200);
        assertThat(new String(openAi.requests().get(0).bodyBytes(), StandardCharsets.UTF_8)).isEqualTo(body);
        assertThat(response.body()).isEqualTo(openAi.lastResponse().body());
    }

    @Test
    void providersOwnRefusal_comesBackAsItCame_andTheKeyIsLeftAlone() {
        String body = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"wizard\",\"content\":\"hi\"}]}";

        HttpResponse<byte[]> response = post("/v1/chat/completions", body);

        RecordedResponse sent = relayedUnchanged(response);
        assertThat(sent.status()).isEqualTo(400);
        assertThat(response.headers().firstValue("x-request-id")).contains(sent.header("x-request-id"));
        assertThat(openAi.requests()).hasSize(1);
        assertThat(server.status().at("/providers/openai/keys/0/status").asText()).isEqualTo("active");
        assertThat(server.gateway.manager().store().pendingCount()).isZero();
    }

    // ---- the other endpoints ---------------------------------------------------------------------

    @Test
    void embeddings_passThrough_andCommitTheirPromptTokens() {
        openAi.enqueue(FakeOpenAi.embeddings(8));
        String body = "{\"input\":[\"The food was delicious\",\"and the waiter...\"],\"model\":\"text-embedding-3-small\","
                + "\"encoding_format\":\"base64\",\"dimensions\":256}";

        HttpResponse<byte[]> response = post("/v1/embeddings", body);

        RecordedRequest received = openAi.requests("/v1/embeddings").get(0);
        assertThat(new String(received.bodyBytes(), StandardCharsets.UTF_8)).isEqualTo(body);
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.body()).as(text(response)).isEqualTo(openAi.responseTo(received).body());
        assertThat(committed()).isEqualTo(8);
    }

    @Test
    void legacyCompletions_reserveOpenAisDefaultCap_andPassThrough() {
        String body = "{\"model\":\"gpt-3.5-turbo-instruct\",\"prompt\":\"Say this is a test\",\"n\":2,\"best_of\":3}";

        HttpResponse<byte[]> response = post("/v1/completions", body);

        assertThat(response.statusCode()).as(text(response)).isEqualTo(200);
        assertThat(response.body()).isEqualTo(openAi.lastResponse().body());
        long reserved = ((KeyEvent.KeyAcquired) events.stream().filter(KeyEvent.KeyAcquired.class::isInstance)
                .findFirst().orElseThrow()).tokens();
        // 16 tokens (OpenAI's default max_tokens) for each of the 3 completions OpenAI generates
        assertThat(reserved).isGreaterThanOrEqualTo(48).isLessThan(48 + 20);
        JsonNode usage = openAi.lastResponse().json().path("usage");
        assertThat(committed()).isEqualTo(usage.path("total_tokens").asLong());
    }

    private void deactivate(int index) {
        server.gateway.manager().deactivate(server.gateway.manager().keys(Provider.OPENAI).get(index).id(), "test");
    }

    private void activate(int index) {
        server.gateway.manager().activate(server.gateway.manager().keys(Provider.OPENAI).get(index).id());
    }

    @Test
    void storedResponse_isFollowedUpOnTheKeyThatCreatedIt_evenAfterARestart() {
        // Created on key 1 (key 0 resting), then key 0 is back: fill-first alone would pick key 0.
        deactivate(0);
        String first = "{\"model\":\"gpt-4o\",\"input\":\"Remember the number 42.\"}";
        HttpResponse<byte[]> created = post("/v1/responses", first);
        assertThat(created.statusCode()).as(text(created)).isEqualTo(200);
        String id = TestGateway.json(text(created)).path("id").asText();
        assertThat(openAi.ownerOfResponse(id)).isEqualTo(KEYS.get(1));
        activate(0);
        server.close();
        server = gateway();

        String followUp = "{\"model\":\"gpt-4o\",\"previous_response_id\":\"" + id + "\",\"input\":\"Which number?\"}";
        HttpResponse<byte[]> answered = post("/v1/responses", followUp);
        HttpResponse<byte[]> fetched = send(HttpRequest.newBuilder(URI.create(server.url("/v1/responses/" + id)))
                .header("Authorization", "Bearer " + CALLERS_KEY).GET());

        assertThat(answered.statusCode()).as(text(answered)).isEqualTo(200);
        assertThat(fetched.statusCode()).as(text(fetched)).isEqualTo(200);
        assertThat(openAi.requests()).extracting(RecordedRequest::key).containsOnly(KEYS.get(1));
        assertThat(TestGateway.json(text(fetched)).path("id").asText()).isEqualTo(id);
    }

    @Test
    void storedResponse_onAKeyOtherThanItsOwn_wouldBeRefused_soTheGatewayNeverSendsItThere() {
        HttpResponse<byte[]> created = post("/v1/responses", "{\"model\":\"gpt-4o\",\"input\":\"hi\"}");
        String id = TestGateway.json(text(created)).path("id").asText();
        // Key 0 now rests: the follow-up must wait for it, not go to key 1, which does not know the response.
        deactivate(0);

        HttpResponse<byte[]> followUp = post("/v1/responses",
                "{\"model\":\"gpt-4o\",\"previous_response_id\":\"" + id + "\",\"input\":\"again\"}");

        assertThat(followUp.statusCode()).isIn(429, 503);
        assertThat(openAi.requests()).hasSize(1);
    }

    @Test
    void responsesStream_passesThroughEventByEvent_andCommitsTheCompletedUsage() {
        String body = "{\"model\":\"gpt-4o\",\"input\":\"Tell me a story.\",\"stream\":true,\"max_output_tokens\":300}";

        HttpResponse<byte[]> response = post("/v1/responses", body);

        RecordedResponse sent = relayedUnchanged(response);
        assertThat(sent.status()).isEqualTo(200);
        JsonNode completed = events(sent.bodyText()).stream()
                .filter(event -> event.path("type").asText().equals("response.completed")).findFirst().orElseThrow();
        assertThat(committed()).isEqualTo(completed.at("/response/usage/total_tokens").asLong());
    }

    @Test
    void fileUpload_passesThroughAsMultipart_andItsIdStaysOnItsKey() {
        deactivate(0);
        String boundary = "----keypool-test-boundary";
        String multipart = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n"
                + "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"in.jsonl\"\r\n"
                + "Content-Type: application/jsonl\r\n\r\n{\"custom_id\":\"1\"}\n\r\n--" + boundary + "--\r\n";
        HttpResponse<byte[]> uploaded = send(HttpRequest.newBuilder(URI.create(server.url("/v1/files")))
                .header("Authorization", "Bearer " + CALLERS_KEY)
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofString(multipart)));
        assertThat(uploaded.statusCode()).as(text(uploaded)).isEqualTo(200);
        String id = TestGateway.json(text(uploaded)).path("id").asText();
        assertThat(new String(openAi.requests().get(0).bodyBytes(), StandardCharsets.UTF_8)).isEqualTo(multipart);
        activate(0);

        HttpResponse<byte[]> fetched = send(HttpRequest.newBuilder(URI.create(server.url("/v1/files/" + id)))
                .header("Authorization", "Bearer " + CALLERS_KEY).GET());

        assertThat(fetched.statusCode()).as(text(fetched)).isEqualTo(200);
        assertThat(openAi.ownerOfFile(id)).isEqualTo(KEYS.get(1));
        assertThat(openAi.requests()).extracting(RecordedRequest::key).containsOnly(KEYS.get(1));
    }

    /** The JSON of each {@code data:} event of an SSE body, {@code [DONE]} as a text node. */
    static List<JsonNode> events(String sse) {
        List<JsonNode> events = new ArrayList<>();
        for (String event : sse.split("\r?\n\r?\n")) {
            for (String line : event.split("\r?\n")) {
                if (line.startsWith("data: ")) {
                    String data = line.substring(6);
                    events.add(data.equals("[DONE]") ? Json.nodes().textNode(data)
                            : TestGateway.json(data));
                }
            }
        }
        return events;
    }
}
