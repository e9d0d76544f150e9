package dev.keypool.providers;

import static dev.keypool.providers.Keys.OPENAI_0;
import static dev.keypool.providers.Keys.OPENAI_1;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.config.Provider;
import dev.keypool.event.KeyEvent;
import dev.keypool.failure.FailureKind;
import dev.keypool.failure.UpstreamException;
import dev.keypool.providers.fake.FakeOpenAi;
import dev.keypool.providers.fake.RecordedRequest;
import dev.keypool.providers.fake.Reply;
import dev.keypool.providers.internal.TricklingReply;
import dev.keypool.rotation.TokenUsage;
import dev.keypool.testing.CloseAfterEach;
import dev.keypool.usage.KeyStatus;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The OpenAI path of the relay, end to end against the fake: what OpenAI receives (from the fake's
 * own log) and what the caller gets back. These are the cases the deleted {@code OpenAiClientTest}
 * covered that only a whole call can show.
 */
class OpenAiRelayTest {

    /** "Say this is a test!" in gpt-4o's chat framing. */
    private static final long PROMPT = 13;

    @RegisterExtension
    final CloseAfterEach closing = new CloseAfterEach();
    private final FakeOpenAi openai = closing.add(FakeOpenAi.start());
    private TestPool pool;

    private TestPool pool(String... settings) {
        pool = closing.add(TestPool.builder().keys(openai, OPENAI_0, OPENAI_1)
                .configure(config -> config.openAiOrgId("org-keypool"))
                .settings(settings).build());
        return pool;
    }

