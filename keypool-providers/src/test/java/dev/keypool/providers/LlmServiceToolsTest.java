package dev.keypool.providers;

import static dev.keypool.providers.Keys.GEMINI_0;
import static dev.keypool.providers.Keys.OPENAI_0;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.config.Provider;
import dev.keypool.providers.fake.FakeGemini;
import dev.keypool.providers.fake.FakeOllama;
import dev.keypool.providers.fake.FakeOpenAi;
import dev.keypool.providers.fake.GeminiFunctionCall;
import dev.keypool.providers.fake.OllamaToolCall;
import dev.keypool.providers.fake.OpenAiToolCall;
import dev.keypool.providers.fake.RecordedRequest;
import dev.keypool.providers.internal.Json;
import dev.keypool.providers.relay.RequestRefused;
import dev.keypool.testing.CloseAfterEach;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The library's chat with tools, images, a response format and several choices, on each of the
 * three providers: the same request types whoever serves, what each provider received checked from
 * its fake, the calls back in {@link ChatResult} ready to answer.
 */
class LlmServiceToolsTest {

    static final String SCHEMA = "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}";
    static final Tool WEATHER = Tool.function("get_weather", "The current weather in a city", SCHEMA);
    static final byte[] PNG = Base64.getDecoder().decode(
            "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==");

    @RegisterExtension
    final CloseAfterEach closing = new CloseAfterEach();
    private final FakeOpenAi openai = closing.add(FakeOpenAi.start());
    private final FakeGemini gemini = closing.add(FakeGemini.start());
    private final FakeOllama ollama = closing.add(FakeOllama.start());
    private TestPool pool;

    private void start() {
        pool = closing.add(TestPool.builder().keys(openai, OPENAI_0).keys(gemini, GEMINI_0).ollama(ollama).build());
    }

    private static ChatRequest askWeather(String model) {
        return ChatRequest.builder().model(model).message(ChatMessage.user("Weather in Paris?")).tool(WEATHER).build();
    }

    private static JsonNode json(String text) {
        return Json.parseOrMissing(text);
    }

    @Test
    void toolConversation_onGemini_callsThenAnswers_withTheResultSentAsAFunctionResponse() {
        start();
        gemini.enqueue(FakeGemini.functionCalls(new GeminiFunctionCall("get_weather", "{\"city\":\"Paris\"}")),
                FakeGemini.generated("18 °C in Paris.", 30, 6));
        ChatRequest ask = askWeather("gemini-2.5-flash");

        ChatResult call = pool.llm.chat(ask);
        ToolCall weather = call.toolCalls().get(0);
        ChatResult answer = pool.llm.chat(ask.withMessages(call.message(),
                ChatMessage.toolResult(weather.id(), "{\"celsius\":18}")));

        assertThat(call.finishReason()).isEqualTo("tool_calls");
        assertThat(call.text()).isEmpty();
        assertThat(weather.name()).isEqualTo("get_weather");
        assertThat(json(weather.arguments())).isEqualTo(json("{\"city\":\"Paris\"}"));
        List<RecordedRequest> received = gemini.requests();
        assertThat(received.get(0).json().at("/tools/0/functionDeclarations/0/parametersJsonSchema"))
                .isEqualTo(json(SCHEMA));
        assertThat(received.get(1).json().at("/contents/2")).isEqualTo(json("{\"role\":\"user\",\"parts\":"
                + "[{\"functionResponse\":{\"name\":\"get_weather\",\"response\":{\"celsius\":18}}}]}"));
        assertThat(received.get(1).json().at("/contents/1/parts/0/thoughtSignature").asText()).isNotEmpty();
        assertThat(answer.text()).isEqualTo("18 °C in Paris.");
        assertThat(answer.provider()).isEqualTo(Provider.GEMINI);
    }

    @Test
    void toolConversation_onOllama_streamed_assemblesTheCallIntoTheResult() {
        start();
        ollama.enqueue(FakeOllama.toolCalls(30, 12, new OllamaToolCall("get_weather", "{\"city\":\"Paris\"}")),
                FakeOllama.chat("18 °C in Paris.", 60, 5));
        ChatRequest ask = askWeather("llama3.2");
        List<String> deltas = new ArrayList<>();

        ChatResult call = pool.llm.stream(ask, deltas::add);
        ToolCall weather = call.toolCalls().get(0);
        ChatResult answer = pool.llm.stream(ask.withMessages(call.message(),
                ChatMessage.toolResult(weather.id(), "18 °C")), deltas::add);

        assertThat(call.finishReason()).isEqualTo("tool_calls");
        assertThat(weather.id()).startsWith("call_");
        assertThat(json(weather.arguments())).isEqualTo(json("{\"city\":\"Paris\"}"));
        JsonNode second = ollama.requests("/api/chat").get(1).json();
        assertThat(second.at("/messages/1/tool_calls/0/id").asText()).isEqualTo(weather.id());
        assertThat(second.at("/messages/2")).isEqualTo(json("{\"role\":\"tool\",\"content\":\"18 °C\","
                + "\"tool_name\":\"get_weather\",\"tool_call_id\":\"" + weather.id() + "\"}"));
        assertThat(answer.text()).isEqualTo("18 °C in Paris.");
        assertThat(String.join("", deltas)).isEqualTo("18 °C in Paris.");
    }

