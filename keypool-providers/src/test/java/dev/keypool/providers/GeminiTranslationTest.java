package dev.keypool.providers;

import static dev.keypool.providers.Keys.GEMINI_0;
import static dev.keypool.providers.Keys.GEMINI_1;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.config.Provider;
import dev.keypool.failure.FailureKind;
import dev.keypool.failure.UpstreamException;
import dev.keypool.providers.fake.FakeGemini;
import dev.keypool.providers.fake.Gate;
import dev.keypool.providers.fake.RecordedRequest;
import dev.keypool.rotation.TokenUsage;
import dev.keypool.usage.KeyStatus;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * OpenAI's chat carried to Gemini by {@link dev.keypool.providers.gemini.GeminiChatTranslator},
 * end to end against the fake: what Gemini receives, and the OpenAI-shaped answer the caller reads.
 * These are the cases of the deleted {@code GeminiClientTest}.
 */
class GeminiTranslationTest {

    private final FakeGemini gemini = FakeGemini.start();
    private final TestPool pool = TestPool.builder().keys(gemini, GEMINI_0, GEMINI_1).build();

    @AfterEach
    void close() {
        pool.close();
        gemini.close();
    }

    private static ChatRequest ask() {
        return new ChatRequest("gemini-2.5-flash", List.of(ChatMessage.system("You are terse."),
                ChatMessage.user("Say this is a test!")), 0.7, 256, Map.of());
    }

    @Test
    void chat_sendsTheKeyInTheHeader_notTheUrl_andTranslatesTheConversation() {

        pool.llm.chat(new ChatRequest("gemini-2.5-flash", List.of(ChatMessage.system("You are terse."),
                ChatMessage.user("Hello"), ChatMessage.assistant("Hi! How can I help?"), ChatMessage.user("Explain AI.")),
                0.7, 256, Map.of("top_p", 0.95, "stop", "\n\n")));

        RecordedRequest request = gemini.requests().get(0);
        assertThat(request.path()).isEqualTo("/v1beta/models/gemini-2.5-flash:generateContent");
        assertThat(request.header("x-goog-api-key")).isEqualTo(GEMINI_0);
        assertThat(request.query()).isNull();
        JsonNode body = request.json();
        assertThat(body.path("contents")).hasSize(3);
        assertThat(body.path("contents").get(0).path("role").asText()).isEqualTo("user");
        assertThat(body.path("contents").get(1).path("role").asText()).isEqualTo("model");
        assertThat(body.path("contents").get(1).path("parts").get(0).path("text").asText()).isEqualTo("Hi! How can I help?");
        assertThat(body.path("contents").get(2).path("parts").get(0).path("text").asText()).isEqualTo("Explain AI.");
        assertThat(body.path("systemInstruction").path("parts").get(0).path("text").asText()).isEqualTo("You are terse.");
        JsonNode config = body.path("generationConfig");
        assertThat(config.path("maxOutputTokens").asInt()).isEqualTo(256);
        assertThat(config.path("temperature").asDouble()).isEqualTo(0.7);
        assertThat(config.path("topP").asDouble()).isEqualTo(0.95);
        assertThat(config.path("stopSequences").get(0).asText()).isEqualTo("\n\n");
    }

    @Test
    void chat_withoutACap_sendsNone() {

        pool.llm.chat(ChatRequest.of("Say this is a test!").withModel("gemini-2.5-flash"));

        assertThat(gemini.requests().get(0).json().path("generationConfig").has("maxOutputTokens")).isFalse();
    }

    @Test
    void chat_chargesThinkingTokens_asPartOfTheCompletion() {
        gemini.enqueue(FakeGemini.generated("I apologize for that!", 12, 87, 156));

        ChatResult result = pool.llm.chat(ask());

        assertThat(result.text()).isEqualTo("I apologize for that!");
        assertThat(result.usage()).isEqualTo(TokenUsage.of(12, 87 + 156));
        assertThat(result.usage().totalTokens()).isEqualTo(255);
        assertThat(result.finishReason()).isEqualTo("stop");
        assertThat(result.model()).isEqualTo("gemini-2.5-flash");
        assertThat(result.id()).as("Gemini's responseId").hasSize(23);
        assertThat(pool.status(Provider.GEMINI, 0).minuteTokens()).isEqualTo(255);
    }

