package dev.keypool.providers.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.failure.FailureKind;
import dev.keypool.failure.UpstreamException;
import dev.keypool.providers.ChatMessage;
import dev.keypool.providers.fake.FakeOpenAi;
import dev.keypool.providers.fake.FakeUpstream;
import dev.keypool.providers.fake.Gate;
import dev.keypool.providers.fake.RecordedRequest;
import dev.keypool.providers.fake.Reply;
import dev.keypool.rotation.TokenUsage;
import dev.keypool.testing.ManualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class OpenAiClientTest {

    private static final String KEY = "sk-proj-TEST.alpha-00000000000000000001";

    private final FakeOpenAi fake = FakeOpenAi.start();
    private final ClientTestSupport support = new ClientTestSupport();
    private final OpenAiClient client = new OpenAiClient(support.upstream, fake.baseUrl(), "org-keypool", ManualClock.atNoonish());

    @AfterEach
    void close() {
        fake.close();
        support.close();
    }

    @Test
    void complete_sendsTheBearerKeyTheOrganizationAndTheCappedRequest() {
        client.complete(support.call(KEY, "gpt-4o", 64, Map.of("top_p", 0.9, "stop", List.of("\n\n"))));

        RecordedRequest request = fake.requests().get(0);
        assertThat(request.key()).isEqualTo(KEY);
        assertThat(request.header("openai-organization")).isEqualTo("org-keypool");
        assertThat(request.header("content-type")).isEqualTo("application/json");
        JsonNode body = request.json();
        assertThat(body.path("model").asText()).isEqualTo("gpt-4o");
        assertThat(body.path("messages").get(0).path("role").asText()).isEqualTo("system");
        assertThat(body.path("messages").get(1).path("content").asText()).isEqualTo("Say this is a test!");
        assertThat(body.path("temperature").asDouble()).isEqualTo(0.7);
        assertThat(body.path("max_tokens").asInt()).isEqualTo(64);
        assertThat(body.path("top_p").asDouble()).isEqualTo(0.9);
        assertThat(body.path("stop").get(0).asText()).isEqualTo("\n\n");
        assertThat(body.has("stream")).isFalse();
    }

    @Test
    void complete_capsReasoningModelsWithMaxCompletionTokens() {
        client.complete(support.call(KEY, "o3-mini", 64, Map.of()));

        JsonNode body = fake.requests().get(0).json();
        assertThat(body.path("max_completion_tokens").asInt()).isEqualTo(64);
        assertThat(body.has("max_tokens")).isFalse();
    }

    @Test
    void complete_keepsTheCapFieldTheCallerChose_withKeypoolsValue() {
        client.complete(support.call(KEY, "gpt-4o", 64, Map.of("max_completion_tokens", 9999, "model", "ignored")));

        JsonNode body = fake.requests().get(0).json();
        assertThat(body.path("max_completion_tokens").asInt()).isEqualTo(64);
        assertThat(body.path("model").asText()).isEqualTo("gpt-4o");
    }

    @Test
    void complete_readsTextFinishReasonUsageAndTheRateLimitHeaders() {
        fake.enqueue(FakeOpenAi.completion("This is a test!", 13, 5)
                .withHeaders(FakeOpenAi.rateLimitHeaders(200, 198, "11m32.334s", 40000, 39880, "180ms")));

        Completion completion = client.complete(support.call(KEY, "gpt-4o", 64, Map.of()));

        assertThat(completion.text()).isEqualTo("This is a test!");
        assertThat(completion.finishReason()).isEqualTo("stop");
        assertThat(completion.usage()).isEqualTo(TokenUsage.of(13, 5));
        assertThat(completion.id()).startsWith("chatcmpl-");
        assertThat(completion.model()).isEqualTo("gpt-4o");
        assertThat(support.observed).last().isEqualTo(new RateLimitSnapshot(40000, 39880, Duration.ofMillis(180),
                200, 198, Duration.ofMinutes(11).plusMillis(32_334)));
    }

    @Test
    void stream_asksForTheUsageChunk_andDeliversTheDeltasInOrder() {
        fake.enqueue(FakeOpenAi.streamed(List.of("This is", " a test!"), 13, 5));
        List<String> deltas = new ArrayList<>();

        Completion completion = client.stream(support.call(KEY, "gpt-4o-mini", 64, Map.of()), deltas::add);

        JsonNode body = fake.requests().get(0).json();
        assertThat(body.path("stream").asBoolean()).isTrue();
        assertThat(body.path("stream_options").path("include_usage").asBoolean()).isTrue();
        assertThat(deltas).containsExactly("This is", " a test!");
        assertThat(completion.text()).isEqualTo("This is a test!");
        assertThat(completion.usage()).isEqualTo(TokenUsage.of(13, 5));
        assertThat(completion.finishReason()).isEqualTo("stop");
        assertThat(support.observed).isNotEmpty();
    }

    @Test
    void rateLimitedTokens_coolsForTheMessagesWait() {
        UpstreamException failure = completeFailing(FakeOpenAi.rateLimitedTokens("644ms"));

        assertThat(failure.kind()).isEqualTo(FailureKind.RATE_LIMITED);
        assertThat(failure.status()).isEqualTo(429);
        assertThat(failure.failure().retryAfter()).isEqualTo(Duration.ofMillis(644));
        assertThat(failure.getMessage()).startsWith("Rate limit reached for gpt-4o in organization");
        assertThat(support.observed).last().extracting(RateLimitSnapshot::remainingTokens).isEqualTo(63L);
    }

    @Test
    void rateLimited_prefersRetryAfterMs_thenRetryAfter() {
        assertThat(completeFailing(FakeOpenAi.rateLimitedTokens("644ms").withHeaders("retry-after-ms", "1500"))
                .failure().retryAfter()).isEqualTo(Duration.ofMillis(1500));
        assertThat(completeFailing(FakeOpenAi.rateLimitedTokens("644ms").withHeaders("retry-after", "3"))
                .failure().retryAfter()).isEqualTo(Duration.ofSeconds(3));
    }

    @Test
    void rateLimited_withoutAnyWaitInTheMessage_usesTheResetHeaderOfTheLimitHit() {
        Reply noWait = FakeOpenAi.error(429, "Rate limit reached for requests", "requests", null, "rate_limit_exceeded")
                .withHeaders(FakeOpenAi.rateLimitHeaders(3, 0, "17s", 30000, 100, "6m0s"));

        assertThat(completeFailing(noWait).failure().retryAfter()).isEqualTo(Duration.ofSeconds(17));
    }

    @Test
    void rateLimitedRequests_isARateLimit() {
        UpstreamException failure = completeFailing(FakeOpenAi.rateLimitedRequests("20s"));

        assertThat(failure.kind()).isEqualTo(FailureKind.RATE_LIMITED);
        assertThat(failure.failure().retryAfter()).isEqualTo(Duration.ofSeconds(20));
    }

    @Test
    void perDayLimitAndQuota_exhaustTheKey() {
        assertThat(completeFailing(FakeOpenAi.tokensPerDayExceeded()).kind()).isEqualTo(FailureKind.QUOTA_EXHAUSTED);
        assertThat(completeFailing(FakeOpenAi.insufficientQuota()).kind()).isEqualTo(FailureKind.QUOTA_EXHAUSTED);
        assertThat(completeFailing(FakeOpenAi.creditBalanceExhausted()).kind()).isEqualTo(FailureKind.QUOTA_EXHAUSTED);
    }

    @Test
    void invalidApiKey_isAnInvalidKey() {
        UpstreamException failure = completeFailing(FakeOpenAi.invalidApiKey());

        assertThat(failure.kind()).isEqualTo(FailureKind.INVALID_KEY);
        assertThat(failure.status()).isEqualTo(401);
        assertThat(failure.getMessage()).startsWith("Incorrect API key provided: sk-proj-***").doesNotContain(KEY);
    }

    @Test
    void clientErrors_goBackWithTheProvidersStatusAndMessage() {
        UpstreamException tooLarge = completeFailing(FakeOpenAi.requestTooLarge());
        assertThat(tooLarge.kind()).isEqualTo(FailureKind.CLIENT_ERROR);
        assertThat(tooLarge.status()).isEqualTo(429);

        UpstreamException notFound = completeFailing(FakeOpenAi.modelNotFound());
        assertThat(notFound.kind()).isEqualTo(FailureKind.CLIENT_ERROR);
        assertThat(notFound.status()).isEqualTo(404);
        assertThat(notFound.getMessage()).isEqualTo("The model `gpt-4o` does not exist or you do not have access to it.");

        UpstreamException badRequest = completeFailing(FakeOpenAi.badRequest(
                "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
                "max_tokens", "unsupported_parameter"));
        assertThat(badRequest.kind()).isEqualTo(FailureKind.CLIENT_ERROR);
        assertThat(badRequest.status()).isEqualTo(400);
        assertThat(badRequest.failure().retryAfter()).isNull();
    }

    @Test
    void serverErrors_includingAProxysHtml_areServerErrors() {
        assertThat(completeFailing(FakeOpenAi.serverError()).kind()).isEqualTo(FailureKind.SERVER_ERROR);
        assertThat(completeFailing(FakeOpenAi.overloaded()).status()).isEqualTo(503);
        UpstreamException html = completeFailing(FakeOpenAi.badGatewayHtml());
        assertThat(html.kind()).isEqualTo(FailureKind.SERVER_ERROR);
        assertThat(html.getMessage()).contains("HTTP 502");
    }

    @Test
    void droppedConnection_isAServerError() {
        UpstreamException failure = completeFailing(Reply.dropConnection());

        assertThat(failure.kind()).isEqualTo(FailureKind.SERVER_ERROR);
        assertThat(failure.status()).isZero();
    }

    @Test
    void slowAnswer_timesOutAsAServerError() {
        OpenAiClient impatient = new OpenAiClient(support.impatient, fake.baseUrl(), null, ManualClock.atNoonish());
        fake.enqueue(Reply.delayed(Duration.ofSeconds(30), FakeOpenAi.completion("late", 1, 1)));

        UpstreamException failure = catchThrowableOfType(UpstreamException.class,
                () -> impatient.complete(support.call(KEY, "gpt-4o", 64, Map.of())));

        assertThat(failure.kind()).isEqualTo(FailureKind.SERVER_ERROR);
        assertThat(failure.getMessage()).contains("timed out");
    }

    @Test
    void bodyTricklingPastTheTimeout_timesOut_thoughEveryReadIsQuick() {
        OpenAiClient impatient = new OpenAiClient(support.impatient, fake.baseUrl(), null, ManualClock.atNoonish());
        String completion = "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"model\":\"gpt-4o\","
                + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"late\"},"
                + "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1}}";
        // a byte every 50 ms: each read waits far less than the 300 ms limit, the whole body far more
        fake.enqueue(exchange -> {
            exchange.startStream(200, "application/json");
            for (char c : completion.toCharArray()) {
                exchange.write(String.valueOf(c));
                if (!exchange.pause(Duration.ofMillis(50))) {
                    return;
                }
            }
            exchange.finish();
        });

        UpstreamException failure = catchThrowableOfType(UpstreamException.class,
                () -> impatient.complete(support.call(KEY, "gpt-4o", 64, Map.of())));

        assertThat(failure.kind()).isEqualTo(FailureKind.SERVER_ERROR);
        assertThat(failure.getMessage()).contains("no complete answer within 300 ms");
    }

    @Test
    void callsInARow_reuseOneKeptAliveConnection() {
        fake.enqueue(FakeOpenAi.completion("one", 1, 1), FakeOpenAi.completion("two", 1, 1),
                FakeOpenAi.rateLimitedTokens("2s"), FakeOpenAi.completion("four", 1, 1));

        client.complete(support.call(KEY, "gpt-4o", 64, Map.of()));
        client.complete(support.call(KEY, "gpt-4o", 64, Map.of()));
        catchThrowableOfType(UpstreamException.class, () -> client.complete(support.call(KEY, "gpt-4o", 64, Map.of())));
        client.complete(support.call(KEY, "gpt-4o", 64, Map.of()));

        // an error answer is read whole, so its connection is kept as well
        assertThat(fake.requests()).extracting(RecordedRequest::clientPort).containsOnly(fake.requests().get(0).clientPort());
    }

    @Test
    void readCompletion_keepsIdModelTextFinishAndUsage_skippingEverythingElse() {
        Completion completion = OpenAiClient.readCompletion("""
                {"id":"chatcmpl-9","object":"chat.completion","created":1,"model":"gpt-4o-2024-08-06",
                 "choices":[{"index":0,"message":{"role":"assistant","content":"Hi","refusal":null,
                   "annotations":[{"type":"url_citation","url_citation":{"end_index":1}}]},
                   "logprobs":{"content":[{"token":"Hi","bytes":[72,105]}]},"finish_reason":"stop"},
                  {"index":1,"message":{"role":"assistant","content":"Second"},"finish_reason":"length"}],
                 "usage":{"prompt_tokens":19,"completion_tokens":2.0,"total_tokens":21,
                   "prompt_tokens_details":{"cached_tokens":0}},"service_tier":"default"}""");

        assertThat(completion).isEqualTo(new Completion("chatcmpl-9", "gpt-4o-2024-08-06", "Hi", "stop",
                TokenUsage.of(19, 2)));
    }

    @Test
    void readCompletion_nullContentIsEmpty_andNoUsageIsNone() {
        Completion completion = OpenAiClient.readCompletion("""
                {"id":"chatcmpl-1","choices":[{"message":{"role":"assistant","content":null,
                 "tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]},
                 "finish_reason":"tool_calls"}]}""");

        assertThat(completion.text()).isEmpty();
        assertThat(completion.finishReason()).isEqualTo("tool_calls");
        assertThat(completion.usage()).isNull();
        assertThat(completion.model()).isNull();
    }

    @Test
    void readCompletion_withoutAChoiceObject_orNotJson_isMalformed() {
        for (String body : List.of("{\"id\":\"x\",\"choices\":[]}", "{\"choices\":[\"text\"]}",
                "{\"choices\":{\"0\":{}}}", "<html>502 Bad Gateway</html>", "[]", "")) {
            UpstreamException failure = catchThrowableOfType(UpstreamException.class,
                    () -> OpenAiClient.readCompletion(body));

            assertThat(failure).as(body).isNotNull();
            assertThat(failure.kind()).isEqualTo(FailureKind.SERVER_ERROR);
            assertThat(failure.getMessage()).contains("malformed answer");
        }
    }

    @Test
    void body_isTheRequestAsOpenAiTakesIt_extrasKept_andOursLast() throws Exception {
        UpstreamCall call = new UpstreamCall(KEY, "gpt-4o", List.of(ChatMessage.system("Be brief."),
                ChatMessage.user("Say \"hi\"\n")), 0.5, 64,
                new java.util.LinkedHashMap<>(Map.of("tools", List.of(Map.of("type", "function")),
                        "stream_options", Map.of("include_usage", false, "x", 1), "max_tokens", 10)),
                snapshot -> { });

        JsonNode body = Json.MAPPER.readTree(OpenAiClient.body(call, true));

        assertThat(body.path("model").asText()).isEqualTo("gpt-4o");
        assertThat(body.path("messages").get(1).path("content").asText()).isEqualTo("Say \"hi\"\n");
        assertThat(body.path("messages").get(0).path("role").asText()).isEqualTo("system");
        assertThat(body.path("tools").get(0).path("type").asText()).isEqualTo("function");
        assertThat(body.path("temperature").asDouble()).isEqualTo(0.5);
        assertThat(body.path("max_tokens").asInt()).as("the caller's own field name, with the reserved cap").isEqualTo(64);
        assertThat(body.path("stream").asBoolean()).isTrue();
        assertThat(body.path("stream_options").path("include_usage").asBoolean()).isTrue();
        assertThat(body.path("stream_options").path("x").asInt()).isEqualTo(1);
    }

    @Test
    void refusedConnection_isUnreachable() {
        OpenAiClient nowhere = new OpenAiClient(support.upstream, FakeUpstream.unreachableUrl() + "/v1",
                null, ManualClock.atNoonish());

        UpstreamException failure = catchThrowableOfType(UpstreamException.class,
                () -> nowhere.complete(support.call(KEY, "gpt-4o", 64, Map.of())));

        assertThat(failure.kind()).isEqualTo(FailureKind.UNREACHABLE);
    }

    @Test
    void stream_failingBeforeItStarts_isClassifiedFromTheErrorBody() {
        fake.enqueue(FakeOpenAi.rateLimitedTokens("2s"));

        UpstreamException failure = catchThrowableOfType(UpstreamException.class,
                () -> client.stream(support.call(KEY, "gpt-4o", 64, Map.of()), delta -> { }));

        assertThat(failure.kind()).isEqualTo(FailureKind.RATE_LIMITED);
        assertThat(failure.failure().retryAfter()).isEqualTo(Duration.ofSeconds(2));
    }

    @Test
    void stream_droppedMidway_failsAfterTheDeltasItDelivered() {
        Gate delivered = new Gate();
        fake.enqueue(FakeOpenAi.streamThenDrop(delivered, "This", " is"));
        List<String> deltas = new ArrayList<>();

        UpstreamException failure = catchThrowableOfType(UpstreamException.class,
                () -> client.stream(support.call(KEY, "gpt-4o", 64, Map.of()), delta -> {
                    deltas.add(delta);
                    if (deltas.size() == 2) {
                        delivered.open();
                    }
                }));

        assertThat(deltas).containsExactly("This", " is");
        assertThat(failure.kind()).isEqualTo(FailureKind.SERVER_ERROR);
    }

    @Test
    void stream_silentTooLong_isCutByTheIdleTimeout() {
        OpenAiClient impatient = new OpenAiClient(support.impatient, fake.baseUrl(), null, ManualClock.atNoonish());
        fake.enqueue(FakeOpenAi.streamThenStall("This"));
        List<String> deltas = new ArrayList<>();

        UpstreamException failure = catchThrowableOfType(UpstreamException.class,
                () -> impatient.stream(support.call(KEY, "gpt-4o", 64, Map.of()), deltas::add));

        assertThat(deltas).containsExactly("This");
        assertThat(failure.kind()).isEqualTo(FailureKind.SERVER_ERROR);
        assertThat(failure.getMessage()).contains("silent");
    }

    @Test
    void stream_errorEvent_isClassified() {
        fake.enqueue(FakeOpenAi.streamThenError(List.of("This"), "The server had an error while processing your request."));

        UpstreamException failure = catchThrowableOfType(UpstreamException.class,
                () -> client.stream(support.call(KEY, "gpt-4o", 64, Map.of()), delta -> { }));

        assertThat(failure.kind()).isEqualTo(FailureKind.SERVER_ERROR);
        assertThat(failure.getMessage()).isEqualTo("The server had an error while processing your request.");
    }

    private UpstreamException completeFailing(Reply reply) {
        fake.enqueue(reply);
        return catchThrowableOfType(UpstreamException.class,
                () -> client.complete(support.call(KEY, "gpt-4o", 64, Map.of())));
    }
}
