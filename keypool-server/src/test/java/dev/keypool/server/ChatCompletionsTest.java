package dev.keypool.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.HttpResponseFor;
import com.openai.core.http.StreamResponse;
import com.openai.errors.NotFoundException;
import com.openai.errors.RateLimitException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.completions.CompletionUsage;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.config.SelectionStrategy;
import dev.keypool.config.WindowLimits;
import dev.keypool.providers.fake.FakeOpenAi;
import dev.keypool.testing.CloseAfterEach;
import dev.keypool.testing.ManualClock;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code /v1/chat/completions} through the official OpenAI SDK for Java, pointed at the gateway,
 * with a fake OpenAI behind it: plain and streamed answers, failover on a 429, the exhausted pool,
 * and usage counted exactly.
 */
class ChatCompletionsTest {

    static final List<String> KEYS = List.of("sk-proj-TEST.chat-test-aaaaaaaa-key0", "sk-proj-TEST.chat-test-bbbbbbbb-key1",
            "sk-proj-TEST.chat-test-cccccccc-key2");

    @RegisterExtension
    final CloseAfterEach closing = new CloseAfterEach();
    private final FakeOpenAi openAi = closing.add(FakeOpenAi.start());
    private final TestGateway server = closing.add(start(openAi));
    private final OpenAIClient client = server.openAiSdk(OpenAIOkHttpClient.builder().apiKey("sk-proj-TEST.callers-own-key"));

    private static TestGateway start(FakeOpenAi openAi) {
        KeypoolConfig.Builder config = TestGateway.openAiOnly(openAi)
                // Key 0 first, then 1, then 2: the failover path is known in advance.
                .selectionStrategy(SelectionStrategy.FILL_FIRST);
        for (String key : KEYS) {
            config.addKey(Provider.OPENAI, key, "gpt-4o", WindowLimits.of(10_000, 1_000_000));
        }
        return TestGateway.start(config.build(), ManualClock.atNoonish());
    }

    private static ChatCompletionCreateParams params(String model) {
        return ChatCompletionCreateParams.builder()
                .model(model)
                .addUserMessage("Say this is a test!")
                .maxCompletionTokens(64)
                .build();
    }

    @Test
    void completion_isAnsweredInOpenAisShapeWithAPooledKeyAndSaysWhichKeyServed() {
        openAi.enqueue(FakeOpenAi.completion("This is a test!", 13, 5));

        HttpResponseFor<ChatCompletion> raw = client.chat().completions().withRawResponse().create(params("gpt-4o"));
        ChatCompletion completion = raw.parse();

        assertThat(raw.statusCode()).isEqualTo(200);
        assertThat(completion.choices()).hasSize(1);
        assertThat(completion.choices().get(0).message().content()).contains("This is a test!");
        assertThat(completion.choices().get(0).finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.STOP);
        CompletionUsage usage = completion.usage().orElseThrow();
        assertThat(usage.promptTokens()).isEqualTo(13);
        assertThat(usage.completionTokens()).isEqualTo(5);
        assertThat(usage.totalTokens()).isEqualTo(18);
        assertThat(raw.headers().values("x-keypool-provider")).containsExactly("openai");
        assertThat(raw.headers().values("x-keypool-key-index")).containsExactly("0");
        assertThat(raw.headers().values("x-keypool-key")).containsExactly("sk-p...key0");

        assertThat(openAi.requests("/v1/chat/completions")).singleElement().satisfies(request -> {
            assertThat(request.header("authorization")).isEqualTo("Bearer " + KEYS.get(0));
            assertThat(request.json().path("model").asText()).isEqualTo("gpt-4o");
            assertThat(request.json().path("messages").get(0).path("content").asText()).isEqualTo("Say this is a test!");
        });
        assertThat(openAi.requests().toString()).doesNotContain("sk-proj-TEST.callers-own-key");
    }

