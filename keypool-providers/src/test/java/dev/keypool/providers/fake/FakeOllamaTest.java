package dev.keypool.providers.fake;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.providers.internal.Json;
import dev.keypool.testing.ManualClock;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** FakeOllama answers Ollama's native API as {@code ollama serve} does. */
class FakeOllamaTest {

    private static final String CHAT = "{\"model\":\"llama3.2\",\"messages\":[{\"role\":\"user\",\"content\":\"Weather in Tokyo?\"}]";

    private final ManualClock clock = ManualClock.atNoonish();
    private final FakeOllama fake = FakeOllama.start();

    FakeOllamaTest() {
        fake.setClock(clock);
    }

    @AfterEach
    void close() {
        fake.close();
    }

    private HttpResponse<String> post(String path, String body) {
        return Http.post(fake.baseUrl() + path, body);
    }

    @Test
    void chat_toolCalls_carryIdIndexNameAndArgumentsAsAnObject_plainAndStreamed() {
        OllamaToolCall weather = new OllamaToolCall("get_weather", "{\"city\":\"Tokyo\"}");
        fake.enqueue(FakeOllama.toolCalls(169, 15, weather), FakeOllama.toolCalls(169, 15, weather));

        JsonNode plain = Http.json(post("/api/chat", CHAT + ",\"stream\":false,\"tools\":[]}"));
        String[] lines = post("/api/chat", CHAT + ",\"tools\":[]}").body().split("\n");

        JsonNode call = plain.path("message").path("tool_calls").get(0);
        assertThat(call.path("id").asText()).matches("call_[a-z0-9]{8}");
        assertThat(call.path("function").path("index").asInt()).isZero();
        assertThat(call.path("function").path("name").asText()).isEqualTo("get_weather");
        assertThat(call.path("function").path("arguments").path("city").asText()).isEqualTo("Tokyo");
        assertThat(plain.path("message").path("content").asText()).isEmpty();
        assertThat(plain.path("done").asBoolean()).isTrue();
        assertThat(plain.path("eval_count").asInt()).isEqualTo(15);
        assertThat(lines).hasSize(2);
        assertThat(Json.parseOrMissing(lines[0]).path("message").path("tool_calls")).hasSize(1);
        assertThat(Json.parseOrMissing(lines[0]).path("done").asBoolean()).isFalse();
        JsonNode last = Json.parseOrMissing(lines[1]);
        assertThat(last.path("done_reason").asText()).isEqualTo("stop");
        assertThat(last.path("prompt_eval_count").asInt()).isEqualTo(169);
        assertThat(last.path("total_duration").isNumber() && last.path("eval_duration").isNumber()).isTrue();
    }

    @Test
    void chat_createdAt_comesFromTheFakesClock() {
        JsonNode plain = Http.json(post("/api/chat", CHAT + ",\"stream\":false}"));

        assertThat(plain.path("created_at").asText()).isEqualTo("2026-01-15T10:00:00Z");
    }

    @Test
    void generate_answersResponse_andTheFinalLineHasContextAndCounts() {
        String generate = "{\"model\":\"llama3.2\",\"prompt\":\"Why is the sky blue?\"";
        JsonNode plain = Http.json(post("/api/generate", generate + ",\"stream\":false}"));
        HttpResponse<String> stream = post("/api/generate", generate + "}");

        assertThat(plain.path("response").asText()).isEqualTo("This is a test!");
        assertThat(plain.path("context").isArray()).isTrue();
        assertThat(plain.has("message")).isFalse();
        String[] lines = stream.body().split("\n");
        assertThat(stream.headers().firstValue("content-type")).hasValue("application/x-ndjson");
        assertThat(lines).hasSize(5);
        assertThat(Json.parseOrMissing(lines[0]).path("response").asText()).isEqualTo("This");
        JsonNode last = Json.parseOrMissing(lines[4]);
        assertThat(last.path("done").asBoolean()).isTrue();
        assertThat(last.path("response").asText()).isEmpty();
        assertThat(last.path("context").size()).isEqualTo(31);
        assertThat(last.path("eval_count").asInt()).isEqualTo(5);
    }

