package dev.keypool.openai;

import static dev.keypool.adapter.AdapterPool.KEY_A;
import static dev.keypool.adapter.AdapterPool.KEY_B;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.openai.client.OpenAIClient;
import com.openai.client.OpenAIClientImpl;
import com.openai.core.ClientOptions;
import com.openai.core.RequestOptions;
import com.openai.core.http.HttpClient;
import com.openai.core.http.HttpRequest;
import com.openai.core.http.HttpResponse;
import com.openai.core.http.StreamResponse;
import com.openai.errors.RateLimitException;
import com.openai.models.ChatModel;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import com.openai.models.embeddings.EmbeddingModel;
import dev.keypool.adapter.AdapterPool;
import dev.keypool.config.Provider;
import dev.keypool.providers.fake.FakeOpenAi;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The real OpenAI Java SDK, its HTTP client swapped for keypool's, against the fake OpenAI. */
class OpenAiJavaSdkTest {

    private static final ChatCompletionCreateParams CHAT = ChatCompletionCreateParams.builder()
            .model(ChatModel.GPT_4O_MINI).addUserMessage("Say this is a test!").build();

    private final FakeOpenAi openai = FakeOpenAi.start();
    private final AdapterPool pool = new AdapterPool(openai, KEY_A, KEY_B);
    private final OpenAIClient sdk = KeypoolOpenAiHttpClient.client(pool.client);

    @AfterEach
    void close() {
        sdk.close();
        pool.close();
        openai.close();
    }

    @Test
    void chat_aRateLimitOnTheFirstKeyIsInvisible_andTheTokensAreCommittedOnTheKeyThatServed() {
        openai.enqueue(KEY_A, FakeOpenAi.rateLimitedTokens("20s"));

        ChatCompletion answer = sdk.chat().completions().create(CHAT);

        assertThat(answer.choices().get(0).message().content()).hasValue("This is a test!");
        assertThat(openai.keys()).containsExactly(KEY_A, KEY_B);
        assertThat(openai.requests()).allSatisfy(request ->
                assertThat(request.header("authorization")).doesNotContain("keypool-pooled"));
        assertThat(pool.minuteTokens(Provider.OPENAI, KEY_B)).isEqualTo(answer.usage().orElseThrow().totalTokens());
        assertThat(pool.minuteTokens(Provider.OPENAI, KEY_A)).isZero();
    }

    @Test
    void aSpentPool_isTheSdksRateLimitException_withRetryAfter_andTheSdkDoesNotRetryIt() {
        openai.reply(KEY_A, FakeOpenAi.rateLimitedTokens("20s"));
        openai.reply(KEY_B, FakeOpenAi.rateLimitedTokens("20s"));

        AtomicInteger calls = new AtomicInteger();
        KeypoolOpenAiHttpClient pooled = KeypoolOpenAiHttpClient.on(pool.client);
        HttpClient counting = new HttpClient() {
            @Override
            public HttpResponse execute(HttpRequest request, RequestOptions options) {
                calls.incrementAndGet();
                return pooled.execute(request, options);
            }

            @Override
            public CompletableFuture<HttpResponse> executeAsync(HttpRequest request, RequestOptions options) {
                calls.incrementAndGet();
                return pooled.executeAsync(request, options);
            }

            @Override
            public void close() {
            }
        };
        OpenAIClient counted = new OpenAIClientImpl(ClientOptions.builder().httpClient(counting).apiKey("p").build());

        RateLimitException e = catchThrowableOfType(RateLimitException.class, () -> counted.chat().completions().create(CHAT));

        assertThat(e.statusCode()).isEqualTo(429);
        assertThat(e.headers().values("Retry-After")).singleElement()
                .satisfies(seconds -> assertThat(Long.parseLong(seconds)).isPositive());
        assertThat(e.code()).hasValue("keys_exhausted");
        // one SDK call, each key tried once: neither the SDK nor keypool hammered a spent pool
        assertThat(calls).hasValue(1);
        assertThat(openai.keys()).containsExactly(KEY_A, KEY_B);
    }

    @Test
    void aStream_failsOverBeforeItBegins_andCommitsTheStreamsUsage() {
        openai.enqueue(KEY_A, FakeOpenAi.serverError());
        openai.enqueue(KEY_B, FakeOpenAi.streamed(List.of("This", " is", " a", " test!"), 13, 4));

        String text;
        try (StreamResponse<ChatCompletionChunk> stream = sdk.chat().completions().createStreaming(CHAT)) {
            text = stream.stream().flatMap(chunk -> chunk.choices().stream())
                    .map(choice -> choice.delta().content().orElse("")).collect(Collectors.joining());
        }

        assertThat(text).isEqualTo("This is a test!");
        assertThat(openai.keys()).containsExactly(KEY_A, KEY_B);
        assertThat(pool.minuteTokens(Provider.OPENAI, KEY_B)).isEqualTo(13 + 4);
    }

    @Test
    void embeddings_areChargedThePromptTokensTheAnswerReported() {
        openai.enqueue(KEY_A, FakeOpenAi.invalidApiKey());

        CreateEmbeddingResponse answer = sdk.embeddings().create(EmbeddingCreateParams.builder()
                .model(EmbeddingModel.TEXT_EMBEDDING_3_SMALL).input("Say this is a test!").build());

        assertThat(answer.data()).hasSize(1);
        assertThat(openai.keys()).containsExactly(KEY_A, KEY_B);
        assertThat(pool.minuteTokens(Provider.OPENAI, KEY_B)).isEqualTo(answer.usage().promptTokens());
    }
}
