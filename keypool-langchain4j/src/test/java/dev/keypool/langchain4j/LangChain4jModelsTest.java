package dev.keypool.langchain4j;

import static dev.keypool.adapter.AdapterPool.KEY_A;
import static dev.keypool.adapter.AdapterPool.KEY_B;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.keypool.adapter.AdapterPool;
import dev.keypool.config.Provider;
import dev.keypool.providers.fake.FakeOpenAi;
import dev.keypool.providers.fake.RecordedResponse;
import dev.keypool.testing.CloseAfterEach;
import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.exception.RateLimitException;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.embedding.EmbeddingModel;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.model.openai.OpenAiEmbeddingModel;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * LangChain4j's own OpenAI models, unchanged but for their HTTP client builder, against the fake
 * OpenAI. LangChain4j's retries are off ({@code maxRetries(0)}), so a request that reached two keys
 * was failed over by keypool, once, inside one call. Which key served is read from the fake's log.
 */
class LangChain4jModelsTest {

    @RegisterExtension
    final CloseAfterEach closing = new CloseAfterEach();
    private final FakeOpenAi openai = closing.add(FakeOpenAi.start());
    private final AdapterPool pool = closing.add(new AdapterPool(openai, KEY_A, KEY_B));

    private ChatModel chatModel() {
        return OpenAiChatModel.builder().httpClientBuilder(KeypoolHttpClientBuilder.on(pool.client))
                .apiKey("pooled").modelName("gpt-4o-mini").maxRetries(0).build();
    }

    private StreamingChatModel streamingChatModel() {
        return OpenAiStreamingChatModel.builder().httpClientBuilder(KeypoolHttpClientBuilder.on(pool.client))
                .apiKey("pooled").modelName("gpt-4o-mini").build();
    }

    /** What a streamed chat handed its handler: the parts as they came, then the response or the error. */
    private static final class Streamed implements StreamingChatResponseHandler {

        final List<String> parts = new CopyOnWriteArrayList<>();
        final CompletableFuture<ChatResponse> done = new CompletableFuture<>();

        @Override
        public void onPartialResponse(String partial) {
            parts.add(partial);
        }

        @Override
        public void onCompleteResponse(ChatResponse response) {
            done.complete(response);
        }

        @Override
        public void onError(Throwable error) {
            done.completeExceptionally(error);
        }
    }

    @Test
    void chatModel_aRateLimitOnTheFirstKeyIsInvisible_andTheTokensAreCommittedOnTheKeyThatServed() {
        openai.enqueue(KEY_A, FakeOpenAi.rateLimitedTokens("20s"));

        String answer = chatModel().chat("Say this is a test!");

        assertThat(answer).isEqualTo("This is a test!");
        assertThat(openai.keys()).containsExactly(KEY_A, KEY_B);
        assertThat(openai.requests()).allSatisfy(request ->
                assertThat(request.header("authorization")).isNotEqualTo("Bearer pooled"));
        assertThat(pool.minuteTokens(Provider.OPENAI, KEY_B)).isEqualTo(reportedTokens(openai.lastResponse()));
        assertThat(pool.minuteTokens(Provider.OPENAI, KEY_A)).isZero();
    }

    @Test
    void chatModel_aSpentPoolIsLangChain4jsRateLimitException_withTheTimeUntilAKeyFreesUp() {
        openai.reply(KEY_A, FakeOpenAi.rateLimitedTokens("20s"));
        openai.reply(KEY_B, FakeOpenAi.rateLimitedTokens("20s"));

        RateLimitException e = catchThrowableOfType(RateLimitException.class, () -> chatModel().chat("Hi"));

        assertThat(e.getCause()).isInstanceOf(KeypoolHttpException.class);
        KeypoolHttpException pooled = (KeypoolHttpException) e.getCause();
        assertThat(pooled.fromPool()).isTrue();
        assertThat(pooled.statusCode()).isEqualTo(429);
        assertThat(pooled.retryAfter()).hasValueSatisfying(wait -> assertThat(wait).isPositive());
        assertThat(e.getMessage()).contains("a key frees up in");
        assertThat(openai.keys()).containsExactly(KEY_A, KEY_B);
    }

    @Test
    void streamingChatModel_failsOverBeforeTheStreamBegins_andCommitsTheStreamsUsage() throws Exception {
        openai.enqueue(KEY_A, FakeOpenAi.rateLimitedTokens("20s"));
        openai.enqueue(KEY_B, FakeOpenAi.streamed(List.of("This", " is", " a", " test!"), 13, 4));
        Streamed streamed = new Streamed();

        streamingChatModel().chat("Say this is a test!", streamed);

        ChatResponse response = streamed.done.get(30, TimeUnit.SECONDS);
        assertThat(streamed.parts).containsExactly("This", " is", " a", " test!");
        assertThat(response.aiMessage().text()).isEqualTo("This is a test!");
        assertThat(openai.keys()).containsExactly(KEY_A, KEY_B);
        assertThat(pool.minuteTokens(Provider.OPENAI, KEY_B)).isEqualTo(13 + 4);
    }

    @Test
    void streamingChatModel_aSpentPoolReachesTheHandlerAsARateLimitException() throws Exception {
        openai.reply(KEY_A, FakeOpenAi.rateLimitedTokens("20s"));
        openai.reply(KEY_B, FakeOpenAi.rateLimitedTokens("20s"));
        Streamed streamed = new Streamed();

        streamingChatModel().chat("Hi", streamed);

        ExecutionException failed = catchThrowableOfType(ExecutionException.class,
                () -> streamed.done.get(30, TimeUnit.SECONDS));
        assertThat(failed).as("the handler's onError, not onCompleteResponse").isNotNull();
        Throwable error = failed.getCause();
        assertThat(error).isInstanceOf(RateLimitException.class);
        assertThat(((KeypoolHttpException) error.getCause()).retryAfter()).isPresent();
    }

    @Test
    void embeddingModel_failsOverAndCommitsThePromptTokensTheAnswerReported() {
        openai.enqueue(KEY_A, FakeOpenAi.insufficientQuota());
        EmbeddingModel model = OpenAiEmbeddingModel.builder().httpClientBuilder(KeypoolHttpClientBuilder.on(pool.client))
                .apiKey("pooled").modelName("text-embedding-3-small").maxRetries(0).build();

        Embedding embedding = model.embed("Say this is a test!").content();

        assertThat(embedding.dimension()).isEqualTo(1536);
        assertThat(openai.keys()).containsExactly(KEY_A, KEY_B);
        long reported = openai.lastResponse().json().path("usage").path("prompt_tokens").asLong();
        assertThat(reported).isPositive();
        assertThat(pool.minuteTokens(Provider.OPENAI, KEY_B)).isEqualTo(reported);
    }

    private static long reportedTokens(RecordedResponse response) {
        return response.json().path("usage").path("total_tokens").asLong();
    }
}
