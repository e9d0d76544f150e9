package dev.keypool.providers;

import static dev.keypool.providers.Keys.GEMINI_0;
import static dev.keypool.providers.Keys.OPENAI_0;
import static dev.keypool.providers.Keys.OPENAI_1;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import dev.keypool.config.Provider;
import dev.keypool.failure.FailureKind;
import dev.keypool.failure.UpstreamException;
import dev.keypool.providers.fake.FakeGemini;
import dev.keypool.providers.fake.FakeOllama;
import dev.keypool.providers.fake.FakeOpenAi;
import dev.keypool.providers.fake.Gate;
import dev.keypool.providers.fake.Reply;
import dev.keypool.providers.internal.TokenEstimator;
import dev.keypool.rotation.TokenUsage;
import dev.keypool.testing.CloseAfterEach;
import dev.keypool.usage.KeyStatus;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class LlmServiceStreamTest {

    /** "Say this is a test!" in gpt-4o's chat framing. */
    private static final long PROMPT = 13;

    @RegisterExtension
    final CloseAfterEach closing = new CloseAfterEach();
    private final FakeOpenAi openai = closing.add(FakeOpenAi.start());
    private final FakeGemini gemini = closing.add(FakeGemini.start());
    private final FakeOllama ollama = closing.add(FakeOllama.start());
    private final List<String> deltas = new CopyOnWriteArrayList<>();
    private TestPool pool;

    private TestPool openAiPool(String... settings) {
        TestPool.Builder builder = TestPool.builder().keys(openai, OPENAI_0, OPENAI_1);
        for (int i = 0; i < settings.length; i += 2) {
            builder.setting(settings[i], settings[i + 1]);
        }
        pool = closing.add(builder.build());
        return pool;
    }

    private static ChatRequest ask(String model) {
        return ChatRequest.of("Say this is a test!").withModel(model);
    }

    @Test
    void openAi_deliversTheDeltas_thenCommitsTheUsageOfTheLastChunk() {
        openAiPool();
        openai.enqueue(FakeOpenAi.streamed(List.of("This is", " a test!"), 13, 5));

        ChatResult result = pool.llm.stream(ask("gpt-4o"), deltas::add);

        assertThat(deltas).containsExactly("This is", " a test!");
        assertThat(result.text()).isEqualTo("This is a test!");
        assertThat(result.usage()).isEqualTo(TokenUsage.of(13, 5));
        assertThat(result.finishReason()).isEqualTo("stop");
        assertThat(pool.status(Provider.OPENAI, 0).minuteTokens()).isEqualTo(18);
    }

    @Test
    void onStart_announcesTheKeyThatServes_onceAndBeforeTheFirstDelta_notTheOneThatFailedOver() {
        openAiPool();
        openai.enqueue(OPENAI_0, FakeOpenAi.rateLimitedTokens("30s"));
        openai.enqueue(OPENAI_1, FakeOpenAi.streamed(List.of("This is", " a test!"), 13, 5));
        List<Object> calls = new ArrayList<>();

        pool.llm.stream(ask("gpt-4o"), new StreamListener() {
            @Override
            public void onStart(Start start) {
                calls.add(start);
            }

            @Override
            public void onDelta(String text) {
                calls.add(text);
            }
        });

        assertThat(calls).containsExactly(
                new StreamListener.Start(Provider.OPENAI, 1, dev.keypool.config.KeyMask.mask(OPENAI_1), "gpt-4o"),
                "This is", " a test!");
    }

    @Test
    void gemini_deliversTheDeltas_thenCommitsTheLastCumulativeUsage() {
        pool = closing.add(TestPool.builder().keys(gemini, GEMINI_0).build());
        gemini.enqueue(FakeGemini.streamed(List.of("As of", " July."), 21, 43, 481));

        ChatResult result = pool.llm.stream(ask("gemini-2.5-flash"), deltas::add);

        assertThat(deltas).containsExactly("As of", " July.");
        assertThat(result.usage()).isEqualTo(TokenUsage.of(21, 524));
        assertThat(pool.status(Provider.GEMINI, 0).minuteTokens()).isEqualTo(545);
    }

    @Test
    void ollama_deliversTheDeltas_andTheCountsOfItsLastLine() {
        pool = closing.add(TestPool.builder().ollama(ollama).build());
        ollama.enqueue(FakeOllama.streamed(List.of("我是", "Qwen"), 32, 53));

        ChatResult result = pool.llm.stream(ChatRequest.of("你是谁?"), deltas::add);

        assertThat(result.provider()).isEqualTo(Provider.OLLAMA);
        assertThat(deltas).containsExactly("我是", "Qwen");
        assertThat(result.usage()).isEqualTo(TokenUsage.of(32, 53));
    }

    /** The output reserve a request without a cap reserves (KEYPOOL_OUTPUT_RESERVE_TOKENS' default). */
    private static final long RESERVE = 1024;

    @Test
    void streamWithoutAUsageChunk_isChargedItsWholeReservation() {
        openAiPool();
        // An OpenAI-compatible server that ignores stream_options.include_usage.
        openai.enqueue(Reply.stream(200, "text/event-stream", List.of(
                "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\","
                        + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"This is a test!\"},\"finish_reason\":null}]}\n\n",
                "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\","
                        + "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
                "data: [DONE]\n\n"), Reply.Ending.CLOSE));

        ChatResult result = pool.llm.stream(ask("gpt-4o"), deltas::add);

        assertThat(result.text()).isEqualTo("This is a test!");
        assertThat(result.usage().totalTokens()).isEqualTo(PROMPT + RESERVE);
        assertThat(pool.status(Provider.OPENAI, 0).minuteTokens()).isEqualTo(PROMPT + RESERVE);
    }

    @Test
    void listenerThrowing_abandonsTheStream_chargesTheReservation_andBlamesNoKey() {
        openAiPool();
        openai.enqueue(FakeOpenAi.streamThenStall("Hello", " world"));
        IllegalStateException gone = new IllegalStateException("the client went away");

        Throwable thrown = catchThrowable(() -> pool.llm.stream(ask("gpt-4o"), delta -> {
            deltas.add(delta);
            throw gone;
        }));

        assertThat(thrown).isSameAs(gone);
        assertThat(deltas).containsExactly("Hello");
        var key0 = pool.status(Provider.OPENAI, 0);
        assertThat(key0.status()).isEqualTo(KeyStatus.ACTIVE);
        assertThat(key0.minuteTokens()).isEqualTo(PROMPT + RESERVE);
        assertThat(openai.keys()).containsExactly(OPENAI_0);
    }

    @Test
    void interruptBeforeAnyText_releasesTheWholeReservation() throws Exception {
        openAiPool();
        openai.enqueue(Reply.noAnswer());
        AtomicReference<Thread> streaming = new AtomicReference<>();
        CompletableFuture<ChatResult> call = CompletableFuture.supplyAsync(() -> {
            streaming.set(Thread.currentThread());
            return pool.llm.stream(ask("gpt-4o"), deltas::add);
        });
        await().until(() -> openai.requests().size() == 1 && streaming.get() != null);

        streaming.get().interrupt();

        Throwable thrown = catchThrowableOfType(ExecutionException.class, call::get).getCause();
        assertThat(thrown).isInstanceOf(CancellationException.class);
        var key0 = pool.status(Provider.OPENAI, 0);
        assertThat(key0.status()).isEqualTo(KeyStatus.ACTIVE);
        assertThat(key0.minuteTokens()).isZero();
        assertThat(openai.keys()).containsExactly(OPENAI_0);
    }

    @Test
    void droppedBeforeAnyText_failsOverToTheNextKey_chargingTheFirstItsReservation() {
        openAiPool();
        openai.enqueue(OPENAI_0, FakeOpenAi.streamThenDrop());
        openai.enqueue(OPENAI_1, FakeOpenAi.streamed(List.of("Fine."), 13, 2));

        ChatResult result = pool.llm.stream(ask("gpt-4o"), deltas::add);

        assertThat(result.keyIndex()).isEqualTo(1);
        assertThat(deltas).containsExactly("Fine.");
        assertThat(result.attempts()).extracting(Attempt::kind).containsExactly(FailureKind.SERVER_ERROR);
        assertThat(pool.status(Provider.OPENAI, 0).status()).isEqualTo(KeyStatus.COOLING_DOWN);
        // The provider said 200 and may have billed the request: it is charged, never refunded.
        assertThat(pool.status(Provider.OPENAI, 0).minuteTokens()).isEqualTo(PROMPT + RESERVE);
    }

    @Test
    void droppedAfterText_isNotRetried_butTheKeyIsBlamedAndChargedItsReservation() {
        openAiPool();
        Gate delivered = new Gate();
        openai.enqueue(OPENAI_0, FakeOpenAi.streamThenDrop(delivered, "Hello", " there"));

        UpstreamException failure = catchThrowableOfType(UpstreamException.class,
                () -> pool.llm.stream(ask("gpt-4o"), delta -> {
                    deltas.add(delta);
                    if (deltas.size() == 2) {
                        delivered.open();
                    }
                }));

        assertThat(failure.kind()).isEqualTo(FailureKind.SERVER_ERROR);
        assertThat(deltas).containsExactly("Hello", " there");
        assertThat(openai.keys()).containsExactly(OPENAI_0);
        var key0 = pool.status(Provider.OPENAI, 0);
        assertThat(key0.status()).isEqualTo(KeyStatus.COOLING_DOWN);
        assertThat(key0.minuteTokens()).isEqualTo(PROMPT + RESERVE);
    }

    @Test
    void silentStream_isCutByTheIdleTimeout_andFailsOver() {
        openAiPool("KEYPOOL_STREAM_IDLE_TIMEOUT_SECONDS", "1");
        openai.enqueue(OPENAI_0, FakeOpenAi.streamThenStall());

        ChatResult result = pool.llm.stream(ask("gpt-4o"), deltas::add);

        assertThat(result.keyIndex()).isEqualTo(1);
        assertThat(result.attempts()).singleElement().satisfies(attempt -> {
            assertThat(attempt.kind()).isEqualTo(FailureKind.SERVER_ERROR);
            assertThat(attempt.message()).contains("silent");
        });
    }

    @Test
    void slowAnswer_timesOut_andTheNextKeyServes() {
        openAiPool("KEYPOOL_UPSTREAM_TIMEOUT_SECONDS", "1");
        openai.enqueue(OPENAI_0, Reply.delayed(Duration.ofSeconds(30), FakeOpenAi.completion("late", 1, 1)));

        ChatResult result = pool.llm.chat(ask("gpt-4o"));

        assertThat(result.keyIndex()).isEqualTo(1);
        assertThat(result.attempts()).singleElement().extracting(Attempt::kind).isEqualTo(FailureKind.SERVER_ERROR);
        assertThat(pool.status(Provider.OPENAI, 0).status()).isEqualTo(KeyStatus.COOLING_DOWN);
    }

    @Test
    void ollamaStreamBreakingAfterText_isNotRetriedElsewhere() {
        pool = closing.add(TestPool.builder().ollama(ollama).keys(gemini, GEMINI_0).build());
        ollama.enqueue(FakeOllama.streamThenError(List.of("Hel"), "out of memory"));
        List<String> received = new ArrayList<>();

        UpstreamException failure = catchThrowableOfType(UpstreamException.class,
                () -> pool.llm.stream(ChatRequest.of("hi"), received::add));

        assertThat(failure.getMessage()).isEqualTo("out of memory");
        assertThat(received).containsExactly("Hel");
        assertThat(gemini.requests()).isEmpty();
    }
}
