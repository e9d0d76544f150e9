package dev.keypool.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.event.KeyEvent;
import dev.keypool.providers.fake.FakeGemini;
import dev.keypool.providers.fake.FakeOllama;
import dev.keypool.providers.fake.FakeOpenAi;
import dev.keypool.testing.CloseAfterEach;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What Gemini or Ollama cannot carry is refused: a 400 in OpenAI's shape with
 * {@code code: "unsupported_parameter"} and {@code param} naming it, before any provider is called
 * and before anything is reserved. With {@code KEYPOOL_DROP_UNSUPPORTED_PARAMS=true} a request
 * parameter is left out instead and named in {@code x-keypool-dropped-params}; a part of the
 * conversation never is.
 */
class UnsupportedParametersTest {

    static final String GEMINI_KEY = "AIzaSyUnsupportedParams-0000000000000";
    static final String ASK = "{\"role\":\"user\",\"content\":\"Weather in Paris?\"}";
    static final String TOOL = "{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"parameters\":"
            + "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}}}";
    static final String IMAGE = "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,iVBORw0KGgo=\"}}";

    @RegisterExtension
    final CloseAfterEach closing = new CloseAfterEach();
    private final FakeOpenAi openAi = closing.add(FakeOpenAi.start());
    private final FakeGemini gemini = closing.add(FakeGemini.start());
    private final FakeOllama ollama = closing.add(FakeOllama.start());
    private final List<KeyEvent> events = new CopyOnWriteArrayList<>();
    private TestGateway server;

    private void start(boolean drop) {
        KeypoolConfig.Builder config = TestGateway.openAiGeminiAndOllama(
                openAi, "sk-proj-TEST.unsupported-params-aaaa-key0", gemini, GEMINI_KEY, ollama);
        if (drop) {
            config.setting("KEYPOOL_DROP_UNSUPPORTED_PARAMS", "true");
        }
        server = closing.add(TestGateway.start(config.build()));
        server.gateway.manager().events().addListener(events::add);
    }

    private HttpResponse<String> chat(String model, String messages, String more) {
        return server.postJson("/v1/chat/completions", "{\"model\":\"" + model + "\",\"messages\":[" + messages + "]"
                + (more.isEmpty() ? "" : "," + more) + "}");
    }

