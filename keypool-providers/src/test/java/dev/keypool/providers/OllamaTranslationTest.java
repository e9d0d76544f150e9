package dev.keypool.providers;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.providers.fake.FakeOllama;
import dev.keypool.rotation.TokenUsage;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * OpenAI's chat carried to Ollama by {@link dev.keypool.providers.ollama.OllamaChatTranslator}, end
 * to end against the fake. These are the cases of the deleted {@code OllamaClientTest}, but one that
 * changed on purpose: no {@code num_predict} is sent unless the caller set a cap.
 */
class OllamaTranslationTest {

    private final FakeOllama ollama = FakeOllama.start();
    private final TestPool pool = TestPool.builder().ollama(ollama).build();

    @AfterEach
    void close() {
        pool.close();
        ollama.close();
    }

    @Test
    void chat_asksForOneAnswer_withTheCallersCapAsNumPredict_andNoKey() {
        ollama.enqueue(FakeOllama.chat("Understood.", 44, 4));

        ChatResult result = pool.llm.chat(new ChatRequest("llama3.2", List.of(ChatMessage.system("You are terse."),
                ChatMessage.user("Say this is a test!")), 0.7, 64, Map.of()));

        JsonNode body = ollama.requests("/api/chat").get(0).json();
        assertThat(body.path("stream").asBoolean(true)).isFalse();
        assertThat(body.path("model").asText()).isEqualTo("llama3.2");
        assertThat(body.path("options").path("num_predict").asInt()).isEqualTo(64);
        assertThat(body.path("options").path("temperature").asDouble()).isEqualTo(0.7);
        assertThat(body.path("messages").get(0).path("role").asText()).isEqualTo("system");
        assertThat(body.path("messages").get(1).path("content").asText()).isEqualTo("Say this is a test!");
        assertThat(ollama.requests("/api/chat").get(0).header("authorization")).isNull();
        assertThat(result.text()).isEqualTo("Understood.");
        assertThat(result.usage()).isEqualTo(TokenUsage.of(44, 4));
        assertThat(result.finishReason()).isEqualTo("stop");
    }

    @Test
    void chat_withoutACap_sendsNoNumPredict() {

        pool.llm.chat(new ChatRequest("llama3.2", List.of(ChatMessage.user("Say this is a test!")), null, null,
                Map.of("top_p", 0.9)));

        JsonNode options = ollama.requests("/api/chat").get(0).json().path("options");
        assertThat(options.has("num_predict")).isFalse();
        assertThat(options.path("top_p").asDouble()).isEqualTo(0.9);
    }

    @Test
    void stream_readsNdjson_andTheCountsOfTheDoneLine() {
        ollama.enqueue(FakeOllama.streamed(List.of("\u6211\u662f", "Q", "wen"), 32, 53));
        List<String> deltas = new ArrayList<>();

        ChatResult result = pool.llm.stream(new ChatRequest("llama3.2", List.of(ChatMessage.user("\u4f60\u662f\u8c01?")),
                null, null, Map.of()), deltas::add);

        assertThat(ollama.requests("/api/chat").get(0).json().path("stream").asBoolean()).isTrue();
        assertThat(deltas).containsExactly("\u6211\u662f", "Q", "wen");
        assertThat(result.usage()).isEqualTo(TokenUsage.of(32, 53));
    }
}
