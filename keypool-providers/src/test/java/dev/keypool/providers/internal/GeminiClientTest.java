package dev.keypool.providers.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.failure.FailureKind;
import dev.keypool.failure.UpstreamException;
import dev.keypool.providers.ChatMessage;
import dev.keypool.providers.fake.FakeGemini;
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

class GeminiClientTest {

    private static final String KEY = "AIzaSyA-gemini-test-key-000000000001";

    private final FakeGemini fake = FakeGemini.start();
    private final ClientTestSupport support = new ClientTestSupport();
    private final GeminiClient client = new GeminiClient(support.upstream, fake.baseUrl(), ManualClock.atNoonish());

    @AfterEach
    void close() {
        fake.close();
        support.close();
    }

    @Test
    void complete_sendsTheKeyInTheHeader_notTheUrl_andTranslatesTheConversation() {
        UpstreamCall call = new UpstreamCall(KEY, "gemini-2.5-flash", List.of(ChatMessage.system("You are terse."),
                ChatMessage.user("Hello"), ChatMessage.assistant("Hi! How can I help?"), ChatMessage.user("Explain AI.")),
                0.7, 256, Map.of("top_p", 0.95, "stop", "\n\n"), support.observed::add);

        client.complete(call);

        RecordedRequest request = fake.requests().get(0);
        assertThat(request.path()).isEqualTo("/v1beta/models/gemini-2.5-flash:generateContent");
        assertThat(request.header("x-goog-api-key")).isEqualTo(KEY);
        assertThat(request.query()).isNull();
        JsonNode body = request.json();
        assertThat(body.path("contents")).hasSize(3);
        assertThat(body.path("contents").get(1).path("role").asText()).isEqualTo("model");
        assertThat(body.path("contents").get(2).path("parts").get(0).path("text").asText()).isEqualTo("Explain AI.");
        assertThat(body.path("systemInstruction").path("parts").get(0).path("text").asText()).isEqualTo("You are terse.");
        JsonNode config = body.path("generationConfig");
        assertThat(config.path("maxOutputTokens").asInt()).isEqualTo(256);
        assertThat(config.path("temperature").asDouble()).isEqualTo(0.7);
        assertThat(config.path("topP").asDouble()).isEqualTo(0.95);
        assertThat(config.path("stopSequences").get(0).asText()).isEqualTo("\n\n");
    }

    @Test
    void complete_chargesThinkingTokens_asPartOfTheCompletion() {
        fake.enqueue(FakeGemini.generated("I apologize for that!", 12, 87, 156));

        Completion completion = client.complete(call());

        assertThat(completion.text()).isEqualTo("I apologize for that!");
        assertThat(completion.usage()).isEqualTo(TokenUsage.of(12, 87 + 156));
        assertThat(completion.usage().totalTokens()).isEqualTo(255);
        assertThat(completion.finishReason()).isEqualTo("stop");
        assertThat(completion.model()).isEqualTo("gemini-2.5-flash");
        assertThat(completion.id()).hasSize(23);
    }

    @Test
    void complete_blockedPrompt_isAnEmptyAnswerFilteredForContent() {
        fake.enqueue(FakeGemini.blockedPrompt());

        Completion completion = client.complete(call());

        assertThat(completion.text()).isEmpty();
        assertThat(completion.finishReason()).isEqualTo("content_filter");
    }

    @Test
    void stream_readsCrlfFramedEvents_andTakesTheLastCumulativeUsage() {
        fake.enqueue(FakeGemini.streamed(List.of("As of July", " 2026,", " yes."), 21, 43, 481));
        List<String> deltas = new ArrayList<>();

        Completion completion = client.stream(call(), deltas::add);

        assertThat(fake.requests().get(0).path()).endsWith(":streamGenerateContent");
        assertThat(fake.requests().get(0).queryParam("alt")).isEqualTo("sse");
        assertThat(deltas).containsExactly("As of July", " 2026,", " yes.");
        assertThat(completion.usage()).isEqualTo(TokenUsage.of(21, 43 + 481));
        assertThat(completion.finishReason()).isEqualTo("stop");
    }

