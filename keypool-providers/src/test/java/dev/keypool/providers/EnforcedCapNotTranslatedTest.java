package dev.keypool.providers;

import static dev.keypool.providers.Keys.GEMINI_0;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.event.KeyEvent;
import dev.keypool.providers.fake.FakeGemini;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Regression: with {@code KEYPOOL_ENFORCE_OUTPUT_CAP}, an uncapped OpenAI chat request served by
 * Gemini in translation was sent with no {@code maxOutputTokens}, so its answer could run past the
 * reservation the operator asked to enforce (a native Gemini request, and OpenAI's, got the cap).
 */
class EnforcedCapNotTranslatedTest {

    private final FakeGemini gemini = FakeGemini.start();
    private final TestPool pool = TestPool.builder().keys(gemini, GEMINI_0)
            .setting("KEYPOOL_ENFORCE_OUTPUT_CAP", "true").setting("KEYPOOL_OUTPUT_RESERVE_TOKENS", "300").build();

    @AfterEach
    void close() {
        pool.close();
        gemini.close();
    }

    @Test
    void anUncappedChatServedByGemini_isSentTheReserveItReservedAsMaxOutputTokens() {
        List<KeyEvent> events = new CopyOnWriteArrayList<>();
        pool.manager.events().addListener(events::add);

        pool.llm.chat(ChatRequest.of("Say this is a test!").withModel("gemini-2.5-flash"));

        JsonNode config = gemini.requests().get(0).json().path("generationConfig");
        assertThat(config.path("maxOutputTokens").asLong()).as(config.toString()).isEqualTo(300);
        assertThat(events).filteredOn(KeyEvent.KeyAcquired.class::isInstance)
                .extracting(event -> ((KeyEvent.KeyAcquired) event).tokens())
                .allSatisfy(tokens -> assertThat(tokens).isGreaterThan(300));
    }

    @Test
    void theCallersOwnCap_isStillTheOneSent() {
        pool.llm.chat(new ChatRequest("gemini-2.5-flash", List.of(ChatMessage.user("hi")), null, 64, java.util.Map.of()));

        assertThat(gemini.requests().get(0).json().path("generationConfig").path("maxOutputTokens").asLong()).isEqualTo(64);
    }
}
