package dev.keypool.providers;

import static dev.keypool.providers.Keys.OPENAI_0;
import static dev.keypool.providers.Keys.OPENAI_1;
import static dev.keypool.providers.Keys.OPENAI_2;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keypool.config.Provider;
import dev.keypool.config.SelectionStrategy;
import dev.keypool.providers.fake.FakeOpenAi;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class LlmServiceConcurrencyTest {

    @Test
    void concurrentCallers_eachGetAnAnswer_andTheCommittedUsageAddsUpExactly() throws Exception {
        try (FakeOpenAi openai = FakeOpenAi.start();
                TestPool pool = TestPool.builder().keys(openai, OPENAI_0, OPENAI_1, OPENAI_2)
                        .configure(config -> config.selectionStrategy(SelectionStrategy.LEAST_USED)).build();
                ExecutorService callers = Executors.newFixedThreadPool(6)) {
            openai.enqueue(OPENAI_1, FakeOpenAi.rateLimitedTokens("30s"));
            List<Future<ChatResult>> calls = new ArrayList<>();
            for (int i = 0; i < 60; i++) {
                boolean streamed = i % 2 == 0;
                calls.add(callers.submit(() -> streamed
                        ? pool.llm.stream(ChatRequest.of("Say this is a test!").withModel("gpt-4o"), delta -> { })
                        : pool.llm.chat(ChatRequest.of("Say this is a test!").withModel("gpt-4o"))));
            }

            List<ChatResult> results = new ArrayList<>();
            for (Future<ChatResult> call : calls) {
                results.add(call.get());
            }

            assertThat(results).hasSize(60).allSatisfy(result -> assertThat(result.text()).isEqualTo("This is a test!"));
            long committed = 0;
            for (int key = 0; key < 3; key++) {
                committed += pool.status(Provider.OPENAI, key).minuteTokens();
            }
            assertThat(committed).isEqualTo(60 * 18);
            assertThat(openai.requests()).hasSize(61);
            assertThat(results).flatExtracting(ChatResult::attempts).hasSize(1);
        }
    }
}
