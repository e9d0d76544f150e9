package dev.keypool.langchain4j;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keypool.adapter.AdapterPool;
import dev.keypool.config.Provider;
import dev.keypool.providers.fake.FakeGemini;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.googleai.GoogleAiGeminiChatModel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** LangChain4j's own Gemini model, its HTTP client builder keypool's, against the fake Gemini. */
class LangChain4jGeminiTest {

    private static final String GEMINI_A = "AIzaSyD-TEST.gemini0-9f8e7d6c5b4a3f2e1d-g000";
    private static final String GEMINI_B = "AIzaSyD-TEST.gemini1-1a2b3c4d5e6f7a8b9c-g111";

    private final FakeGemini gemini = FakeGemini.start();
    private final AdapterPool pool = new AdapterPool(gemini, GEMINI_A, GEMINI_B);

    @AfterEach
    void close() {
        pool.close();
        gemini.close();
    }

    @Test
    void geminiChatModel_aRateLimitOnTheFirstKeyIsInvisible_andTheTokensAreCommittedOnTheKeyThatServed() {
        gemini.enqueue(GEMINI_A, FakeGemini.rateLimited("20s"));
        gemini.enqueue(GEMINI_B, FakeGemini.generated("This is a test!", 6, 5));
        ChatModel model = GoogleAiGeminiChatModel.builder().httpClientBuilder(KeypoolHttpClientBuilder.on(pool.client))
                .apiKey("pooled").modelName("gemini-2.5-flash").maxRetries(0).build();

        String answer = model.chat("Say this is a test!");

        assertThat(answer).isEqualTo("This is a test!");
        assertThat(gemini.keys()).containsExactly(GEMINI_A, GEMINI_B);
        assertThat(gemini.requests()).allSatisfy(request ->
                assertThat(request.header("x-goog-api-key")).isNotEqualTo("pooled"));
        assertThat(pool.minuteTokens(Provider.GEMINI, GEMINI_B)).isEqualTo(6 + 5);
        assertThat(pool.minuteTokens(Provider.GEMINI, GEMINI_A)).isZero();
    }
}
