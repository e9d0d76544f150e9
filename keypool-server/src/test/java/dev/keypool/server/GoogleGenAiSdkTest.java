package dev.keypool.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.genai.Client;
import com.google.genai.ResponseStream;
import com.google.genai.types.ContentEmbedding;
import com.google.genai.types.EmbedContentResponse;
import com.google.genai.types.GenerateContentConfig;
import com.google.genai.types.GenerateContentResponse;
import com.google.genai.types.GenerateContentResponseUsageMetadata;
import com.google.genai.types.HttpOptions;
import dev.keypool.config.Provider;
import dev.keypool.config.WindowLimits;
import dev.keypool.providers.fake.FakeGemini;
import dev.keypool.providers.fake.RecordedRequest;
import dev.keypool.providers.fake.RecordedResponse;
import dev.keypool.testing.CloseAfterEach;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Google's official Gen AI SDK for Java ({@code com.google.genai:google-genai}) as a client of the
 * gateway, its base URL set to it and any string as its key: {@code generateContent},
 * {@code generateContentStream} and {@code embedContent} answered from a pooled key, the caller's
 * key never reaching Google, and the usage committed as Google reported it. The SDK calls Gemini's
 * stable {@code /v1/} API, and its {@code embedContent} is a {@code :batchEmbedContents} call.
 */
class GoogleGenAiSdkTest {

    static final String KEY = "AIza-genai-sdk-test-pooled-key-0000";
    static final String CALLERS_KEY = "AIza-TEST.sdk-callers-own-key-never-forwarded";

    @RegisterExtension
    final CloseAfterEach closing = new CloseAfterEach();
    private final FakeGemini gemini = closing.add(FakeGemini.start());
    private final TestGateway server = closing.add(TestGateway.start(TestGateway.geminiOnly(gemini)
            .addKey(Provider.GEMINI, KEY, "gemini-2.5-flash", WindowLimits.of(100_000, 1_000_000))
            .build()));
    private final Client client = closing.add(Client.builder().apiKey(CALLERS_KEY)
            .httpOptions(HttpOptions.builder().baseUrl(server.url("/")).build())
            .build());

    @Test
    void generateContent_isAnsweredFromThePooledKey() {
        gemini.enqueue(FakeGemini.generated("AI learns patterns from examples.", 7, 6, 4));

        GenerateContentResponse response = client.models.generateContent("gemini-2.5-flash",
                "Explain how AI works in a few words",
                GenerateContentConfig.builder().temperature(0.2f).maxOutputTokens(128).build());

        RecordedRequest received = single("/v1/models/gemini-2.5-flash:generateContent");
        assertThat(received.key()).isEqualTo(KEY);
        assertThat(received.header("x-goog-api-key")).isEqualTo(KEY);
        assertThat(received.json().at("/generationConfig/maxOutputTokens").asInt()).isEqualTo(128);
        Fidelity.assertNeverReached(gemini, CALLERS_KEY);
        JsonNode sent = gemini.responseTo(received).json();
        assertThat(response.text()).isEqualTo("AI learns patterns from examples.");
        assertThat(response.responseId()).contains(sent.path("responseId").asText());
        assertSameUsage(response.usageMetadata().orElseThrow(), sent.path("usageMetadata"));
        assertCommitted(sent.path("usageMetadata"));
    }

    @Test
    void generateContentStream_deliversEveryChunkFromThePooledKey() {
        gemini.enqueue(FakeGemini.streamed(List.of("AI", " learns", " patterns."), 7, 5, 0));

        List<GenerateContentResponse> chunks = new ArrayList<>();
        try (ResponseStream<GenerateContentResponse> stream = client.models.generateContentStream("gemini-2.5-flash",
                "Explain how AI works", null)) {
            stream.forEach(chunks::add);
        }

        RecordedRequest received = single("/v1/models/gemini-2.5-flash:streamGenerateContent");
        assertThat(received.key()).isEqualTo(KEY);
        assertThat(received.queryParam("alt")).as("the SDK streams SSE").isEqualTo("sse");
        Fidelity.assertNeverReached(gemini, CALLERS_KEY);
        RecordedResponse sent = gemini.responseTo(received);
        List<JsonNode> events = Fidelity.sseData(sent.bodyText());
        assertThat(chunks).hasSize(events.size()).hasSize(3);
        assertThat(chunks).extracting(GenerateContentResponse::text).containsExactly("AI", " learns", " patterns.");
        for (int i = 0; i < chunks.size(); i++) {
            assertSameUsage(chunks.get(i).usageMetadata().orElseThrow(), events.get(i).path("usageMetadata"));
        }
        assertCommitted(events.get(2).path("usageMetadata"));
    }

    @Test
    void embedContent_isAnsweredFromThePooledKey() {
        EmbedContentResponse response = client.models.embedContent("gemini-embedding-001",
                "What is the meaning of life?", null);

        RecordedRequest received = single("/v1/models/gemini-embedding-001:batchEmbedContents");
        assertThat(received.key()).isEqualTo(KEY);
        Fidelity.assertNeverReached(gemini, CALLERS_KEY);
        JsonNode values = gemini.responseTo(received).json().at("/embeddings/0/values");
        List<ContentEmbedding> embeddings = response.embeddings().orElseThrow();
        assertThat(embeddings).hasSize(1);
        List<Float> got = embeddings.get(0).values().orElseThrow();
        assertThat(got).hasSize(values.size()).hasSize(3072);
        for (int i = 0; i < got.size(); i++) {
            assertThat(got.get(i)).isEqualTo((float) values.get(i).asDouble());
        }
        assertThat(server.keyStatus("gemini", 0).get("tokens_used_day").asLong())
                .as("Gemini reports no usage for embeddings: the estimate reserved is what is charged").isPositive();
        assertThat(server.gateway.manager().store().pendingCount()).isZero();
    }

    // ---- helpers --------------------------------------------------------------------------------------

    private RecordedRequest single(String path) {
        return Fidelity.single(gemini.requests(path));
    }

    private static void assertSameUsage(GenerateContentResponseUsageMetadata got, JsonNode sent) {
        assertThat(got.promptTokenCount()).contains(sent.path("promptTokenCount").asInt());
        assertThat(got.totalTokenCount()).contains(sent.path("totalTokenCount").asInt());
        assertThat(got.candidatesTokenCount()).contains(sent.path("candidatesTokenCount").asInt());
        if (sent.has("thoughtsTokenCount")) {
            assertThat(got.thoughtsTokenCount()).contains(sent.path("thoughtsTokenCount").asInt());
        }
    }

    private void assertCommitted(JsonNode usage) {
        long prompt = usage.path("promptTokenCount").asLong();
        long total = usage.path("totalTokenCount").asLong();
        assertThat(server.keyStatus("gemini", 0).get("tokens_used_day").asLong()).isEqualTo(total);
        JsonNode report = server.usage("gemini");
        assertThat(report.get("prompt_tokens").asLong()).isEqualTo(prompt);
        assertThat(report.get("completion_tokens").asLong()).isEqualTo(total - prompt);
        assertThat(server.gateway.manager().store().pendingCount()).isZero();
    }
}
