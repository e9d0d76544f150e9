package dev.keypool.providers;

import static dev.keypool.providers.Keys.OPENAI_0;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.providers.fake.FakeOpenAi;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Regression: {@link LlmService#stream} wrote its own {@code stream_options} in place of the
 * caller's, so every option but {@code include_usage} given in {@link ChatRequest#extra()} was
 * dropped (the deleted client merged them).
 */
class StreamOptionsDroppedTest {

    private final FakeOpenAi openai = FakeOpenAi.start();
    private final TestPool pool = TestPool.builder().keys(openai, OPENAI_0).build();

    @AfterEach
    void close() {
        pool.close();
        openai.close();
    }

    @Test
    void stream_sendsTheCallersOtherStreamOptions_besideIncludeUsage() {
        Map<String, Object> options = new LinkedHashMap<>();
        options.put("include_usage", false);
        options.put("include_obfuscation", false);

        pool.llm.stream(new ChatRequest("gpt-4o", List.of(ChatMessage.user("Say this is a test!")), null, null,
                Map.of("stream_options", options)), delta -> { });

        JsonNode sent = openai.requests().get(0).json().path("stream_options");
        assertThat(sent.path("include_usage").asBoolean()).as("the service reads the usage it commits").isTrue();
        assertThat(sent.path("include_obfuscation").isBoolean()).as(sent.toString()).isTrue();
        assertThat(sent.path("include_obfuscation").asBoolean(true)).isFalse();
    }
}
