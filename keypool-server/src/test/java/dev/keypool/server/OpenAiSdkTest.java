package dev.keypool.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.HttpResponseFor;
import com.openai.core.http.StreamResponse;
import com.openai.helpers.ChatCompletionAccumulator;
import com.openai.models.FunctionDefinition;
import com.openai.models.FunctionParameters;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionContentPart;
import com.openai.models.chat.completions.ChatCompletionContentPartImage;
import com.openai.models.chat.completions.ChatCompletionContentPartText;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionMessage;
import com.openai.models.chat.completions.ChatCompletionMessageFunctionToolCall;
import com.openai.models.chat.completions.ChatCompletionMessageToolCall;
import com.openai.models.chat.completions.ChatCompletionTokenLogprob;
import com.openai.models.chat.completions.ChatCompletionToolMessageParam;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import com.openai.models.responses.Response;
import com.openai.models.responses.ResponseCreateParams;
import com.openai.models.responses.ResponseStreamEvent;
import dev.keypool.config.Provider;
import dev.keypool.config.SelectionStrategy;
import dev.keypool.config.WindowLimits;
import dev.keypool.providers.fake.FakeOpenAi;
import dev.keypool.providers.fake.OpenAiToolCall;
import dev.keypool.providers.fake.OpenAiUsage;
import dev.keypool.providers.fake.RecordedRequest;
import dev.keypool.providers.fake.RecordedResponse;
import dev.keypool.testing.CloseAfterEach;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The official OpenAI SDK for Java ({@code com.openai:openai-java}) as a client of the gateway, on
 * what apps do beyond plain chat: tools (plain, streamed, and the follow-up turn), an image part,
 * several choices, logprobs, embeddings, and the Responses API (plain, streamed, and a follow-up on
 * the key that stored the first answer). What the SDK hands its caller is compared with what the
 * fake OpenAI sent, and the usage committed with what it reported.
 */
class OpenAiSdkTest {

    static final List<String> KEYS = List.of("sk-proj-TEST.sdk-test-aaaaaaaaaaaa-key0", "sk-proj-TEST.sdk-test-bbbbbbbbbbbb-key1");
    static final String CALLERS_KEY = "sk-proj-TEST.callers-own-key-never-forwarded";
    static final FunctionDefinition WEATHER = FunctionDefinition.builder()
            .name("get_weather")
            .description("The current weather in a city")
            .parameters(FunctionParameters.builder()
                    .putAdditionalProperty("type", JsonValue.from("object"))
                    .putAdditionalProperty("properties", JsonValue.from(Map.of("city", Map.of("type", "string"))))
                    .putAdditionalProperty("required", JsonValue.from(List.of("city")))
                    .build())
            .build();

    @RegisterExtension
    final CloseAfterEach closing = new CloseAfterEach();
    private final FakeOpenAi openAi = closing.add(FakeOpenAi.start());
    private final TestGateway server = closing.add(TestGateway.start(TestGateway.openAiOnly(openAi)
            .addKey(Provider.OPENAI, KEYS.get(0), "gpt-4o", WindowLimits.of(100_000, 1_000_000))
            .addKey(Provider.OPENAI, KEYS.get(1), "gpt-4o", WindowLimits.of(100_000, 1_000_000))
            // Key 0 first: a request that reaches key 1 was sent there on purpose.
            .selectionStrategy(SelectionStrategy.FILL_FIRST)
            .build()));
    private final OpenAIClient client = server.openAiSdk(OpenAIOkHttpClient.builder().apiKey(CALLERS_KEY).maxRetries(0));

    private static ChatCompletionCreateParams.Builder chat(String question) {
        return ChatCompletionCreateParams.builder().model("gpt-4o").addUserMessage(question);
    }

    // ---- tools ---------------------------------------------------------------------------------------