    @Test
    void chat_blockedPrompt_isAnEmptyAnswerFilteredForContent() {
        gemini.enqueue(FakeGemini.blockedPrompt());

        ChatResult result = pool.llm.chat(ask());

        assertThat(result.text()).isEmpty();
        assertThat(result.finishReason()).isEqualTo("content_filter");
    }

    @Test
    void stream_readsCrlfFramedEvents_andTakesTheLastCumulativeUsage() {
        gemini.enqueue(FakeGemini.streamed(List.of("As of July", " 2026,", " yes."), 21, 43, 481));
        List<String> deltas = new ArrayList<>();

        ChatResult result = pool.llm.stream(ask(), deltas::add);

        assertThat(gemini.requests().get(0).path()).endsWith(":streamGenerateContent");
        assertThat(gemini.requests().get(0).queryParam("alt")).isEqualTo("sse");
        assertThat(gemini.requests().get(0).queryParam("key")).isNull();
        assertThat(deltas).containsExactly("As of July", " 2026,", " yes.");
        assertThat(result.usage()).isEqualTo(TokenUsage.of(21, 43 + 481));
        assertThat(result.finishReason()).isEqualTo("stop");
    }

    @Test
    void stream_failingBeforeItStarts_coolsTheKeyForTheRetryDelay_andTheNextKeyServes() {
        gemini.enqueue(GEMINI_0, FakeGemini.rateLimited("0.2s"));

        ChatResult result = pool.llm.stream(ask(), delta -> { });

        assertThat(result.keyIndex()).isEqualTo(1);
        assertThat(result.attempts()).singleElement().extracting(Attempt::kind).isEqualTo(FailureKind.RATE_LIMITED);
        assertThat(pool.status(Provider.GEMINI, 0).status()).isEqualTo(KeyStatus.COOLING_DOWN);
        assertThat(pool.status(Provider.GEMINI, 0).availableAtMillis()).isEqualTo(pool.clock.millis() + 200);
    }

    @Test
    void perDayQuotaAndInvalidKey_deactivateTheKey() {
        gemini.enqueue(GEMINI_0, FakeGemini.dailyQuotaExhausted());
        gemini.enqueue(GEMINI_1, FakeGemini.apiKeyInvalid());

        catchThrowableOfType(dev.keypool.rotation.NoAvailableKeyException.class, () -> pool.llm.chat(ask()));

        assertThat(pool.status(Provider.GEMINI, 0).status()).isEqualTo(KeyStatus.DEACTIVATED);
        assertThat(pool.status(Provider.GEMINI, 0).failureKind()).isEqualTo(FailureKind.QUOTA_EXHAUSTED);
        assertThat(pool.status(Provider.GEMINI, 1).status()).isEqualTo(KeyStatus.DEACTIVATED);
        assertThat(pool.status(Provider.GEMINI, 1).failureKind()).isEqualTo(FailureKind.INVALID_KEY);
    }

    @Test
    void stream_droppedMidway_failsAfterTheDeltasItDelivered() {
        Gate delivered = new Gate();
        gemini.enqueue(FakeGemini.streamThenDrop(delivered, "As of", " July"));
        List<String> deltas = new ArrayList<>();

        UpstreamException failure = catchThrowableOfType(UpstreamException.class, () -> pool.llm.stream(ask(), delta -> {
            deltas.add(delta);
            if (deltas.size() == 2) {
                delivered.open();
            }
        }));

        assertThat(deltas).containsExactly("As of", " July");
        assertThat(failure.kind()).isEqualTo(FailureKind.SERVER_ERROR);
        assertThat(gemini.keys()).containsExactly(GEMINI_0);
    }
}