    @Test
    void perMinuteResourceExhausted_coolsForTheRetryDelay() {
        UpstreamException failure = completeFailing(FakeGemini.rateLimited("20s"));

        assertThat(failure.kind()).isEqualTo(FailureKind.RATE_LIMITED);
        assertThat(failure.status()).isEqualTo(429);
        assertThat(failure.failure().retryAfter()).isEqualTo(Duration.ofSeconds(20));
    }

    @Test
    void perDayResourceExhausted_exhaustsTheKey_despiteItsShortRetryDelay() {
        UpstreamException failure = completeFailing(FakeGemini.dailyQuotaExhausted());

        assertThat(failure.kind()).isEqualTo(FailureKind.QUOTA_EXHAUSTED);
    }

    @Test
    void apiKeyInvalid_isAnInvalidKey_althoughItIsA400() {
        UpstreamException failure = completeFailing(FakeGemini.apiKeyInvalid());

        assertThat(failure.kind()).isEqualTo(FailureKind.INVALID_KEY);
        assertThat(failure.status()).isEqualTo(400);
        assertThat(failure.getMessage()).isEqualTo("API key not valid. Please pass a valid API key.");
    }

    @Test
    void permissionDenied_isAnInvalidKey() {
        assertThat(completeFailing(FakeGemini.keyLeaked()).kind()).isEqualTo(FailureKind.INVALID_KEY);
    }

    @Test
    void unavailableAndInternal_areServerErrors() {
        assertThat(completeFailing(FakeGemini.overloaded()).kind()).isEqualTo(FailureKind.SERVER_ERROR);
        assertThat(completeFailing(FakeGemini.internalError()).kind()).isEqualTo(FailureKind.SERVER_ERROR);
    }

    @Test
    void notFoundAndOtherInvalidArguments_goBackToTheCaller() {
        UpstreamException notFound = completeFailing(FakeGemini.modelNotFound());
        assertThat(notFound.kind()).isEqualTo(FailureKind.CLIENT_ERROR);
        assertThat(notFound.status()).isEqualTo(404);
        assertThat(notFound.getMessage()).startsWith("models/gemini-2.5-flash is not found for API version v1beta");

        UpstreamException invalid = completeFailing(FakeGemini.invalidArgument("Budget 0 is invalid. This model only works in thinking mode."));
        assertThat(invalid.kind()).isEqualTo(FailureKind.CLIENT_ERROR);
    }

    @Test
    void stream_failingBeforeItStarts_readsThePrettyPrintedErrorBody() {
        fake.enqueue(FakeGemini.rateLimited("0.2s"));

        UpstreamException failure = catchThrowableOfType(UpstreamException.class, () -> client.stream(call(), delta -> { }));

        assertThat(failure.kind()).isEqualTo(FailureKind.RATE_LIMITED);
        assertThat(failure.failure().retryAfter()).isEqualTo(Duration.ofMillis(200));
    }

    @Test
    void stream_droppedMidway_failsAfterTheDeltasItDelivered() {
        Gate delivered = new Gate();
        fake.enqueue(FakeGemini.streamThenDrop(delivered, "As of", " July"));
        List<String> deltas = new ArrayList<>();

        UpstreamException failure = catchThrowableOfType(UpstreamException.class, () -> client.stream(call(), delta -> {
            deltas.add(delta);
            if (deltas.size() == 2) {
                delivered.open();
            }
        }));

        assertThat(deltas).containsExactly("As of", " July");
        assertThat(failure.kind()).isEqualTo(FailureKind.SERVER_ERROR);
    }

    private UpstreamCall call() {
        return support.call(KEY, "gemini-2.5-flash", 256, Map.of());
    }

    private UpstreamException completeFailing(Reply reply) {
        fake.enqueue(reply);
        return catchThrowableOfType(UpstreamException.class, () -> client.complete(call()));
    }
}