    @Test
    void tools_plain_theClientGetsExactlyTheToolCallsOpenAiSent() {
        openAi.enqueue(FakeOpenAi.toolCalls(OpenAiToolCall.of("get_weather", "{\"city\":\"Paris\"}"),
                OpenAiToolCall.of("get_weather", "{\"city\":\"Tokyo\"}")));

        HttpResponseFor<ChatCompletion> raw = client.chat().completions().withRawResponse()
                .create(chat("Weather in Paris and Tokyo?").addFunctionTool(WEATHER).parallelToolCalls(true).build());
        ChatCompletion completion = raw.parse();

        JsonNode sent = sentChat(0).json();
        ChatCompletion.Choice choice = completion.choices().get(0);
        assertThat(choice.finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.TOOL_CALLS);
        assertThat(choice.message().content()).isEmpty();
        assertThat(calls(choice.message())).isEqualTo(calls(sent.at("/choices/0/message/tool_calls")));
        assertThat(calls(choice.message())).extracting(call -> call.get(2))
                .containsExactly("{\"city\":\"Paris\"}", "{\"city\":\"Tokyo\"}");
        assertThat(openAi.requests("/v1/chat/completions").get(0).json().at("/tools/0/function/name").asText())
                .isEqualTo("get_weather");
        Fidelity.assertNeverReached(openAi, CALLERS_KEY);
        assertCommitted(List.of(sent.path("usage")));
    }

    @Test
    void tools_streamed_theClientAccumulatesExactlyTheToolCallsOpenAiSent() {
        OpenAiToolCall paris = OpenAiToolCall.of("get_weather", "{\"city\":\"Paris\",\"unit\":\"celsius\"}");
        OpenAiToolCall tokyo = OpenAiToolCall.of("get_weather", "{\"city\":\"Tokyo\",\"unit\":\"celsius\"}");
        openAi.enqueue(FakeOpenAi.toolCalls(paris, tokyo));

        ChatCompletionAccumulator accumulator = ChatCompletionAccumulator.create();
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions()
                .createStreaming(chat("Weather in Paris and Tokyo?").addFunctionTool(WEATHER).build())) {
            stream.stream().forEach(accumulator::accumulate);
        }
        ChatCompletion completion = accumulator.chatCompletion();

