package dev.keypool.providers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.keypool.providers.fake.FakeOllama;
import dev.keypool.providers.relay.RequestRefused;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class OllamaAvailabilityTest {

    private final FakeOllama ollama = FakeOllama.start();
    private TestPool pool;

    @AfterEach
    void close() {
        pool.close();
        ollama.close();
    }

    @Test
    void available_isCheckedOnce_thenRememberedForTheInterval() {
        pool = TestPool.builder().ollama(ollama).setting("KEYPOOL_OLLAMA_CHECK_SECONDS", "5").build();

        assertThat(pool.llm.ollamaAvailable()).isTrue();
        assertThat(pool.llm.ollamaAvailable()).isTrue();
        pool.clock.advance(Duration.ofMillis(4_999));
        assertThat(pool.llm.ollamaAvailable()).isTrue();
        assertThat(ollama.requests("/api/tags")).hasSize(1);

        pool.clock.advance(Duration.ofMillis(1));
        assertThat(pool.llm.ollamaAvailable()).isTrue();
        assertThat(ollama.requests("/api/tags")).hasSize(2);
    }

    @Test
    void available_isFalse_whenNothingListens() {
        pool = TestPool.builder().build();

        assertThat(pool.llm.ollamaAvailable()).isFalse();
        assertThat(pool.llm.models()).isEmpty();
    }

    @Test
    void autoRequests_useTheRememberedAnswer() {
        pool = TestPool.builder().ollama(ollama).build();

        pool.llm.chat(ChatRequest.of("one"));
        pool.llm.chat(ChatRequest.of("two"));

        assertThat(ollama.requests("/api/tags")).hasSize(1);
        assertThat(ollama.requests("/api/chat")).hasSize(2);
        assertThat(ollama.requests("/api/chat").get(0).json().path("model").asText()).isEqualTo("llama3.2:latest");
    }

    @Test
    void ollamaWithoutModels_isLeftOutOfAuto() {
        ollama.setModels();
        pool = TestPool.builder().ollama(ollama).build();

        assertThat(pool.llm.ollamaAvailable()).isTrue();
        assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> pool.llm.chat(ChatRequest.of("hi"))))
                .hasMessageContaining("has no model");
        assertThat(ollama.requests("/api/chat")).isEmpty();
    }

    @Test
    void capabilities_areAskedOncePerModel_andAgainOnlyWhenItsDigestChanges() {
        pool = TestPool.builder().ollama(ollama).setting("KEYPOOL_OLLAMA_CHECK_SECONDS", "5").build();
        ChatRequest tools = ChatRequest.builder().model("llama3.2").message(ChatMessage.user("Weather?"))
                .tool(Tool.function("get_weather", null, null)).build();

        pool.llm.chat(tools);
        pool.llm.chat(tools);
        pool.clock.advance(Duration.ofSeconds(5));
        pool.llm.chat(tools);
        assertThat(ollama.requests("/api/show")).hasSize(1);
        assertThat(ollama.requests("/api/chat")).hasSize(3);

        // pulled anew without tools: another digest, asked again, and the route now refuses the tools
        ollama.setCapabilities("llama3.2", "completion");
        pool.clock.advance(Duration.ofSeconds(5));
        assertThat(catchThrowable(() -> pool.llm.chat(tools)))
                .isInstanceOf(RequestRefused.class)
                .hasMessageContaining("does not support tools");
        assertThat(ollama.requests("/api/show")).hasSize(2);
        assertThat(ollama.requests("/api/chat")).hasSize(3);
    }
}
