package dev.keypool.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.HttpResponseFor;
import com.openai.core.http.StreamResponse;
import com.openai.errors.RateLimitException;
import com.openai.helpers.ChatCompletionAccumulator;
import com.openai.models.ResponseFormatJsonSchema;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionContentPart;
import com.openai.models.chat.completions.ChatCompletionContentPartImage;
import com.openai.models.chat.completions.ChatCompletionContentPartText;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionMessageFunctionToolCall;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.chat.completions.ChatCompletionToolMessageParam;
import com.openai.models.completions.CompletionUsage;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.event.KeyEvent;
import dev.keypool.providers.fake.FakeGemini;
import dev.keypool.providers.fake.FakeOllama;
import dev.keypool.providers.fake.FakeOpenAi;
import dev.keypool.providers.fake.GeminiFunctionCall;
import dev.keypool.providers.fake.OllamaToolCall;
import dev.keypool.providers.fake.OpenAiToolCall;
import dev.keypool.providers.fake.RecordedRequest;
import dev.keypool.providers.internal.Json;
import dev.keypool.testing.CloseAfterEach;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * An OpenAI chat, through the official OpenAI SDK for Java, served by Gemini and by Ollama in
 * translation: a tool conversation over two turns, plain and streamed, an image, a JSON schema,
 * several choices, and failover that respects what each route can carry. What the providers
 * received is checked from the fakes' own logs, exactly; what the client got, from the SDK's types.
 */
class CrossProviderTranslationTest {

    static final String OPENAI_KEY = "sk-proj-TEST.translation-aaaaaaaa-key0";
    static final String GEMINI_KEY = "AIzaSyTranslationTest-000000000000000";
    static final String PARAMETERS = "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},"
            + "\"required\":[\"city\"]}";
    static final String RESULT = "{\"temperature_c\":18,\"sky\":\"sunny\"}";
    /** A 1×1 PNG. */
    static final String PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

    @RegisterExtension
    final CloseAfterEach closing = new CloseAfterEach();
    private final FakeOpenAi openAi = closing.add(FakeOpenAi.start());
    private final FakeGemini gemini = closing.add(FakeGemini.start());
    private final FakeOllama ollama = closing.add(FakeOllama.start());
    private final List<KeyEvent> events = new CopyOnWriteArrayList<>();
    private TestGateway server;
    private OpenAIClient client;

    private void start(Consumer<KeypoolConfig.Builder> more) {
        KeypoolConfig.Builder config = TestGateway.openAiGeminiAndOllama(openAi, OPENAI_KEY, gemini, GEMINI_KEY, ollama);
        more.accept(config);
        server = closing.add(TestGateway.start(config.build()));
        server.gateway.manager().events().addListener(events::add);
        client = server.openAiSdk(OpenAIOkHttpClient.builder().apiKey("sk-proj-TEST.callers-own-key").maxRetries(0));
    }

    private void start() {
        start(config -> { });
    }

    private static ChatCompletionCreateParams askWeather(String model) {
        return ChatCompletionCreateParams.builder().model(model).addUserMessage("Weather in Paris?")
                .addFunctionTool(OpenAiSdkTest.WEATHER).build();
    }

    /** Gemini calls get_weather for Paris, then, given the result, says {@code answer}. */
    private void geminiCallsTheWeatherTool_thenSays(String answer, int completionTokens) {
        gemini.enqueue(FakeGemini.functionCalls(new GeminiFunctionCall("get_weather", "{\"city\":\"Paris\"}")),
                FakeGemini.generated(answer, 40, completionTokens));
    }

    /** Ollama calls get_weather for Paris, then, given the result, says it is sunny there. */
    private void ollamaCallsTheWeatherTool_thenSaysItIsSunny() {
        ollama.enqueue(FakeOllama.toolCalls(30, 12, new OllamaToolCall("get_weather", "{\"city\":\"Paris\"}")),
                FakeOllama.chat("18 °C and sunny in Paris.", 60, 9));
    }