    @Test
    void chat_sendsThePooledBearerKeyTheOrganizationAndTheRequestAsWritten() {
        pool();

        pool.llm.chat(new ChatRequest("gpt-4o", List.of(ChatMessage.system("You are terse."),
                ChatMessage.user("Say this is a test!")), 0.7, 64, Map.of("top_p", 0.9, "stop", List.of("\n\n"))));

        RecordedRequest request = openai.requests().get(0);
        assertThat(request.key()).isEqualTo(OPENAI_0);
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
    void chat_keepsTheCapFieldAndValueTheCallerChose_andReservesIt() {
        pool();
        List<KeyEvent> events = new CopyOnWriteArrayList<>();
        pool.manager.events().addListener(events::add);

        pool.llm.chat(new ChatRequest("gpt-4o", List.of(ChatMessage.user("Say this is a test!")), null, null,
                Map.of("max_completion_tokens", 9999, "model", "ignored")));

        JsonNode body = openai.requests().get(0).json();
        assertThat(body.path("max_completion_tokens").asInt()).isEqualTo(9999);
        assertThat(body.has("max_tokens")).isFalse();
        assertThat(body.path("model").asText()).isEqualTo("gpt-4o");
        assertThat(events).filteredOn(KeyEvent.KeyAcquired.class::isInstance)
                .extracting(event -> ((KeyEvent.KeyAcquired) event).tokens()).containsExactly(PROMPT + 9999);
    }

    @Test
    void chat_readsIdModelTextFinishAndUsage_skippingEverythingElse() {
        pool();
        openai.enqueue(Reply.json(200, """
                {"id":"chatcmpl-9","object":"chat.completion","created":1,"model":"gpt-4o-2024-08-06",
                 "choices":[{"index":0,"message":{"role":"assistant","content":"Hi","refusal":null,
                   "annotations":[{"type":"url_citation","url_citation":{"end_index":1}}]},
                   "logprobs":{"content":[{"token":"Hi","bytes":[72,105]}]},"finish_reason":"stop"},
                  {"index":1,"message":{"role":"assistant","content":"Second"},"finish_reason":"length"}],
                 "usage":{"prompt_tokens":19,"completion_tokens":2.0,"total_tokens":21,
                   "prompt_tokens_details":{"cached_tokens":0}},"service_tier":"default"}"""));

        ChatResult result = pool.llm.chat(ChatRequest.of("Say this is a test!").withModel("gpt-4o"));

        assertThat(result.id()).isEqualTo("chatcmpl-9");
        assertThat(result.model()).isEqualTo("gpt-4o-2024-08-06");
        assertThat(result.text()).isEqualTo("Hi");
        assertThat(result.finishReason()).isEqualTo("stop");
        assertThat(result.usage()).isEqualTo(TokenUsage.of(19, 2));
        assertThat(pool.status(Provider.OPENAI, 0).minuteTokens()).isEqualTo(21);
    }

    @Test
    void chat_aToolCallAnswer_hasNoText_andSaysWhyItStopped() {
        pool();
        openai.enqueue(Reply.json(200, """
                {"id":"chatcmpl-1","choices":[{"message":{"role":"assistant","content":null,
                 "tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]},
                 "finish_reason":"tool_calls"}],"usage":{"prompt_tokens":20,"completion_tokens":9,"total_tokens":29}}"""));

        ChatResult result = pool.llm.chat(ChatRequest.of("Say this is a test!").withModel("gpt-4o"));

        assertThat(result.text()).isEmpty();
        assertThat(result.finishReason()).isEqualTo("tool_calls");
        assertThat(result.model()).as("the answer named none: the model it was sent for").isEqualTo("gpt-4o");
    }

    @Test
    void stream_asksForTheUsageChunk_andDeliversTheDeltasInOrder() {
        pool();
        openai.enqueue(FakeOpenAi.streamed(List.of("This is", " a test!"), 13, 5));
        List<String> deltas = new ArrayList<>();

        ChatResult result = pool.llm.stream(ChatRequest.of("Say this is a test!").withModel("gpt-4o-mini"), deltas::add);

        JsonNode body = openai.requests().get(0).json();
        assertThat(body.path("stream").asBoolean()).isTrue();
        assertThat(body.path("stream_options").path("include_usage").asBoolean()).isTrue();
        assertThat(deltas).containsExactly("This is", " a test!");
        assertThat(result.text()).isEqualTo("This is a test!");
        assertThat(result.usage()).isEqualTo(TokenUsage.of(13, 5));
        assertThat(result.finishReason()).isEqualTo("stop");
    }

    @Test
    void stream_failingBeforeItStarts_isClassifiedFromTheErrorBody_andTheNextKeyServes() {
        pool();
        openai.enqueue(OPENAI_0, FakeOpenAi.rateLimitedTokens("2s"));

        ChatResult result = pool.llm.stream(ChatRequest.of("Say this is a test!").withModel("gpt-4o"), delta -> { });

        assertThat(result.keyIndex()).isEqualTo(1);
        assertThat(result.attempts()).singleElement().extracting(Attempt::kind).isEqualTo(FailureKind.RATE_LIMITED);
        assertThat(pool.status(Provider.OPENAI, 0).status()).isEqualTo(KeyStatus.COOLING_DOWN);
        assertThat(pool.status(Provider.OPENAI, 0).availableAtMillis()).isEqualTo(pool.clock.millis() + 2_000);
    }

    @Test
    void stream_anErrorEvent_failsTheCall_withTheProvidersMessage() {
        pool();
        openai.enqueue(FakeOpenAi.streamThenError(List.of("This"),
                "The server had an error while processing your request."));

        UpstreamException failure = catchThrowableOfType(UpstreamException.class,
                () -> pool.llm.stream(ChatRequest.of("Say this is a test!").withModel("gpt-4o"), delta -> { }));

        assertThat(failure.kind()).isEqualTo(FailureKind.SERVER_ERROR);
        assertThat(failure.getMessage()).isEqualTo("The server had an error while processing your request.");
    }

    @Test
    void aBodyTricklingPastTheUpstreamTimeout_failsOverToTheNextKey() {
        pool("KEYPOOL_UPSTREAM_TIMEOUT_SECONDS", "1");
        openai.enqueue(OPENAI_0, TricklingReply.completion());

        ChatResult result = pool.llm.chat(ChatRequest.of("Say this is a test!").withModel("gpt-4o"));

        assertThat(result.keyIndex()).isEqualTo(1);
        assertThat(result.attempts()).singleElement().satisfies(attempt -> {
            assertThat(attempt.kind()).isEqualTo(FailureKind.SERVER_ERROR);
            assertThat(attempt.message()).contains("timed out");
        });
    }

    @Test
    void callsInARow_reuseOneKeptAliveConnection_aRefusedRequestIncluded() {
        pool();
        openai.enqueue(FakeOpenAi.completion("one", 1, 1), FakeOpenAi.completion("two", 1, 1),
                FakeOpenAi.badRequest("Invalid value for 'temperature'.", "temperature", "invalid_value"),
                FakeOpenAi.completion("four", 1, 1));
        ChatRequest ask = ChatRequest.of("Say this is a test!").withModel("gpt-4o");

        pool.llm.chat(ask);
        pool.llm.chat(ask);
        assertThat(catchThrowableOfType(UpstreamException.class, () -> pool.llm.chat(ask)).kind())
                .isEqualTo(FailureKind.CLIENT_ERROR);
        pool.llm.chat(ask);

        assertThat(openai.requests()).hasSize(4).extracting(RecordedRequest::clientPort)
                .containsOnly(openai.requests().get(0).clientPort());
    }
}