    @Test
    void streaming_deliversChunksThenTheUsageChunkThenDone() {
        openAi.enqueue(FakeOpenAi.streamed(List.of("This", " is", " a", " test!"), 13, 4));
        ChatCompletionCreateParams params = params("gpt-4o").toBuilder()
                .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build())
                .build();

        StringBuilder text = new StringBuilder();
        List<ChatCompletionChunk> chunks = new ArrayList<>();
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(params)) {
            stream.stream().forEach(chunk -> {
                chunks.add(chunk);
                chunk.choices().forEach(choice -> choice.delta().content().ifPresent(text::append));
            });
        }

        assertThat(text.toString()).isEqualTo("This is a test!");
        assertThat(chunks).allSatisfy(chunk -> assertThat(chunk.id()).isEqualTo(chunks.get(0).id()));
        ChatCompletionChunk last = chunks.get(chunks.size() - 1);
        assertThat(last.choices()).isEmpty();
        CompletionUsage usage = last.usage().orElseThrow();
        assertThat(usage.promptTokens()).isEqualTo(13);
        assertThat(usage.completionTokens()).isEqualTo(4);
        assertThat(usage.totalTokens()).isEqualTo(17);
        assertThat(chunks.get(chunks.size() - 2).choices().get(0).finishReason())
                .contains(ChatCompletionChunk.Choice.FinishReason.STOP);
    }

    @Test
    void streaming_onTheWire_isOpenAiSseWithHeadersAndDone() {
        openAi.enqueue(FakeOpenAi.streamed(List.of("Hello", " there"), 9, 2));

        HttpResponse<String> response = server.send(HttpRequest.newBuilder(URI.create(server.url("/v1/chat/completions")))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("""
                        {"model": "gpt-4o", "stream": true, "messages": [{"role": "user", "content": "Hi"}]}""")));

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("content-type")).hasValueSatisfying(
                type -> assertThat(type).startsWith("text/event-stream"));
        assertThat(response.headers().firstValue("x-keypool-provider")).contains("openai");
        assertThat(response.headers().firstValue("x-keypool-key-index")).contains("0");
        String body = response.body();
        assertThat(body).startsWith("data: {").endsWith("data: [DONE]\n\n").contains("\"object\":\"chat.completion.chunk\"")
                .contains("\"role\":\"assistant\"").contains("\"content\":\"Hello\"").contains("\"finish_reason\":\"stop\"")
                .doesNotContain("\"usage\"");
    }

    @Test
    void failover_onA429_answersFromTheNextKeyAndCoolsTheFirst() {
        openAi.enqueue(KEYS.get(0), FakeOpenAi.rateLimitedTokens("20s"));
        openAi.enqueue(KEYS.get(1), FakeOpenAi.completion("From key one", 10, 3));

        HttpResponseFor<ChatCompletion> raw = client.chat().completions().withRawResponse().create(params("gpt-4o"));

        assertThat(raw.parse().choices().get(0).message().content()).contains("From key one");
        assertThat(raw.headers().values("x-keypool-key-index")).containsExactly("1");
        assertThat(raw.headers().values("x-keypool-failover")).singleElement().asString().contains("openai/0 rate_limited");
        assertThat(openAi.keys()).containsExactly(KEYS.get(0), KEYS.get(1));
        JsonNode key0 = server.status().at("/providers/openai/keys/0");
        assertThat(key0.get("status").asText()).isEqualTo("cooling_down");
        assertThat(key0.get("failure_kind").asText()).isEqualTo("rate_limited");
        assertThat(key0.get("available_in_seconds").asLong()).isBetween(1L, 20L);
    }

    @Test
    void exhaustedPool_is429WithRetryAfterAndNoUpstreamCall() {
        TestGateway oneKey = closing.add(TestGateway.start(TestGateway.openAiOnly(openAi)
                .addKey(Provider.OPENAI, KEYS.get(0), "gpt-4o", WindowLimits.of(1_000, 1_000_000))
                .build(), ManualClock.atNoonish()));
        OpenAIClient sdk = oneKey.openAiSdk(OpenAIOkHttpClient.builder().apiKey("sk-proj-TEST.callers-own-key"));
        openAi.enqueue(FakeOpenAi.completion("A long answer", 13, 900));
        sdk.chat().completions().create(params("gpt-4o"));
        assertThat(openAi.requests()).hasSize(1);

        AtomicReference<RateLimitException> refused = new AtomicReference<>();
        ChatCompletionCreateParams larger = params("gpt-4o").toBuilder().maxCompletionTokens(200).build();
        assertThatThrownBy(() -> sdk.chat().completions().create(larger))
                .isInstanceOfSatisfying(RateLimitException.class, refused::set);

        RateLimitException error = refused.get();
        assertThat(error.statusCode()).isEqualTo(429);
        assertThat(error.headers().values("Retry-After")).singleElement()
                .satisfies(seconds -> assertThat(Long.parseLong(seconds))
                        .as("a minute, plus the store's one-second bucket").isBetween(1L, 61L));
        assertThat(error.headers().values("X-Should-Retry")).containsExactly("false");
        assertThat(error.code()).contains("keys_exhausted");
        assertThat(openAi.requests()).as("no upstream call for a spent pool").hasSize(1);
        assertThat(oneKey.get("/metrics").body())
                .as("the SDK obeyed X-Should-Retry and asked once")
                .contains("keypool_http_requests_total{endpoint=\"chat_completions\",status=\"429\"} 1.0")
                .contains("keypool_pool_exhausted_total{provider=\"openai\",reason=\"minute_limit\"} 1.0");
    }

    @Test
    void usage_isCountedExactlyAcrossPlainStreamedAndFailedCalls() {
        openAi.enqueue(FakeOpenAi.completion("one", 11, 7));
        openAi.enqueue(FakeOpenAi.completion("two", 23, 19));
        openAi.enqueue(FakeOpenAi.streamed(List.of("th", "ree"), 5, 3));
        openAi.enqueue(KEYS.get(0), FakeOpenAi.rateLimitedTokens("1s"));

        client.chat().completions().create(params("gpt-4o"));
        client.chat().completions().create(params("gpt-4o"));
        ChatCompletionCreateParams streamed = params("gpt-4o").toBuilder()
                .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build();
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(streamed)) {
            stream.stream().forEach(chunk -> { });
        }

        JsonNode report = TestGateway.json(server.adminGet("/api/admin/api-key-usage-report/")).at("/providers/openai");
        assertThat(report.get("prompt_tokens").asLong()).isEqualTo(11 + 23 + 5);
        assertThat(report.get("completion_tokens").asLong()).isEqualTo(7 + 19 + 3);
        assertThat(report.get("total_tokens").asLong()).isEqualTo(68);
        assertThat(report.get("successes").asLong()).isEqualTo(3);
        long dayTokens = 0;
        for (JsonNode key : server.status().at("/providers/openai/keys")) {
            dayTokens += key.get("tokens_used_day").asLong();
        }
        assertThat(dayTokens).as("the windows hold what the provider reported, reservations settled").isEqualTo(68);
        assertThat(server.gateway.manager().store().pendingCount()).isZero();
    }

    @Test
    void models_listsTheConfiguredModelsAndAuto() {
        List<String> ids = new ArrayList<>();
        client.models().list().data().forEach(model -> ids.add(model.id()));

        assertThat(ids).contains("auto", "gpt-4o");
    }

    @Test
    void modelKeypoolDoesNotKnow_isOpenAisToJudge_andItsNotFoundComesBack() {
        openAi.enqueue(FakeOpenAi.modelNotFound());

        assertThatThrownBy(() -> client.chat().completions().create(params("no-such-model")))
                .isInstanceOfSatisfying(NotFoundException.class, error -> {
                    assertThat(error.code()).contains("model_not_found");
                });
        assertThat(openAi.requests()).singleElement()
                .satisfies(request -> assertThat(request.json().path("model").asText()).isEqualTo("no-such-model"));
        assertThat(server.status().at("/providers/openai/keys/0/status").asText()).isEqualTo("active");
    }
}