    /** Both turns of the weather conversation on {@code model}, unstreamed: the tool call, then the answer to its result. */
    private Turns weatherConversation(String model) {
        ChatCompletionCreateParams first = askWeather(model);
        ChatCompletion call = client.chat().completions().create(first);
        return new Turns(call, client.chat().completions().create(withResult(first, call)));
    }

    private record Turns(ChatCompletion call, ChatCompletion answer) {
    }

    /** The second turn: the first, the assistant's call as the client got it, and the tool's result. */
    private static ChatCompletionCreateParams withResult(ChatCompletionCreateParams first, ChatCompletion answer) {
        String id = answer.choices().get(0).message().toolCalls().orElseThrow().get(0).asFunction().id();
        return first.toBuilder().addMessage(answer.choices().get(0).message())
                .addMessage(ChatCompletionToolMessageParam.builder().toolCallId(id).content(RESULT).build())
                .build();
    }

    private static ChatCompletion streamed(OpenAIClient client, ChatCompletionCreateParams params,
            List<ChatCompletionChunk> chunks) {
        ChatCompletionAccumulator accumulator = ChatCompletionAccumulator.create();
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(params)) {
            stream.stream().forEach(chunk -> {
                chunks.add(chunk);
                accumulator.accumulate(chunk);
            });
        }
        return accumulator.chatCompletion();
    }

    private static JsonNode json(String text) {
        return TestGateway.json(text);
    }

    private static ChatCompletionMessageFunctionToolCall onlyCall(ChatCompletion completion) {
        List<?> calls = completion.choices().get(0).message().toolCalls().orElseThrow();
        assertThat(calls).hasSize(1);
        return completion.choices().get(0).message().toolCalls().orElseThrow().get(0).asFunction();
    }

    /** The thought signature the fake Gemini put on its first call, from what it sent. */
    private String signatureGeminiSent(RecordedRequest request) {
        String body = gemini.responseTo(request).bodyText();
        if (body.startsWith("data: ")) {
            String[] events = body.split("\r\n\r\n");
            body = events[events.length - 1].substring("data: ".length());
        }
        return json(body).at("/candidates/0/content/parts/0/thoughtSignature").asText();
    }

    // ---- a tool conversation on Gemini -------------------------------------------------------------

    @Test
    void toolConversation_onGemini_declaresTheFunction_returnsItsCall_andCarriesTheResultBack() {
        start();
        geminiCallsTheWeatherTool_thenSays("18 °C and sunny in Paris.", 9);

        Turns turns = weatherConversation("gemini-2.5-flash");
        ChatCompletion call = turns.call();
        ChatCompletion answer = turns.answer();

        List<RecordedRequest> received = gemini.requests();
        assertThat(received).hasSize(2);
        JsonNode asked = received.get(0).json();
        assertThat(asked.path("tools")).isEqualTo(json("[{\"functionDeclarations\":[{\"name\":\"get_weather\","
                + "\"description\":\"The current weather in a city\",\"parametersJsonSchema\":" + PARAMETERS + "}]}]"));
        assertThat(asked.has("toolConfig")).isFalse();
        String signature = signatureGeminiSent(received.get(0));
        ChatCompletionMessageFunctionToolCall toolCall = onlyCall(call);
        assertThat(call.choices().get(0).finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.TOOL_CALLS);
        assertThat(call.choices().get(0).message().content()).isEmpty();
        assertThat(toolCall.function().name()).isEqualTo("get_weather");
        assertThat(json(toolCall.function().arguments())).isEqualTo(json("{\"city\":\"Paris\"}"));
        assertThat(toolCall.id()).matches("call_kp[0-9a-f]{22}__thought__.+").endsWith("__thought__" + signature);

        assertThat(received.get(1).json().path("contents")).isEqualTo(json("[{\"role\":\"user\",\"parts\":"
                + "[{\"text\":\"Weather in Paris?\"}]},{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"name\":"
                + "\"get_weather\",\"args\":{\"city\":\"Paris\"}},\"thoughtSignature\":\"" + signature + "\"}]},"
                + "{\"role\":\"user\",\"parts\":[{\"functionResponse\":{\"name\":\"get_weather\",\"response\":"
                + RESULT + "}}]}]"));
        assertThat(answer.choices().get(0).message().content()).contains("18 °C and sunny in Paris.");
        assertThat(answer.choices().get(0).finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.STOP);
        assertThat(received).allMatch(request -> request.key().equals(GEMINI_KEY));
        assertThat(openAi.requests()).isEmpty();
    }

    @Test
    void toolConversation_onGemini_streamed_sendsTheCallAsAToolCallDelta_andTheSdkAssemblesIt() {
        start();
        geminiCallsTheWeatherTool_thenSays("18 °C and sunny in Paris.", 9);
        ChatCompletionCreateParams first = askWeather("gemini-2.5-flash").toBuilder()
                .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build();
        List<ChatCompletionChunk> chunks = new ArrayList<>();

        ChatCompletion call = streamed(client, first, chunks);
        ChatCompletion answer = streamed(client, withResult(first, call), new ArrayList<>());

        List<RecordedRequest> received = gemini.requests();
        assertThat(received.get(0).path()).endsWith(":streamGenerateContent");
        assertThat(received.get(0).queryParam("alt")).isEqualTo("sse");
        String signature = signatureGeminiSent(received.get(0));
        ChatCompletionMessageFunctionToolCall toolCall = onlyCall(call);
        assertThat(toolCall.id()).endsWith("__thought__" + signature);
        assertThat(json(toolCall.function().arguments())).isEqualTo(json("{\"city\":\"Paris\"}"));
        assertThat(call.choices().get(0).finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.TOOL_CALLS);
        ChatCompletionChunk.Choice.Delta.ToolCall delta = chunks.stream()
                .flatMap(chunk -> chunk.choices().stream())
                .flatMap(choice -> choice.delta().toolCalls().orElse(List.of()).stream())
                .findFirst().orElseThrow();
        assertThat(delta.index()).isZero();
        assertThat(delta.id()).contains(toolCall.id());
        assertThat(delta.function().orElseThrow().name()).contains("get_weather");
        CompletionUsage usage = chunks.get(chunks.size() - 1).usage().orElseThrow();
        assertThat(usage.totalTokens()).isEqualTo(20);

        assertThat(received.get(1).json().at("/contents/1/parts/0")).isEqualTo(json("{\"functionCall\":{\"name\":"
                + "\"get_weather\",\"args\":{\"city\":\"Paris\"}},\"thoughtSignature\":\"" + signature + "\"}"));
        assertThat(received.get(1).json().at("/contents/2")).isEqualTo(json("{\"role\":\"user\",\"parts\":"
                + "[{\"functionResponse\":{\"name\":\"get_weather\",\"response\":" + RESULT + "}}]}"));
        assertThat(answer.choices().get(0).message().content()).contains("18 °C and sunny in Paris.");
    }

    @Test
    void toolCallOnGemini3_comesBackWithItsSignature_whichGemini3Requires() {
        start();
        geminiCallsTheWeatherTool_thenSays("Sunny.", 2);

        ChatCompletion answer = weatherConversation("gemini-3-flash-preview").answer();

        // the fake refuses a Gemini 3 call sent back without its signature, as Google does
        assertThat(gemini.responses()).extracting(response -> response.status()).containsExactly(200, 200);
        assertThat(answer.choices().get(0).message().content()).contains("Sunny.");
    }

    @Test
    void conversationBegunOnOpenAi_continuesOnGemini_whenOpenAiFails_itsCallsAndResultsTranslated() {
        start(config -> config.fallback("gpt-4o", "gemini-2.5-flash"));
        openAi.enqueue(FakeOpenAi.toolCalls(OpenAiToolCall.of("get_weather", "{\"city\":\"Paris\"}")));
        ChatCompletionCreateParams first = askWeather("gpt-4o");
        ChatCompletion call = client.chat().completions().create(first);
        openAi.replyByDefault(FakeOpenAi.rateLimitedTokens("20s"));
        gemini.enqueue(FakeGemini.generated("18 °C and sunny in Paris.", 40, 9));

        HttpResponseFor<ChatCompletion> raw = client.chat().completions().withRawResponse()
                .create(withResult(first, call));

        // the call OpenAI made keeps its name and arguments; its id (call_…) is OpenAI's, not given to Gemini
        assertThat(raw.headers().values("x-keypool-provider")).containsExactly("gemini");
        assertThat(raw.parse().choices().get(0).message().content()).contains("18 °C and sunny in Paris.");
        assertThat(gemini.requests().get(0).json().path("contents")).isEqualTo(json("[{\"role\":\"user\",\"parts\":"
                + "[{\"text\":\"Weather in Paris?\"}]},{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"name\":"
                + "\"get_weather\",\"args\":{\"city\":\"Paris\"}}}]},{\"role\":\"user\",\"parts\":[{\"functionResponse\":"
                + "{\"name\":\"get_weather\",\"response\":" + RESULT + "}}]}]"));
    }

    // ---- a tool conversation on Ollama -------------------------------------------------------------

    @Test
    void toolConversation_onOllama_passesTheTools_returnsTheCallWithOllamasId_andTheToolMessageBack() {
        start();
        ollamaCallsTheWeatherTool_thenSaysItIsSunny();

        Turns turns = weatherConversation("llama3.2");
        ChatCompletion call = turns.call();
        ChatCompletion answer = turns.answer();

        List<RecordedRequest> received = ollama.requests("/api/chat");
        assertThat(received).hasSize(2);
        assertThat(received.get(0).json().path("tools")).isEqualTo(json("[{\"type\":\"function\",\"function\":"
                + "{\"name\":\"get_weather\",\"description\":\"The current weather in a city\",\"parameters\":"
                + PARAMETERS + "}}]"));
        String ollamasId = ollama.responseTo(received.get(0)).json().at("/message/tool_calls/0/id").asText();
        ChatCompletionMessageFunctionToolCall toolCall = onlyCall(call);
        assertThat(toolCall.id()).isEqualTo(ollamasId).startsWith("call_");
        assertThat(json(toolCall.function().arguments())).isEqualTo(json("{\"city\":\"Paris\"}"));
        assertThat(call.choices().get(0).finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.TOOL_CALLS);

        assertThat(received.get(1).json().path("messages")).isEqualTo(json("[{\"role\":\"user\",\"content\":"
                + "\"Weather in Paris?\"},{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"id\":\""
                + ollamasId + "\",\"function\":{\"index\":0,\"name\":\"get_weather\",\"arguments\":{\"city\":"
                + "\"Paris\"}}}]},{\"role\":\"tool\",\"content\":" + quote(RESULT) + ",\"tool_name\":\"get_weather\","
                + "\"tool_call_id\":\"" + ollamasId + "\"}]"));
        assertThat(answer.choices().get(0).message().content()).contains("18 °C and sunny in Paris.");
        assertThat(answer.usage().orElseThrow().totalTokens()).isEqualTo(69);
    }

    @Test
    void toolConversation_onOllama_streamed_sendsTheCallAsAToolCallDelta() {
        start();
        ollamaCallsTheWeatherTool_thenSaysItIsSunny();
        ChatCompletionCreateParams first = askWeather("llama3.2");
        List<ChatCompletionChunk> chunks = new ArrayList<>();

        ChatCompletion call = streamed(client, first, chunks);
        ChatCompletion answer = streamed(client, withResult(first, call), new ArrayList<>());

        List<RecordedRequest> received = ollama.requests("/api/chat");
        assertThat(received.get(0).json().path("stream").asBoolean()).isTrue();
        String ollamasId = json(ollama.responseTo(received.get(0)).bodyText().split("\n")[0]).at("/message/tool_calls/0/id")
                .asText();
        assertThat(onlyCall(call).id()).isEqualTo(ollamasId);
        assertThat(call.choices().get(0).finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.TOOL_CALLS);
        assertThat(chunks.stream().flatMap(chunk -> chunk.choices().stream())
                .filter(choice -> choice.delta().toolCalls().isPresent())).hasSize(1);
        assertThat(received.get(1).json().at("/messages/2/tool_call_id").asText()).isEqualTo(ollamasId);
        assertThat(received.get(1).json().at("/messages/2/tool_name").asText()).isEqualTo("get_weather");
        assertThat(answer.choices().get(0).message().content()).contains("18 °C and sunny in Paris.");
    }

    // ---- images, schemas, choices ------------------------------------------------------------------

    private static ChatCompletionCreateParams withImage(String model) {
        return ChatCompletionCreateParams.builder().model(model).addUserMessageOfArrayOfContentParts(List.of(
                ChatCompletionContentPart.ofText(ChatCompletionContentPartText.builder().text("What is it?").build()),
                ChatCompletionContentPart.ofImageUrl(ChatCompletionContentPartImage.builder()
                        .imageUrl(ChatCompletionContentPartImage.ImageUrl.builder()
                                .url("data:image/png;base64," + PNG).build()).build())))
                .build();
    }

    @Test
    void imagePart_goesInlineToGemini_andAsBase64ToOllama() {
        start();
        gemini.enqueue(FakeGemini.generated("A white pixel.", 270, 4));
        ollama.setCapabilities("llama3.2", "completion", "tools", "vision");
        ollama.enqueue(FakeOllama.chat("A white pixel.", 270, 4));

        ChatCompletion onGemini = client.chat().completions().create(withImage("gemini-2.5-flash"));
        ChatCompletion onOllama = client.chat().completions().create(withImage("llama3.2"));

        assertThat(gemini.requests().get(0).json().path("contents")).isEqualTo(json("[{\"role\":\"user\",\"parts\":"
                + "[{\"text\":\"What is it?\"},{\"inlineData\":{\"mimeType\":\"image/png\",\"data\":\"" + PNG + "\"}}]}]"));
        assertThat(ollama.requests("/api/chat").get(0).json().path("messages")).isEqualTo(json("[{\"role\":\"user\","
                + "\"content\":\"What is it?\",\"images\":[\"" + PNG + "\"]}]"));
        assertThat(onGemini.choices().get(0).message().content()).contains("A white pixel.");
        assertThat(onOllama.choices().get(0).message().content()).contains("A white pixel.");
    }

    @Test
    void jsonSchema_isGeminisResponseJsonSchema_andOllamasFormat() {
        start();
        String schema = "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"},\"celsius\":"
                + "{\"type\":\"number\"}},\"required\":[\"city\",\"celsius\"],\"additionalProperties\":false}";
        String answer = "{\"city\":\"Paris\",\"celsius\":18}";
        gemini.enqueue(FakeGemini.streamed(List.of(answer), 20, 9, 0));
        ollama.enqueue(FakeOllama.streamed(List.of(answer), 20, 9));
        ResponseFormatJsonSchema format = ResponseFormatJsonSchema.builder().jsonSchema(
                ResponseFormatJsonSchema.JsonSchema.builder().name("weather").strict(true)
                        .schema(ResponseFormatJsonSchema.JsonSchema.Schema.builder()
                                .putAllAdditionalProperties(properties(schema)).build()).build()).build();

        ChatCompletion onGemini = client.chat().completions().create(ChatCompletionCreateParams.builder()
                .model("gemini-2.5-flash").addUserMessage("Weather in Paris?").responseFormat(format).build());
        ChatCompletion onOllama = client.chat().completions().create(ChatCompletionCreateParams.builder()
                .model("llama3.2").addUserMessage("Weather in Paris?").responseFormat(format).build());

        assertThat(gemini.requests().get(0).json().path("generationConfig")).isEqualTo(json(
                "{\"responseMimeType\":\"application/json\",\"responseJsonSchema\":" + schema + "}"));
        assertThat(ollama.requests("/api/chat").get(0).json().path("format")).isEqualTo(json(schema));
        assertThat(json(onGemini.choices().get(0).message().content().orElseThrow())).isEqualTo(json(answer));
        assertThat(json(onOllama.choices().get(0).message().content().orElseThrow())).isEqualTo(json(answer));
    }

    private static Map<String, JsonValue> properties(String object) {
        Map<String, JsonValue> properties = new LinkedHashMap<>();
        json(object).properties().forEach(field -> properties.put(field.getKey(),
                JsonValue.from(new com.fasterxml.jackson.databind.ObjectMapper().convertValue(field.getValue(), Object.class))));
        return properties;
    }

    @Test
    void twoChoices_onGemini_areTwoCandidates_eachAChoice() {
        start();
        gemini.enqueue(FakeGemini.answer("Sunny and warm"));

        HttpResponseFor<ChatCompletion> raw = client.chat().completions().withRawResponse().create(
                ChatCompletionCreateParams.builder().model("gemini-2.5-flash").addUserMessage("Weather in Paris?").n(2)
                        .build());
        ChatCompletion completion = raw.parse();

        assertThat(gemini.requests().get(0).json().at("/generationConfig/candidateCount").asInt()).isEqualTo(2);
        assertThat(completion.choices()).extracting(ChatCompletion.Choice::index).containsExactly(0L, 1L);
        assertThat(completion.choices()).allSatisfy(choice ->
                assertThat(choice.message().content()).contains("Sunny and warm"));
        assertThat(completion.usage().orElseThrow().completionTokens()).isEqualTo(6);
        assertThat(raw.headers().values("x-keypool-provider")).containsExactly("gemini");
    }

    // ---- failover that respects what each route can carry ------------------------------------------

    @Test
    void openAiRateLimited_toolsFallBackToGemini_andTheCallsArriveFromGemini() {
        start(config -> config.fallback("gpt-4o", "gemini-2.5-flash"));
        openAi.replyByDefault(FakeOpenAi.rateLimitedTokens("20s"));
        gemini.enqueue(FakeGemini.functionCalls(new GeminiFunctionCall("get_weather", "{\"city\":\"Paris\"}")));

        HttpResponseFor<ChatCompletion> raw = client.chat().completions().withRawResponse().create(askWeather("gpt-4o"));
        ChatCompletion completion = raw.parse();

        assertThat(openAi.requests("/v1/chat/completions")).hasSize(1);
        assertThat(gemini.requests().get(0).json().at("/tools/0/functionDeclarations/0/name").asText())
                .isEqualTo("get_weather");
        assertThat(onlyCall(completion).function().name()).isEqualTo("get_weather");
        assertThat(completion.choices().get(0).finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.TOOL_CALLS);
        assertThat(raw.headers().values("x-keypool-provider")).containsExactly("gemini");
        assertThat(raw.headers().values("x-keypool-failover")).singleElement().asString().contains("openai/0 rate_limited");
    }

    @Test
    void fallbackModelWithoutToolSupport_isSkipped_theNextServes_andTheHeaderSaysWhy() {
        start(config -> config.fallback("gpt-4o", "gemma3").fallback("gemma3", "gemini-2.5-flash"));
        openAi.replyByDefault(FakeOpenAi.rateLimitedTokens("20s"));
        gemini.enqueue(FakeGemini.functionCalls(new GeminiFunctionCall("get_weather", "{\"city\":\"Paris\"}")));

        HttpResponseFor<ChatCompletion> raw = client.chat().completions().withRawResponse().create(askWeather("gpt-4o"));

        assertThat(onlyCall(raw.parse()).function().name()).isEqualTo("get_weather");
        assertThat(raw.headers().values("x-keypool-provider")).containsExactly("gemini");
        assertThat(raw.headers().values("x-keypool-failover")).singleElement().asString()
                .contains("openai/0 rate_limited")
                .contains("ollama gemma3 skipped: gemma3 on Ollama does not support tools (its capabilities: completion, vision)");
        assertThat(ollama.requests("/api/chat")).isEmpty();
    }

    @Test
    void onlyFallbackCannotCarryTheTools_theFirstRoutesOwnErrorIsTheAnswer() {
        start(config -> config.fallback("gpt-4o", "gemma3"));
        openAi.replyByDefault(FakeOpenAi.rateLimitedTokens("20s"));

        RateLimitException refused = catchThrowableOfType(RateLimitException.class,
                () -> client.chat().completions().create(askWeather("gpt-4o")));

        assertThat(refused.statusCode()).isEqualTo(429);
        assertThat(refused.headers().values("retry-after")).isNotEmpty();
        assertThat(ollama.requests("/api/chat")).isEmpty();
    }

    /** {@code text} as a JSON string literal. */
    private static String quote(String text) {
        return Json.nodes().textNode(text).toString();
    }
}
