package dev.keypool.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.config.WindowLimits;
import dev.keypool.providers.fake.FakeOllama;
import dev.keypool.providers.fake.FakeOpenAi;
import dev.keypool.testing.CloseAfterEach;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Keyless Ollama through the gateway (plain and streamed), and an upstream error in the middle of a stream. */
class KeylessAndStreamErrorTest {

    static final String KEY = "sk-proj-TEST.keyless-test-key-00000";

    @RegisterExtension
    final CloseAfterEach closing = new CloseAfterEach();
    private final FakeOllama ollama = closing.add(FakeOllama.start());
    private final FakeOpenAi openAi = closing.add(FakeOpenAi.start());
    private final TestGateway server = closing.add(TestGateway.start(KeypoolConfig.builder()
            .addKey(Provider.OPENAI, KEY, "gpt-4o", WindowLimits.NONE)
            .baseUrl(Provider.OPENAI, openAi.baseUrl())
            .baseUrl(Provider.OLLAMA, ollama.baseUrl())
            .build()));

    private HttpResponse<String> chat(String body) {
        return server.postJson("/v1/chat/completions", body);
    }

    @Test
    void ollamaModel_isServedKeylessAndCountedInTheReport() {
        ollama.enqueue(FakeOllama.chat("Local answer", 26, 5));

        HttpResponse<String> response = chat("{\"model\": \"llama3.2\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}");

        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        assertThat(response.headers().firstValue("x-keypool-provider")).contains("ollama");
        assertThat(response.headers().firstValue("x-keypool-key-index")).isEmpty();
        JsonNode body = TestGateway.json(response);
        assertThat(body.at("/choices/0/message/content").asText()).isEqualTo("Local answer");
        assertThat(body.at("/usage/total_tokens").asLong()).isEqualTo(31);
        JsonNode report = TestGateway.json(server.adminGet("/api/admin/api-key-usage-report/")).at("/providers/ollama");
        assertThat(report.get("requests").asLong()).isEqualTo(1);
        assertThat(report.get("total_tokens").asLong()).isEqualTo(31);
        assertThat(server.status().at("/providers/ollama/available").asBoolean()).isTrue();
        assertThat(server.status().at("/providers/ollama/tokens_today").asLong()).isEqualTo(31);
    }

    @Test
    void ollamaStream_saysItIsKeylessInItsHeaders() {
        ollama.enqueue(FakeOllama.streamed(List.of("Lo", "cal"), 20, 2));

        HttpResponse<String> response = chat("{\"model\": \"llama3.2\", \"stream\": true, "
                + "\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}");

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("x-keypool-provider")).contains("ollama");
        assertThat(response.body()).contains("\"content\":\"Lo\"").contains("\"content\":\"cal\"").endsWith("data: [DONE]\n\n");
    }

    @Test
    void upstreamErrorMidStream_arrivesAsAnErrorEventAfterTheTextSoFar() {
        openAi.enqueue(FakeOpenAi.streamThenError(List.of("Partial"), "The server had an error while processing your request."));

        HttpResponse<String> response = chat("{\"model\": \"gpt-4o\", \"stream\": true, "
                + "\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}");

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.body()).contains("\"content\":\"Partial\"").contains("data: {\"error\":{")
                .doesNotContain("[DONE]");
        assertThat(server.gateway.manager().store().pendingCount()).isZero();
    }
}