    @Test
    void embed_andLegacyEmbeddings_answerInTheirOwnShapes() {
        JsonNode embed = Http.json(post("/api/embed", "{\"model\":\"llama3.2\",\"input\":[\"Why is the sky blue?\",\"And grass?\"]}"));
        JsonNode legacy = Http.json(post("/api/embeddings", "{\"model\":\"llama3.2\",\"prompt\":\"llamas\"}"));
        HttpResponse<String> badInput = post("/api/embed", "{\"model\":\"llama3.2\",\"input\":[1,2]}");
        HttpResponse<String> missing = post("/api/embeddings", "{\"model\":\"mistral\",\"prompt\":\"x\"}");

        assertThat(embed.path("model").asText()).isEqualTo("llama3.2");
        assertThat(embed.path("embeddings")).hasSize(2);
        assertThat(embed.path("embeddings").get(0)).hasSize(768);
        assertThat(embed.path("prompt_eval_count").asInt()).isEqualTo(8);
        assertThat(legacy.path("embedding")).hasSize(768);
        assertThat(badInput.statusCode()).isEqualTo(400);
        assertThat(badInput.body()).isEqualTo("{\"error\":\"invalid input type\"}");
        assertThat(missing.statusCode()).isEqualTo(404);
        assertThat(missing.body()).isEqualTo("{\"error\":\"model \\\"mistral\\\" not found, try pulling it first\"}");
    }

    @Test
    void show_describesAPulledModel_andRefusesAnUnknownOne() {
        JsonNode show = Http.json(post("/api/show", "{\"model\":\"llama3.2\"}"));
        HttpResponse<String> unknown = post("/api/show", "{\"model\":\"mistral\"}");
        HttpResponse<String> nameless = post("/api/show", "{}");

        assertThat(show.path("details").path("family").asText()).isEqualTo("llama");
        assertThat(show.path("model_info").path("llama.context_length").asInt()).isEqualTo(131072);
        assertThat(show.path("capabilities")).extracting(JsonNode::asText).contains("completion", "tools");
        assertThat(show.has("modelfile") && show.has("template") && show.has("parameters")).isTrue();
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(unknown.body()).isEqualTo("{\"error\":\"model 'mistral' not found\"}");
        assertThat(nameless.statusCode()).isEqualTo(400);
        assertThat(nameless.body()).isEqualTo("{\"error\":\"model is required\"}");
    }

    @Test
    void show_listsEachModelsOwnCapabilities_andTagsGiveAModelPulledAnewAnotherDigest() {
        fake.setModels("llama3.2:latest", "gemma3:latest");
        String before = digestOf("gemma3:latest");
        fake.setCapabilities("gemma3", "completion", "vision");

        JsonNode llama = Http.json(post("/api/show", "{\"model\":\"llama3.2\"}"));
        JsonNode gemma = Http.json(post("/api/show", "{\"model\":\"gemma3:latest\"}"));

        assertThat(llama.path("capabilities")).extracting(JsonNode::asText).containsExactly("completion", "tools");
        assertThat(gemma.path("capabilities")).extracting(JsonNode::asText).containsExactly("completion", "vision");
        assertThat(digestOf("gemma3:latest")).matches("[0-9a-f]{64}").isNotEqualTo(before)
                .isNotEqualTo(digestOf("llama3.2:latest"));
    }

    private String digestOf(String model) {
        for (JsonNode tag : Http.json(Http.get(fake.baseUrl() + "/api/tags")).path("models")) {
            if (tag.path("name").asText().equals(model)) {
                return tag.path("digest").asText();
            }
        }
        throw new AssertionError(model + " is not listed");
    }

