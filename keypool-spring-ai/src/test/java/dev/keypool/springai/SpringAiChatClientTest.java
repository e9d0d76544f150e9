package dev.keypool.springai;

import static dev.keypool.adapter.AdapterPool.KEY_A;
import static dev.keypool.adapter.AdapterPool.KEY_B;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.openai.errors.RateLimitException;
import dev.keypool.config.KeyConfig;
import dev.keypool.config.Provider;
import dev.keypool.providers.fake.FakeOpenAi;
import dev.keypool.rotation.ApiKeyManager;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.client.ChatClient;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.embedding.EmbeddingModel;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * Spring AI's real {@link ChatClient} on its own OpenAI auto-configuration, with the keypool
 * starter and this module on the class path and nothing else changed, against the fake OpenAI.
 */
@SpringBootTest(classes = SpringAiChatClientTest.App.class)
class SpringAiChatClientTest {

    static final FakeOpenAi OPENAI = FakeOpenAi.start();

    @DynamicPropertySource
    static void properties(DynamicPropertyRegistry registry) {
        registry.add("keypool.openai-api-keys", () -> KEY_A + "," + KEY_B);
        registry.add("keypool.openai-base-url", OPENAI::baseUrl);
        registry.add("keypool.selection-strategy", () -> "fill-first");
        registry.add("keypool.ollama-host", () -> "http://127.0.0.1:9");
        registry.add("keypool.env-file", () -> "target/no-such.env");
        registry.add("spring.ai.openai.api-key", () -> "placeholder");
        registry.add("spring.ai.openai.chat.options.model", () -> "gpt-4o-mini");
    }

    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class App {
    }

    @Autowired ChatClient.Builder chat;
    @Autowired EmbeddingModel embeddings;
    @Autowired ApiKeyManager manager;

    /** Each test starts with every key up (a test's 429s rest them) and an empty request log; the windows go on. */
    @AfterEach
    void reset() {
        OPENAI.reset();
        manager.resetAll();
    }

    @AfterAll
    static void stop() {
        OPENAI.close();
    }

    @Test
    void chatClient_aRateLimitOnTheFirstKeyIsInvisible_andTheTokensAreCommittedOnTheKeyThatServed() {
        OPENAI.enqueue(KEY_A, FakeOpenAi.rateLimitedTokens("20s"));
        long before = minuteTokens(KEY_B);
        long beforeA = minuteTokens(KEY_A);

        ChatResponse response = chat.build().prompt().user("Say this is a test!").call().chatResponse();

        assertThat(response.getResult().getOutput().getText()).isEqualTo("This is a test!");
        assertThat(OPENAI.keys()).containsExactly(KEY_A, KEY_B);
        assertThat(OPENAI.requests()).allSatisfy(request ->
                assertThat(request.header("authorization")).doesNotContain("placeholder"));
        assertThat(minuteTokens(KEY_B) - before).isEqualTo(response.getMetadata().getUsage().getTotalTokens().longValue());
        assertThat(minuteTokens(KEY_A)).isEqualTo(beforeA);
    }

    @Test
    void chatClient_streams_failingOverBeforeTheStreamBegins() {
        OPENAI.enqueue(KEY_A, FakeOpenAi.serverError());
        OPENAI.enqueue(KEY_B, FakeOpenAi.streamed(List.of("This", " is", " a", " test!"), 13, 4));
        long before = minuteTokens(KEY_B);

        String text = chat.build().prompt().user("Say this is a test!").stream().content().collectList().block()
                .stream().collect(Collectors.joining());

        assertThat(text).isEqualTo("This is a test!");
        assertThat(OPENAI.keys()).containsExactly(KEY_A, KEY_B);
        assertThat(minuteTokens(KEY_B) - before).isEqualTo(13 + 4);
    }

    @Test
    void aSpentPool_isTheRateLimitException_withTheTimeUntilAKeyFreesUp() {
        OPENAI.reply(KEY_A, FakeOpenAi.rateLimitedTokens("20s"));
        OPENAI.reply(KEY_B, FakeOpenAi.rateLimitedTokens("20s"));

        Throwable thrown = catchThrowable(() -> chat.build().prompt().user("Hi").call().content());

        Throwable cause = thrown;
        while (cause != null && !(cause instanceof RateLimitException)) {
            cause = cause.getCause();
        }
        assertThat(cause).as("cause chain of %s", thrown).isInstanceOf(RateLimitException.class);
        assertThat(((RateLimitException) cause).headers().values("Retry-After")).singleElement()
                .satisfies(seconds -> assertThat(Long.parseLong(seconds)).isPositive());
        assertThat(OPENAI.keys()).containsExactly(KEY_A, KEY_B);
    }

    @Test
    void embeddingModel_isPooledToo() {
        OPENAI.enqueue(KEY_A, FakeOpenAi.invalidApiKey());

        float[] vector = embeddings.embed("Say this is a test!");

        assertThat(vector).hasSize(1536);
        assertThat(OPENAI.keys()).containsExactly(KEY_A, KEY_B);
    }

    private long minuteTokens(String secret) {
        for (KeyConfig key : manager.keys(Provider.OPENAI)) {
            if (key.secret().equals(secret)) {
                return manager.status(key.id()).minuteTokens();
            }
        }
        throw new AssertionError("no such key");
    }
}