    static Stream<Arguments> refused() {
        String gemini = "gemini-2.5-flash";
        String ollama = "llama3.2";
        return Stream.of(
                // what only OpenAI has, on either
                Arguments.of(gemini, ASK, "\"logit_bias\":{\"50256\":-100}", "logit_bias"),
                Arguments.of(ollama, ASK, "\"logit_bias\":{\"50256\":-100}", "logit_bias"),
                Arguments.of(gemini, ASK, "\"user\":\"user-1234\"", "user"),
                Arguments.of(gemini, ASK, "\"safety_identifier\":\"s-1234\"", "safety_identifier"),
                Arguments.of(gemini, ASK, "\"store\":true", "store"),
                Arguments.of(gemini, ASK, "\"metadata\":{\"team\":\"a\"}", "metadata"),
                Arguments.of(gemini, ASK, "\"prompt_cache_key\":\"k\"", "prompt_cache_key"),
                Arguments.of(gemini, ASK, "\"prompt_cache_retention\":\"24h\"", "prompt_cache_retention"),
                Arguments.of(gemini, ASK, "\"prediction\":{\"type\":\"content\",\"content\":\"x\"}", "prediction"),
                Arguments.of(gemini, ASK, "\"audio\":{\"voice\":\"alloy\",\"format\":\"wav\"}", "audio"),
                Arguments.of(gemini, ASK, "\"modalities\":[\"text\",\"audio\"]", "modalities"),
                Arguments.of(gemini, ASK, "\"web_search_options\":{}", "web_search_options"),
                Arguments.of(gemini, ASK, "\"verbosity\":\"low\"", "verbosity"),
                Arguments.of(ollama, ASK, "\"service_tier\":\"flex\"", "service_tier"),
                Arguments.of(gemini, ASK, "\"functions\":[{\"name\":\"f\"}]", "functions"),
                Arguments.of(gemini, ASK, "\"function_call\":\"auto\"", "function_call"),
                Arguments.of(gemini, ASK, "\"tools\":[" + TOOL + "],\"parallel_tool_calls\":false", "parallel_tool_calls"),
                Arguments.of(gemini, ASK, "\"stream\":true,\"stream_options\":{\"include_obfuscation\":true}",
                        "stream_options.include_obfuscation"),
                Arguments.of(gemini, ASK, "\"tools\":[{\"type\":\"custom\",\"custom\":{\"name\":\"grammar\"}}]", "tools[0]"),
                Arguments.of(gemini, ASK, "\"reasoning_effort\":\"xhigh\"", "reasoning_effort"),
                Arguments.of(gemini, "{\"role\":\"user\",\"name\":\"ada\",\"content\":\"Hi\"}", "", "messages[0].name"),
                // what the conversation holds that cannot cross
                Arguments.of(gemini, "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"What is it?\"},"
                        + "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://example.com/cat.png\"}}]}", "",
                        "messages[0].content[1]"),
                Arguments.of(gemini, "{\"role\":\"user\",\"content\":[{\"type\":\"file\",\"file\":{\"file_id\":"
                        + "\"file-abc123\"}}]}", "", "messages[0].content[0].file.file_id"),
                Arguments.of(gemini, ASK + ",{\"role\":\"function\",\"name\":\"f\",\"content\":\"{}\"}", "",
                        "messages[1].role"),
                // what Ollama lacks that Gemini has
                Arguments.of(ollama, ASK, "\"n\":2", "n"),
                Arguments.of(ollama, ASK, "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
                        + "\"strict\":true,\"parameters\":{\"type\":\"object\"}}}]", "tools[0].function.strict"),
                Arguments.of(ollama, ASK, "\"tools\":[" + TOOL + "],\"tool_choice\":\"required\"", "tool_choice"),
                Arguments.of(ollama, "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Transcribe\"},"
                        + "{\"type\":\"input_audio\",\"input_audio\":{\"data\":\"UklGRg==\",\"format\":\"wav\"}}]}", "",
                        "messages[0].content[1]"),
                Arguments.of(ollama, "{\"role\":\"user\",\"content\":[{\"type\":\"file\",\"file\":{\"file_data\":"
                        + "\"data:application/pdf;base64,JVBERi0=\"}}]}", "", "messages[0].content[0]"),
                Arguments.of("gemma3", "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"What is it?\"},"
                        + "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,iVBORw0KGgo=\","
                        + "\"detail\":\"high\"}}]}", "", "messages[0].content[1].image_url.detail"),
                // what the model itself cannot do, by its /api/show capabilities
                Arguments.of("gemma3", ASK, "\"tools\":[" + TOOL + "]", "tools"),
                Arguments.of(ollama, "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"What is it?\"},"
                        + IMAGE + "]}", "", "messages[0].content[1]"));
    }

    @ParameterizedTest(name = "{0} {3}")
    @MethodSource("refused")
    void parameterWithoutCounterpart_is400NamingIt_beforeAnyCall_andNothingIsReserved(String model, String messages,
            String more, String param) {
        start(false);

        HttpResponse<String> response = chat(model, messages, more);

        assertThat(response.statusCode()).as(response.body()).isEqualTo(400);
        JsonNode error = TestGateway.json(response).path("error");
        assertThat(error.path("param").asText()).isEqualTo(param);
        assertThat(error.path("code").asText()).isEqualTo("unsupported_parameter");
        assertThat(error.path("type").asText()).isEqualTo("invalid_request_error");
        assertThat(error.path("message").asText()).contains(model.startsWith("gemini") ? "Gemini" : "Ollama");
        assertThat(gemini.requests()).isEmpty();
        assertThat(ollama.requests("/api/chat")).isEmpty();
        assertThat(openAi.requests()).isEmpty();
        assertThat(events).noneMatch(KeyEvent.KeyAcquired.class::isInstance);
    }