        ChatCompletion.Choice choice = completion.choices().get(0);
        assertThat(choice.finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.TOOL_CALLS);
        assertThat(calls(choice.message())).containsExactly(
                List.of(paris.id(), paris.name(), paris.arguments()),
                List.of(tokyo.id(), tokyo.name(), tokyo.arguments()));
        List<JsonNode> events = Fidelity.sseData(sentChat(0).bodyText());
        assertThat(events.stream().filter(event -> event.at("/choices/0/delta/tool_calls").isArray()).count())
                .as("the arguments came in fragments, and each reached the SDK").isGreaterThan(4);
        assertCommitted(List.of(events.get(events.size() - 2).path("usage")));
    }

    @Test
    void tools_followUpTurn_assistantWithNullContentThenToolMessages_isAcceptedAndArrivesAsSent() {
        openAi.enqueue(FakeOpenAi.toolCalls(OpenAiToolCall.of("get_weather", "{\"city\":\"Paris\"}"),
                OpenAiToolCall.of("get_weather", "{\"city\":\"Tokyo\"}")));
        openAi.enqueue(FakeOpenAi.completion("Paris is sunny, Tokyo is raining.", 40, 9));
        ChatCompletionCreateParams first = chat("Weather in Paris and Tokyo?").addFunctionTool(WEATHER).build();
        ChatCompletionMessage assistant = client.chat().completions().create(first).choices().get(0).message();
        List<ChatCompletionMessageFunctionToolCall> asked = assistant.toolCalls().orElseThrow().stream()
                .map(ChatCompletionMessageToolCall::asFunction).toList();

        ChatCompletionCreateParams.Builder followUp = first.toBuilder().addMessage(assistant);
        for (ChatCompletionMessageFunctionToolCall call : asked) {
            followUp.addMessage(ChatCompletionToolMessageParam.builder().toolCallId(call.id())
                    .content(call.function().arguments().contains("Paris") ? "sunny, 24 C" : "rain, 17 C").build());
        }
        ChatCompletion answer = client.chat().completions().create(followUp.build());

        assertThat(answer.choices().get(0).message().content()).contains("Paris is sunny, Tokyo is raining.");
        JsonNode messages = openAi.requests("/v1/chat/completions").get(1).json().path("messages");
        assertThat(messages).hasSize(4);
        JsonNode turn = messages.get(1);
        assertThat(turn.path("role").asText()).isEqualTo("assistant");
        assertThat(turn.path("content").isMissingNode() || turn.path("content").isNull())
                .as("the assistant's turn has no content: %s", turn).isTrue();
        assertThat(calls(turn.path("tool_calls"))).isEqualTo(calls(sentChat(0).json().at("/choices/0/message/tool_calls")));
        assertThat(messages.get(2).path("role").asText()).isEqualTo("tool");
        assertThat(messages.get(2).path("tool_call_id").asText()).isEqualTo(asked.get(0).id());
        assertThat(messages.get(3).path("tool_call_id").asText()).isEqualTo(asked.get(1).id());
        assertCommitted(List.of(sentChat(0).json().path("usage"), sentChat(1).json().path("usage")));
    }

    // ---- content parts, choices, logprobs -------------------------------------------------------------

    @Test
    void imagePart_asADataUrl_reachesOpenAiAsSent() {
        String image = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
        openAi.enqueue(FakeOpenAi.completion("A single pixel.", 85, 4));

        ChatCompletion completion = client.chat().completions().create(ChatCompletionCreateParams.builder()
                .model("gpt-4o")
                .addUserMessageOfArrayOfContentParts(List.of(
                        ChatCompletionContentPart.ofText(ChatCompletionContentPartText.builder()
                                .text("What is in this image?").build()),
                        ChatCompletionContentPart.ofImageUrl(ChatCompletionContentPartImage.builder()
                                .imageUrl(ChatCompletionContentPartImage.ImageUrl.builder().url(image)
                                        .detail(ChatCompletionContentPartImage.ImageUrl.Detail.LOW).build())
                                .build())))
                .build());

        assertThat(completion.choices().get(0).message().content()).contains("A single pixel.");
        JsonNode parts = openAi.requests("/v1/chat/completions").get(0).json().at("/messages/0/content");
        assertThat(parts).hasSize(2);
        assertThat(parts.get(1).path("type").asText()).isEqualTo("image_url");
        assertThat(parts.get(1).at("/image_url/url").asText()).isEqualTo(image);
        assertThat(parts.get(1).at("/image_url/detail").asText()).isEqualTo("low");
        assertCommitted(List.of(sentChat(0).json().path("usage")));
    }

    @Test
    void nTwo_theClientGetsBothChoicesAndBothAreBilled() {
        openAi.enqueue(FakeOpenAi.answer("ignored").withChoices("Blue, from scattering.", "Rayleigh scattering."));

        ChatCompletion completion = client.chat().completions().create(chat("Why is the sky blue?").n(2).build());

        JsonNode sent = sentChat(0).json();
        assertThat(completion.choices()).hasSize(2);
        assertThat(completion.choices()).extracting(ChatCompletion.Choice::index).containsExactly(0L, 1L);
        assertThat(completion.choices()).extracting(choice -> choice.message().content().orElseThrow())
                .containsExactly(sent.at("/choices/0/message/content").asText(),
                        sent.at("/choices/1/message/content").asText());
        assertThat(completion.usage().orElseThrow().completionTokens())
                .isEqualTo(sent.at("/usage/completion_tokens").asLong());
        assertCommitted(List.of(sent.path("usage")));
    }

    @Test
    void logprobs_reachTheClientAsOpenAiSentThem() {
        openAi.enqueue(FakeOpenAi.completion("The sky is blue.", 12, 4));

        ChatCompletion completion = client.chat().completions().create(chat("What colour is the sky?")
                .logprobs(true).topLogprobs(2).build());

        JsonNode sent = sentChat(0).json().at("/choices/0/logprobs/content");
        List<ChatCompletionTokenLogprob> got = completion.choices().get(0).logprobs().orElseThrow().content()
                .orElseThrow();
        assertThat(got).hasSize(sent.size()).hasSize(4);
        for (int i = 0; i < got.size(); i++) {
            assertThat(got.get(i).token()).isEqualTo(sent.get(i).path("token").asText());
            assertThat(got.get(i).logprob()).isEqualTo(sent.get(i).path("logprob").asDouble());
            assertThat(got.get(i).topLogprobs()).hasSize(2);
        }
        assertCommitted(List.of(sentChat(0).json().path("usage")));
    }

    // ---- embeddings -----------------------------------------------------------------------------------

    @Test
    void embeddings_reachTheClientAndCommitTheReportedPromptTokens() {
        openAi.enqueue(FakeOpenAi.embeddings(7));

        CreateEmbeddingResponse response = client.embeddings().create(EmbeddingCreateParams.builder()
                .model("text-embedding-3-small").input("The food was delicious and the waiter was kind.").build());

        assertThat(response.data()).hasSize(1);
        assertThat(response.data().get(0).embedding()).hasSize(1536);
        assertThat(response.usage().promptTokens()).isEqualTo(7);
        JsonNode sent = openAi.responseTo(openAi.requests("/v1/embeddings").get(0)).json();
        assertThat(sent.at("/usage/prompt_tokens").asLong()).isEqualTo(7);
        assertThat(tokensUsedToday()).isEqualTo(7);
        assertThat(server.usage("openai").get("prompt_tokens").asLong()).isEqualTo(7);
        assertThat(server.gateway.manager().store().pendingCount()).isZero();
    }

    // ---- the Responses API ----------------------------------------------------------------------------

    @Test
    void responses_plain_reachTheClientAndCommitTheirUsage() {
        openAi.enqueue(FakeOpenAi.answer("Why did the chicken cross the road?")
                .withUsage(OpenAiUsage.of(21, 9).withReasoningTokens(3)));

        Response response = client.responses().create(ResponseCreateParams.builder().model("gpt-4o")
                .input("Tell me a joke").build());

        JsonNode sent = openAi.responseTo(openAi.requests("/v1/responses").get(0)).json();
        assertThat(response.id()).isEqualTo(sent.path("id").asText());
        assertThat(outputText(response)).isEqualTo("Why did the chicken cross the road?");
        assertThat(response.usage().orElseThrow().totalTokens()).isEqualTo(30);
        assertThat(openAi.ownerOfResponse(response.id())).isEqualTo(KEYS.get(0));
        assertCommittedResponses(List.of(sent.path("usage")));
    }

    @Test
    void responses_streamed_deliverEveryDeltaAndCommitTheCompletedUsage() {
        openAi.enqueue(FakeOpenAi.answer("A horse walks into a bar.").withUsage(OpenAiUsage.of(17, 6)));

        StringBuilder text = new StringBuilder();
        List<Response> completed = new ArrayList<>();
        try (StreamResponse<ResponseStreamEvent> stream = client.responses().createStreaming(
                ResponseCreateParams.builder().model("gpt-4o").input("Tell me a joke").build())) {
            stream.stream().forEach(event -> {
                if (event.isOutputTextDelta()) {
                    text.append(event.asOutputTextDelta().delta());
                } else if (event.isCompleted()) {
                    completed.add(event.asCompleted().response());
                }
            });
        }

        assertThat(text.toString()).isEqualTo("A horse walks into a bar.");
        assertThat(completed).hasSize(1);
        JsonNode done = Fidelity.sseData(openAi.responseTo(openAi.requests("/v1/responses").get(0)).bodyText())
                .stream().filter(event -> event.path("type").asText().equals("response.completed")).findFirst()
                .orElseThrow();
        assertThat(completed.get(0).id()).isEqualTo(done.at("/response/id").asText());
        assertThat(completed.get(0).usage().orElseThrow().totalTokens()).isEqualTo(23);
        assertCommittedResponses(List.of(done.at("/response/usage")));
    }

    @Test
    void responses_followUp_goesToTheKeyThatStoredThePreviousResponse() {
        server.deactivate("openai", 0);
        Response first = client.responses().create(ResponseCreateParams.builder().model("gpt-4o")
                .input("Remember the number 42.").build());
        server.activate("openai", 0);
        assertThat(openAi.ownerOfResponse(first.id())).isEqualTo(KEYS.get(1));

        HttpResponseFor<Response> followUp = client.responses().withRawResponse().create(ResponseCreateParams
                .builder().model("gpt-4o").input("Which number?").previousResponseId(first.id()).build());
        Response other = client.responses().create(ResponseCreateParams.builder().model("gpt-4o").input("Hi").build());

        assertThat(followUp.statusCode()).isEqualTo(200);
        assertThat(followUp.headers().values("x-keypool-key-index")).containsExactly("1");
        assertThat(openAi.requests("/v1/responses")).extracting(RecordedRequest::key)
                .containsExactly(KEYS.get(1), KEYS.get(1), KEYS.get(0));
        assertThat(openAi.requests("/v1/responses").get(1).json().path("previous_response_id").asText())
                .isEqualTo(first.id());
        assertThat(openAi.ownerOfResponse(other.id())).as("the pool's own choice").isEqualTo(KEYS.get(0));
        assertThat(followUp.parse().id()).isNotEqualTo(first.id());
    }

    // ---- helpers --------------------------------------------------------------------------------------

    /** What the fake sent for the {@code index}-th chat request. */
    private RecordedResponse sentChat(int index) {
        return openAi.responseTo(openAi.requests("/v1/chat/completions").get(index));
    }

    /** Each tool call as {@code [id, name, arguments]}. */
    private static List<List<String>> calls(ChatCompletionMessage message) {
        return message.toolCalls().orElseThrow().stream().map(ChatCompletionMessageToolCall::asFunction)
                .map(call -> List.of(call.id(), call.function().name(), call.function().arguments())).toList();
    }

    private static List<List<String>> calls(JsonNode toolCalls) {
        assertThat(toolCalls.isArray()).as("tool calls: %s", toolCalls).isTrue();
        List<List<String>> calls = new ArrayList<>();
        for (JsonNode call : toolCalls) {
            calls.add(List.of(call.path("id").asText(), call.at("/function/name").asText(),
                    call.at("/function/arguments").asText()));
        }
        return calls;
    }

    private static String outputText(Response response) {
        StringBuilder text = new StringBuilder();
        response.output().forEach(item -> item.message().ifPresent(message -> message.content()
                .forEach(content -> content.outputText().ifPresent(part -> text.append(part.text())))));
        return text.toString();
    }

    /** The keys' day windows and the report hold exactly these chat usages, nothing left reserved. */
    private void assertCommitted(List<JsonNode> usages) {
        long prompt = 0;
        long completion = 0;
        for (JsonNode usage : usages) {
            assertThat(usage.path("total_tokens").isNumber()).as("OpenAI reported usage: %s", usage).isTrue();
            prompt += usage.path("prompt_tokens").asLong();
            completion += usage.path("completion_tokens").asLong();
        }
        assertUsage(prompt, completion);
    }

    /** The same for Responses API usages ({@code input_tokens}, {@code output_tokens}). */
    private void assertCommittedResponses(List<JsonNode> usages) {
        long input = 0;
        long output = 0;
        for (JsonNode usage : usages) {
            assertThat(usage.path("total_tokens").isNumber()).as("OpenAI reported usage: %s", usage).isTrue();
            input += usage.path("input_tokens").asLong();
            output += usage.path("output_tokens").asLong();
        }
        assertUsage(input, output);
    }

    private void assertUsage(long prompt, long completion) {
        assertThat(tokensUsedToday()).isEqualTo(prompt + completion);
        JsonNode report = server.usage("openai");
        assertThat(report.get("prompt_tokens").asLong()).isEqualTo(prompt);
        assertThat(report.get("completion_tokens").asLong()).isEqualTo(completion);
        assertThat(server.gateway.manager().store().pendingCount()).isZero();
    }

    private long tokensUsedToday() {
        long tokens = 0;
        for (JsonNode key : server.status().at("/providers/openai/keys")) {
            tokens += key.get("tokens_used_day").asLong();
        }
        return tokens;
    }
}
