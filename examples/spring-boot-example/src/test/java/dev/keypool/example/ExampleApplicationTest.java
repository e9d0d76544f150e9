package dev.keypool.example;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keypool.providers.fake.FakeOpenAi;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.springframework.boot.SpringApplication;
import org.springframework.context.ConfigurableApplicationContext;

/** The example starts as a user would start it, and answers from the fake OpenAI on a pooled key. */
class ExampleApplicationTest {

    @Test
    void theExampleStarts_andAnswersOnAPooledKey_failingOverA429() {
        PrintStream console = System.out;
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        try (FakeOpenAi openai = FakeOpenAi.start()) {
            openai.enqueue("sk-proj-TEST.example-key-0000000000000000-aaaa", FakeOpenAi.rateLimitedTokens("20s"));
            System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
            try (ConfigurableApplicationContext context = SpringApplication.run(ExampleApplication.class,
                    "--keypool.openai-api-keys=sk-proj-TEST.example-key-0000000000000000-aaaa,"
                            + "sk-proj-TEST.example-key-1111111111111111-bbbb",
                    "--keypool.openai-base-url=" + openai.baseUrl(), "--keypool.selection-strategy=fill-first",
                    "--keypool.ollama-host=http://127.0.0.1:9", "--keypool.env-file=target/no-such.env",
                    "--spring.main.banner-mode=off", "Say this is a test!")) {
                assertThat(context.isRunning()).isTrue();
            } finally {
                System.setOut(console);
            }
            assertThat(openai.keys()).hasSize(2);
        }
        assertThat(printed.toString(StandardCharsets.UTF_8)).contains("This is a test!  [openai ");
    }
}