    @Test
    void chat_withToolsForAModelWithoutThem_isRefusedAsOllamaRefusesIt() {
        fake.setModels("gemma3:latest");
        fake.setCapabilities("gemma3", "completion", "vision");
        String tools = ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}}]";

        HttpResponse<String> refused = post("/api/chat", "{\"model\":\"gemma3\",\"messages\":[{\"role\":\"user\","
                + "\"content\":\"Weather?\"}]" + tools + "}");
        HttpResponse<String> withoutTools = post("/api/chat", "{\"model\":\"gemma3\",\"stream\":false,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"Weather?\"}]}");

        assertThat(refused.statusCode()).isEqualTo(400);
        assertThat(refused.body()).isEqualTo("{\"error\":\"registry.ollama.ai/library/gemma3:latest does not support tools\"}");
        assertThat(withoutTools.statusCode()).isEqualTo(200);
    }

    @Test
    void chat_imagesMustBeBase64_andACallsArgumentsAnObject_asGoDecodesThem() {
        HttpResponse<String> dataUrl = post("/api/chat", "{\"model\":\"llama3.2\",\"messages\":[{\"role\":\"user\","
                + "\"content\":\"What is it?\",\"images\":[\"data:image/png;base64,iVBORw0KGgo=\"]}]}");
        HttpResponse<String> base64 = post("/api/chat", "{\"model\":\"llama3.2\",\"stream\":false,\"messages\":"
                + "[{\"role\":\"user\",\"content\":\"What is it?\",\"images\":[\"iVBORw0KGgo=\"]}]}");
        HttpResponse<String> textArguments = post("/api/chat", "{\"model\":\"llama3.2\",\"messages\":[{\"role\":"
                + "\"assistant\",\"content\":\"\",\"tool_calls\":[{\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}]}");

        assertThat(dataUrl.statusCode()).isEqualTo(400);
        assertThat(dataUrl.body()).isEqualTo("{\"error\":\"illegal base64 data at input byte 4\"}");
        assertThat(base64.statusCode()).isEqualTo(200);
        assertThat(textArguments.statusCode()).isEqualTo(400);
        assertThat(Http.json(textArguments).path("error").asText()).startsWith("json: cannot unmarshal string into Go struct"
                + " field ToolCallFunction.messages.tool_calls.function.arguments");
    }

    @Test
    void chat_logprobs_comeWithEachLineForItsTokens_withTheTopAlternatives() {
        fake.enqueue(FakeOllama.streamed(List.of("Hi", " there"), 10, 2), FakeOllama.streamed(List.of("Hi", " there"), 10, 2));
        String ask = CHAT + ",\"logprobs\":true,\"top_logprobs\":2";

        String[] lines = post("/api/chat", ask + "}").body().split("\n");
        JsonNode plain = Http.json(post("/api/chat", ask + ",\"stream\":false}"));

        JsonNode second = Json.parseOrMissing(lines[1]).path("logprobs");
        assertThat(second).hasSize(1);
        assertThat(second.get(0).path("token").asText()).isEqualTo(" there");
        assertThat(second.get(0).path("logprob").asDouble()).isEqualTo(-0.25);
        assertThat(second.get(0).path("bytes")).extracting(JsonNode::asInt).containsExactly(32, 116, 104, 101, 114, 101);
        assertThat(second.get(0).path("top_logprobs")).extracting(top -> top.path("token").asText())
                .containsExactly(" there", " there~1");
        assertThat(Json.parseOrMissing(lines[2]).has("logprobs")).isFalse();
        assertThat(plain.path("logprobs")).extracting(token -> token.path("token").asText()).containsExactly("Hi", " there");
    }

    @Test
    void ps_listsTheModelsRequestsLoaded_untilTheirKeepAliveRunsOut() {
        assertThat(Http.json(Http.get(fake.baseUrl() + "/api/ps")).path("models")).isEmpty();

        post("/api/chat", CHAT + ",\"stream\":false}");
        JsonNode loaded = Http.json(Http.get(fake.baseUrl() + "/api/ps")).path("models");
        clock.advance(Duration.ofMinutes(5));
        JsonNode expired = Http.json(Http.get(fake.baseUrl() + "/api/ps")).path("models");

        assertThat(loaded).hasSize(1);
        assertThat(loaded.get(0).path("name").asText()).isEqualTo("llama3.2:latest");
        assertThat(loaded.get(0).path("expires_at").asText()).isEqualTo("2026-01-15T10:05:00Z");
        assertThat(loaded.get(0).has("size_vram") && loaded.get(0).has("context_length")).isTrue();
        assertThat(expired).isEmpty();
    }

    @Test
    void versionTagsAndRoot_andTheRoutersOwnRefusals() {
        assertThat(Http.json(Http.get(fake.baseUrl() + "/api/version")).path("version").asText()).isNotEmpty();
        assertThat(Http.json(Http.get(fake.baseUrl() + "/api/tags")).path("models").get(0).path("details").path("families"))
                .hasSize(1);
        assertThat(Http.get(fake.baseUrl() + "/").body()).isEqualTo("Ollama is running");
        HttpResponse<String> wrongMethod = Http.get(fake.baseUrl() + "/api/chat");
        assertThat(wrongMethod.statusCode()).isEqualTo(405);
        assertThat(wrongMethod.body()).isEqualTo("405 method not allowed");
        HttpResponse<String> notJson = post("/api/chat", "hello");
        assertThat(notJson.statusCode()).isEqualTo(400);
        assertThat(notJson.body()).isEqualTo("{\"error\":\"invalid character 'h' looking for beginning of value\"}");
        assertThat(post("/api/chat", CHAT + ",\"top_logprobs\":21}").body())
                .isEqualTo("{\"error\":\"top_logprobs must be between 0 and 20\"}");
    }
}