    @Test
    void onOpenAi_theSameRequestGoesInOpenAisShape_andTheCallsComeBack() {
        start();
        openai.enqueue(FakeOpenAi.toolCalls(OpenAiToolCall.of("get_weather", "{\"city\":\"Paris\"}")));
        ChatRequest ask = ChatRequest.builder().model("gpt-4o")
                .message(ChatMessage.user(ContentPart.text("What is it?"), ContentPart.image("image/png", PNG)))
                .tool(new Tool("get_weather", null, SCHEMA, true)).toolChoice(ToolChoice.function("get_weather"))
                .responseFormat(ResponseFormat.json()).n(2).build();

        ChatResult result = pool.llm.chat(ask);

        JsonNode sent = openai.requests("/v1/chat/completions").get(0).json();
        assertThat(sent.path("messages")).isEqualTo(json("[{\"role\":\"user\",\"content\":[{\"type\":\"text\","
                + "\"text\":\"What is it?\"},{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,"
                + Base64.getEncoder().encodeToString(PNG) + "\"}}]}]"));
        assertThat(sent.path("tools")).isEqualTo(json("[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
                + "\"parameters\":" + SCHEMA + ",\"strict\":true}}]"));
        assertThat(sent.path("tool_choice")).isEqualTo(json("{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}}"));
        assertThat(sent.path("response_format")).isEqualTo(json("{\"type\":\"json_object\"}"));
        assertThat(sent.path("n").asInt()).isEqualTo(2);
        assertThat(result.toolCalls()).extracting(ToolCall::name).containsExactly("get_weather");
        assertThat(result.toolCalls().get(0).id()).startsWith("call_");
    }

    @Test
    void imageJsonSchemaAndTwoChoices_onGemini() {
        start();
        gemini.enqueue(FakeGemini.answer("{\"city\":\"Paris\"}"));
        ChatRequest ask = ChatRequest.builder().model("gemini-2.5-flash")
                .message(ChatMessage.user(ContentPart.text("Where is this?"), ContentPart.image("image/png", PNG)))
                .responseFormat(ResponseFormat.jsonSchema("place", SCHEMA)).n(2).build();

        ChatResult result = pool.llm.chat(ask);

        JsonNode sent = gemini.requests().get(0).json();
        assertThat(sent.at("/contents/0/parts/1")).isEqualTo(json("{\"inlineData\":{\"mimeType\":\"image/png\","
                + "\"data\":\"" + Base64.getEncoder().encodeToString(PNG) + "\"}}"));
        assertThat(sent.path("generationConfig")).isEqualTo(json("{\"candidateCount\":2,\"responseMimeType\":"
                + "\"application/json\",\"responseJsonSchema\":" + SCHEMA + "}"));
        assertThat(result.choices()).extracting(ChatResult.Choice::index).containsExactly(0, 1);
        assertThat(result.choices()).allSatisfy(choice -> assertThat(json(choice.text()))
                .isEqualTo(json("{\"city\":\"Paris\"}")));
    }

    @Test
    void whatOllamaCannotCarry_isRefusedBeforeAnyCall() {
        start();

        assertThatThrownBy(() -> pool.llm.chat(ChatRequest.builder().model("llama3.2")
                .message(ChatMessage.user("Hi")).n(2).build()))
                .isInstanceOfSatisfying(RequestRefused.class, refused -> {
                    assertThat(refused.param()).isEqualTo("n");
                    assertThat(refused.code()).isEqualTo("unsupported_parameter");
                });
        assertThatThrownBy(() -> pool.llm.chat(ChatRequest.builder().model("gemini-2.5-flash")
                .message(ChatMessage.user(ContentPart.imageUrl("https://example.com/cat.png"))).build()))
                .isInstanceOfSatisfying(RequestRefused.class, refused ->
                        assertThat(refused.param()).isEqualTo("messages[0].content[0]"));
        assertThat(ollama.requests("/api/chat")).isEmpty();
        assertThat(gemini.requests()).isEmpty();
    }