    @Test
    void dropOptedIn_leavesOutWhatHasNoCounterpart_andNamesEachInTheHeader() {
        start(true);
        gemini.enqueue(FakeGemini.generated("Sunny.", 8, 2));

        HttpResponse<String> response = chat("gemini-2.5-flash", ASK, "\"logit_bias\":{\"50256\":-100},\"user\":\"u-1\","
                + "\"temperature\":0.5");

        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        assertThat(response.headers().firstValue("x-keypool-dropped-params")).hasValue("logit_bias, user");
        assertThat(TestGateway.json(response).at("/choices/0/message/content").asText()).isEqualTo("Sunny.");
        assertThat(gemini.requests().get(0).json()).isEqualTo(TestGateway.json("{\"contents\":[{\"role\":\"user\","
                + "\"parts\":[{\"text\":\"Weather in Paris?\"}]}],\"generationConfig\":{\"temperature\":0.5}}"));
    }

    @Test
    void dropOptedIn_onOllama_leavesOutTheSecondChoiceAndStrictness_butSendsTheTools() {
        start(true);
        ollama.enqueue(FakeOllama.chat("Sunny.", 8, 2));

        HttpResponse<String> response = chat("llama3.2", ASK, "\"n\":2,\"tools\":[{\"type\":\"function\",\"function\":"
                + "{\"name\":\"get_weather\",\"strict\":true,\"parameters\":{\"type\":\"object\"}}}],\"stream\":false");

        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        assertThat(response.headers().firstValue("x-keypool-dropped-params")).hasValue("tools[0].function.strict, n");
        assertThat(ollama.requests("/api/chat").get(0).json().path("tools")).isEqualTo(TestGateway.json(
                "[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"parameters\":{\"type\":\"object\"}}}]"));
        assertThat(TestGateway.json(response).path("choices")).hasSize(1);
    }

    @Test
    void dropOptedIn_stillRefusesWhatTheConversationHolds_andWhatTheModelCannotDo() {
        start(true);

        HttpResponse<String> remoteImage = chat("gemini-2.5-flash", "{\"role\":\"user\",\"content\":[{\"type\":"
                + "\"image_url\",\"image_url\":{\"url\":\"https://example.com/cat.png\"}}]}", "");
        HttpResponse<String> toolsToAModelWithout = chat("gemma3", ASK, "\"tools\":[" + TOOL + "]");

        assertThat(remoteImage.statusCode()).isEqualTo(400);
        assertThat(TestGateway.json(remoteImage).at("/error/param").asText()).isEqualTo("messages[0].content[0]");
        assertThat(TestGateway.json(remoteImage).at("/error/message").asText()).contains("server-side request forgery");
        assertThat(toolsToAModelWithout.statusCode()).isEqualTo(400);
        assertThat(TestGateway.json(toolsToAModelWithout).at("/error/param").asText()).isEqualTo("tools");
        assertThat(gemini.requests()).isEmpty();
        assertThat(ollama.requests("/api/chat")).isEmpty();
    }

    @Test
    void assistantMessageAsOpenAiAnswered_withItsEmptyAnnotationsAndNullRefusal_crossesToGemini() {
        start(false);
        gemini.enqueue(FakeGemini.generated("18 °C.", 20, 3));

        HttpResponse<String> response = chat("gemini-2.5-flash", ASK + ",{\"role\":\"assistant\",\"content\":null,"
                + "\"refusal\":null,\"annotations\":[],\"audio\":null,\"function_call\":null,\"tool_calls\":[{\"id\":"
                + "\"call_Xy12\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":"
                + "\"{\\\"city\\\":\\\"Paris\\\"}\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"call_Xy12\","
                + "\"content\":\"18\"}", "\"tools\":[" + TOOL + "]");

        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        assertThat(gemini.requests().get(0).json().at("/contents/2/parts/0/functionResponse")).isEqualTo(
                TestGateway.json("{\"name\":\"get_weather\",\"response\":{\"output\":\"18\"}}"));
    }

    @Test
    void refusal_saysTheOperatorMayDropIt_whenItIsAParameter() {
        start(false);

        HttpResponse<String> response = chat("gemini-2.5-flash", ASK, "\"user\":\"u-1\"");

        assertThat(TestGateway.json(response).at("/error/message").asText())
                .contains("KEYPOOL_DROP_UNSUPPORTED_PARAMS=true drops it instead");
    }
}
