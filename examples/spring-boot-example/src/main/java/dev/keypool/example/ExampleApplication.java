package dev.keypool.example;

import dev.keypool.providers.ChatRequest;
import dev.keypool.providers.ChatResult;
import dev.keypool.providers.LlmService;
import org.springframework.boot.CommandLineRunner;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.annotation.Bean;

/**
 * Asks the pool one question and prints the answer and who served it. The keys come from
 * {@code application.properties}, the seed's variables ({@code OPENAI_API_KEYS}, …) or {@code .env}:
 *
 * <pre>OPENAI_API_KEYS=sk-…,sk-… java -jar keypool-example-spring-boot.jar "Say this is a test!"</pre>
 */
@SpringBootApplication
public class ExampleApplication {

    public static void main(String[] args) {
        SpringApplication.run(ExampleApplication.class, args);
    }

    @Bean
    CommandLineRunner ask(LlmService llm) {
        return args -> {
            for (String prompt : args) {
                if (!prompt.startsWith("--")) {
                    ChatResult answer = llm.chat(ChatRequest.of(prompt));
                    System.out.println(answer.text() + "  [" + answer.provider().id() + " " + answer.maskedKey() + "]");
                }
            }
        };
    }
}