    @Test
    void twoChoices_streamedFromGemini_areEachAssembled_theListenerHearingTheFirst() {
        start();
        gemini.enqueue(FakeGemini.streamed(List.of("Sunny", " and warm"), 8, 2, 0));
        List<String> deltas = new ArrayList<>();

        ChatResult result = pool.llm.stream(ChatRequest.builder().model("gemini-2.5-flash")
                .message(ChatMessage.user("Weather?")).n(2).build(), deltas::add);

        assertThat(result.choices()).extracting(ChatResult.Choice::text).containsExactly("Sunny and warm", "Sunny and warm");
        assertThat(result.choices()).extracting(ChatResult.Choice::finishReason).containsExactly("stop", "stop");
        assertThat(deltas).containsExactly("Sunny", " and warm");
    }

    @Test
    void reasoningEffort_onAProviderRouteOfEachKeysModel_isCheckedForTheKeysModel_beforeAnyCall() {
        pool = closing.add(TestPool.builder().key(gemini, GEMINI_0, "gemini-2.0-flash", 100_000, 1_000_000).build());

        assertThatThrownBy(() -> pool.llm.chat(ChatRequest.builder().model("gemini").message(ChatMessage.user("Hi"))
                .extra("reasoning_effort", "low").build()))
                .isInstanceOfSatisfying(RequestRefused.class, refused -> {
                    assertThat(refused.param()).isEqualTo("reasoning_effort");
                    assertThat(refused.getMessage()).contains("gemini-2.0-flash");
                });
        assertThat(gemini.requests()).isEmpty();
    }

    @Test
    void generateText_staysTheSeedsCall() {
        start();
        gemini.enqueue(FakeGemini.generated("Hello!", 3, 2));

        ChatResult result = pool.llm.generateText("Say hello", "gemini", null, 0.5, 20);

        assertThat(result.text()).isEqualTo("Hello!");
        assertThat(result.toolCalls()).isEmpty();
        assertThat(result.choices()).singleElement().extracting(ChatResult.Choice::text).isEqualTo("Hello!");
        assertThat(gemini.requests().get(0).json()).isEqualTo(json("{\"contents\":[{\"role\":\"user\",\"parts\":"
                + "[{\"text\":\"Say hello\"}]}],\"generationConfig\":{\"temperature\":0.5,\"maxOutputTokens\":20}}"));
    }

    @Test
    void types_refuseWhatCannotBeSent_namingIt() {
        assertThatThrownBy(() -> new ChatMessage("tool", "x")).hasMessageContaining("toolResult");
        assertThatThrownBy(() -> new ChatMessage("system", List.of(ContentPart.image("image/png", PNG)), List.of(), null))
                .hasMessageContaining("only a user message holds images");
        assertThatThrownBy(() -> new ChatMessage("user", List.of(ContentPart.text("hi")),
                List.of(new ToolCall("call_1", "f", "{}")), null)).hasMessageContaining("only an assistant");
        assertThatThrownBy(() -> new Tool("get weather", null, null, false)).hasMessageContaining("name");
        assertThatThrownBy(() -> Tool.function("f", null, "[1]")).hasMessageContaining("JSON Schema object");
        assertThatThrownBy(() -> ContentPart.image("text/plain", PNG)).hasMessageContaining("image/*");
        assertThatThrownBy(() -> ContentPart.imageUrl("file:///etc/passwd")).hasMessageContaining("http(s)");
        assertThatThrownBy(() -> ChatRequest.builder().message(ChatMessage.user("hi")).toolChoice(ToolChoice.REQUIRED)
                .build()).hasMessageContaining("tool_choice");
        assertThatThrownBy(() -> ChatRequest.builder().message(ChatMessage.user("hi")).tool(WEATHER)
                .toolChoice(ToolChoice.function("other")).build()).hasMessageContaining("other");
        assertThatThrownBy(() -> ChatRequest.builder().message(ChatMessage.user("hi")).n(0).build())
                .hasMessageContaining("n must");
        assertThatThrownBy(() -> ResponseFormat.jsonSchema("a b", SCHEMA)).hasMessageContaining("name");
        byte[] bytes = PNG.clone();
        ContentPart.Image image = ContentPart.image("image/png", bytes);
        bytes[0] = 0;
        assertThat(image.data()[0]).isEqualTo(PNG[0]);
        assertThat(image).isEqualTo(ContentPart.image("image/png", PNG));
    }
}
