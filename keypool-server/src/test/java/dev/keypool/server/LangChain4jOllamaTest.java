package dev.keypool.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.providers.fake.FakeOllama;
import dev.keypool.providers.fake.RecordedRequest;
import dev.keypool.providers.internal.Json;
import dev.keypool.testing.CloseAfterEach;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.ollama.OllamaChatModel;
import dev.langchain4j.model.ollama.OllamaStreamingChatModel;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * LangChain4j's Ollama models ({@code dev.langchain4j:langchain4j-ollama}) with their base URL on
 * the gateway and the fake Ollama as {@code OLLAMA_HOST}: a chat and a streamed chat through the
 * native {@code /api/chat}, the text and counts the client gets being Ollama's, and the counts in
 * the gateway's usage report for Ollama.
 */
class LangChain4jOllamaTest {

    @RegisterExtension
    final CloseAfterEach closing = new CloseAfterEach();
    private final FakeOllama ollama = closing.add(FakeOllama.start());
    private final TestGateway server = closing.add(
            TestGateway.start(KeypoolConfig.builder().baseUrl(Provider.OLLAMA, ollama.baseUrl()).build()));

    private static ChatRequest question() {
        return ChatRequest.builder().messages(UserMessage.from("Why is the sky blue?")).build();
    }

    @Test
    void chatModel_isAnsweredByOllamaThroughTheGatewayAndReported() {
        ollama.enqueue(FakeOllama.chat("Rayleigh scattering of sunlight.", 29, 5));
        OllamaChatModel model = OllamaChatModel.builder().baseUrl(server.url("")).modelName("llama3.2")
                .timeout(Duration.ofSeconds(30)).maxRetries(0).build();

        ChatResponse response = model.chat(question());

        RecordedRequest received = Fidelity.single(ollama.requests("/api/chat"));
        assertThat(received.json().path("stream").asBoolean(true)).isFalse();
        assertThat(received.json().at("/messages/0/content").asText()).isEqualTo("Why is the sky blue?");
        JsonNode sent = ollama.responseTo(received).json();
        assertThat(response.aiMessage().text()).isEqualTo(sent.at("/message/content").asText())
                .isEqualTo("Rayleigh scattering of sunlight.");
        assertThat(response.tokenUsage().inputTokenCount()).isEqualTo(sent.path("prompt_eval_count").asInt());
        assertThat(response.tokenUsage().outputTokenCount()).isEqualTo(sent.path("eval_count").asInt());
        assertReported(sent);
    }

    @Test
    void streamingChatModel_deliversEveryPartThroughTheGatewayAndIsReported() throws Exception {
        ollama.enqueue(FakeOllama.streamed(List.of("Rayleigh", " scattering", " of sunlight."), 27, 3));
        OllamaStreamingChatModel model = OllamaStreamingChatModel.builder().baseUrl(server.url(""))
                .modelName("llama3.2").timeout(Duration.ofSeconds(30)).build();
        List<String> parts = new CopyOnWriteArrayList<>();
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();

        model.chat(question(), new StreamingChatResponseHandler() {
            @Override
            public void onPartialResponse(String partialResponse) {
                parts.add(partialResponse);
            }

            @Override
            public void onCompleteResponse(ChatResponse completeResponse) {
                done.complete(completeResponse);
            }

            @Override
            public void onError(Throwable error) {
                done.completeExceptionally(error);
            }
        });
        ChatResponse response = done.get(30, TimeUnit.SECONDS);

        RecordedRequest received = Fidelity.single(ollama.requests("/api/chat"));
        assertThat(received.json().path("stream").asBoolean(false)).isTrue();
        List<String> lines = ollama.responseTo(received).bodyText().lines().toList();
        assertThat(parts).containsExactly("Rayleigh", " scattering", " of sunlight.");
        assertThat(response.aiMessage().text()).isEqualTo("Rayleigh scattering of sunlight.");
        JsonNode last = Json.parseOrMissing(lines.get(lines.size() - 1));
        assertThat(response.tokenUsage().inputTokenCount()).isEqualTo(last.path("prompt_eval_count").asInt());
        assertThat(response.tokenUsage().outputTokenCount()).isEqualTo(last.path("eval_count").asInt());
        assertReported(last);
    }

    private void assertReported(JsonNode answer) {
        JsonNode report = server.usage("ollama");
        assertThat(report.get("requests").asLong()).isEqualTo(1);
        assertThat(report.get("successes").asLong()).isEqualTo(1);
        assertThat(report.get("prompt_tokens").asLong()).isEqualTo(answer.path("prompt_eval_count").asLong());
        assertThat(report.get("completion_tokens").asLong()).isEqualTo(answer.path("eval_count").asLong());
        assertThat(report.get("total_tokens").asLong())
                .isEqualTo(answer.path("prompt_eval_count").asLong() + answer.path("eval_count").asLong());
    }
}
