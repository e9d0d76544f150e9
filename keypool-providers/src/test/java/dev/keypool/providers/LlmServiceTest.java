package dev.keypool.providers;

import com.fasterxml.jackson.databind.JsonNode;
import static dev.keypool.providers.Keys.GEMINI_0;
import static dev.keypool.providers.Keys.GEMINI_1;
import static dev.keypool.providers.Keys.OPENAI_0;
import static dev.keypool.providers.Keys.OPENAI_1;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.keypool.config.KeyMask;
import dev.keypool.config.Provider;
import dev.keypool.event.KeyEvent;
import dev.keypool.failure.FailureKind;
import dev.keypool.failure.UpstreamException;
import dev.keypool.providers.fake.FakeGemini;
import dev.keypool.providers.fake.FakeOllama;
import dev.keypool.providers.fake.FakeOpenAi;
import dev.keypool.providers.fake.Reply;
import dev.keypool.rotation.NoAvailableKeyException;
import dev.keypool.rotation.TokenUsage;
import dev.keypool.testing.CloseAfterEach;
import dev.keypool.usage.KeyStatus;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class LlmServiceTest {

    @RegisterExtension
    final CloseAfterEach closing = new CloseAfterEach();
    private final FakeOpenAi openai = closing.add(FakeOpenAi.start());
    private final FakeGemini gemini = closing.add(FakeGemini.start());
    private final FakeOllama ollama = closing.add(FakeOllama.start());
    private TestPool pool;

    private TestPool openAiPool() {
        pool = closing.add(TestPool.builder().keys(openai, OPENAI_0, OPENAI_1).keys(gemini, GEMINI_0).build());
        return pool;
    }

    private static ChatRequest ask(String model) {
        return ChatRequest.of("Say this is a test!").withModel(model);
    }

    // ---- one provider, its keys -------------------------------------------------------------------

    @Test
    void chat_servesWithTheFirstKey_andCommitsTheReportedUsage() {
        openAiPool();
        openai.reply(OPENAI_0, FakeOpenAi.completion("This is a test!", 13, 5));

        ChatResult result = pool.llm.chat(ask("gpt-4o"));

        assertThat(result.text()).isEqualTo("This is a test!");
        assertThat(result.provider()).isEqualTo(Provider.OPENAI);
        assertThat(result.model()).isEqualTo("gpt-4o");
        assertThat(result.keyIndex()).isZero();
        assertThat(result.maskedKey()).isEqualTo(KeyMask.mask(OPENAI_0));
        assertThat(result.usage()).isEqualTo(TokenUsage.of(13, 5));
        assertThat(result.finishReason()).isEqualTo("stop");
        assertThat(result.attempts()).isEmpty();
        assertThat(openai.keys()).containsExactly(OPENAI_0);
        // The reservation (prompt + 1024) was settled to what OpenAI reported.
        assertThat(pool.status(Provider.OPENAI, 0).minuteTokens()).isEqualTo(18);
        assertThat(pool.status(Provider.OPENAI, 0).dayTokens()).isEqualTo(18);
    }

    @Test
    void chat_withoutACap_reservesThePromptPlusTheReserve_andSendsNoCap() {
        pool = closing.add(TestPool.builder().keys(openai, OPENAI_0).setting("KEYPOOL_OUTPUT_RESERVE_TOKENS", "256")
                .build());
        List<KeyEvent> events = new CopyOnWriteArrayList<>();
        pool.manager.events().addListener(events::add);

        pool.llm.chat(ask("gpt-4o"));

        JsonNode sent = openai.requests().get(0).json();
        assertThat(sent.has("max_tokens") || sent.has("max_completion_tokens")).as(sent.toString()).isFalse();
        // "Say this is a test!" is 13 prompt tokens in gpt-4o's chat framing.
        assertThat(events).filteredOn(KeyEvent.KeyAcquired.class::isInstance)
                .extracting(event -> ((KeyEvent.KeyAcquired) event).tokens()).containsExactly(13L + 256);
    }

    @Test
    void chat_reservesEveryChoice_whenOpenAiIsAskedForSeveral() {
        pool = closing.add(TestPool.builder().keys(openai, OPENAI_0).build());
        List<KeyEvent> events = new CopyOnWriteArrayList<>();
        pool.manager.events().addListener(events::add);

        pool.llm.chat(new ChatRequest("gpt-4o", List.of(ChatMessage.user("Say this is a test!")), null, 100, Map.of("n", 3)));

        assertThat(openai.requests().get(0).json().path("n").asInt()).isEqualTo(3);
        assertThat(events).filteredOn(KeyEvent.KeyAcquired.class::isInstance)
                .extracting(event -> ((KeyEvent.KeyAcquired) event).tokens()).containsExactly(13L + 300);
    }

    @Test
    void chat_rateLimitedKey_coolsForTheProvidersWait_andTheNextKeyServes() {
        openAiPool();
        openai.enqueue(OPENAI_0, FakeOpenAi.rateLimitedTokens("20s"));

        ChatResult result = pool.llm.chat(ask("gpt-4o"));

        assertThat(result.keyIndex()).isEqualTo(1);
        assertThat(openai.keys()).containsExactly(OPENAI_0, OPENAI_1);
        assertThat(result.attempts()).singleElement().satisfies(attempt -> {
            assertThat(attempt.provider()).isEqualTo(Provider.OPENAI);
            assertThat(attempt.keyIndex()).isZero();
            assertThat(attempt.kind()).isEqualTo(FailureKind.RATE_LIMITED);
            assertThat(attempt.message()).startsWith("Rate limit reached for gpt-4o");
        });
        var key0 = pool.status(Provider.OPENAI, 0);
        assertThat(key0.status()).isEqualTo(KeyStatus.COOLING_DOWN);
        assertThat(key0.availableAtMillis()).isEqualTo(pool.clock.millis() + 20_000);
        assertThat(key0.minuteTokens()).isZero();
    }

    @Test
    void chat_quotaExhaustedKey_isDeactivatedUntilTheNextDay() {
        openAiPool();
        openai.enqueue(OPENAI_0, FakeOpenAi.insufficientQuota());

        assertThat(pool.llm.chat(ask("gpt-4o")).keyIndex()).isEqualTo(1);

        var key0 = pool.status(Provider.OPENAI, 0);
        assertThat(key0.status()).isEqualTo(KeyStatus.DEACTIVATED);
        assertThat(key0.failureKind()).isEqualTo(FailureKind.QUOTA_EXHAUSTED);
        assertThat(key0.availableAtMillis()).isEqualTo(Instant.parse("2026-01-16T00:00:00Z").toEpochMilli());
    }

    @Test
    void chat_invalidKey_isDeactivatedUntilAnAdminReset() {
        openAiPool();
        openai.enqueue(OPENAI_0, FakeOpenAi.invalidApiKey());

        assertThat(pool.llm.chat(ask("gpt-4o")).keyIndex()).isEqualTo(1);

        var key0 = pool.status(Provider.OPENAI, 0);
        assertThat(key0.status()).isEqualTo(KeyStatus.DEACTIVATED);
        assertThat(key0.failureKind()).isEqualTo(FailureKind.INVALID_KEY);
        assertThat(key0.availableAtMillis()).isNull();
    }

    @Test
    void chat_clientError_goesBackAtOnce_withTheKeyUntouched() {
        openAiPool();
        openai.enqueue(OPENAI_0, FakeOpenAi.badRequest("Unsupported value: 'temperature' does not support 0.5 with this"
                + " model. Only the default (1) value is supported.", "temperature", "unsupported_value"));

        UpstreamException failure = catchThrowableOfType(UpstreamException.class, () -> pool.llm.chat(ask("o3-mini")));

        assertThat(failure.kind()).isEqualTo(FailureKind.CLIENT_ERROR);
        assertThat(failure.status()).isEqualTo(400);
        assertThat(failure.getMessage()).startsWith("Unsupported value: 'temperature'");
        assertThat(openai.keys()).containsExactly(OPENAI_0);
        assertThat(gemini.requests()).isEmpty();
        assertThat(pool.status(Provider.OPENAI, 0).status()).isEqualTo(KeyStatus.ACTIVE);
        assertThat(pool.status(Provider.OPENAI, 0).minuteTokens()).isZero();
    }

    @Test
    void chat_everyKeyFailing_throwsAllKeysFailed_withTheLastFailureAndTheSoonestRetry() {
        openAiPool();
        openai.enqueue(OPENAI_0, FakeOpenAi.serverError());
        openai.enqueue(OPENAI_1, FakeOpenAi.rateLimitedTokens("2s"));

        NoAvailableKeyException failure = catchThrowableOfType(NoAvailableKeyException.class,
                () -> pool.llm.chat(ask("gpt-4o")));

        assertThat(failure.reason()).isEqualTo(NoAvailableKeyException.Reason.ALL_KEYS_FAILED);
        assertThat(failure.provider()).isEqualTo(Provider.OPENAI);
        assertThat(failure.getCause()).isInstanceOf(UpstreamException.class);
        assertThat(((UpstreamException) failure.getCause()).kind()).isEqualTo(FailureKind.RATE_LIMITED);
        assertThat(failure.retryAfter(pool.clock.millis())).isEqualTo(Duration.ofSeconds(2));
        assertThat(gemini.requests()).isEmpty();
    }

    @Test
    void chat_requestLargerThanEveryKey_failsWithoutCallingUpstream() {
        pool = closing.add(TestPool.builder().key(openai, OPENAI_0, "gpt-4o", 500, 100_000).build());

        NoAvailableKeyException failure = catchThrowableOfType(NoAvailableKeyException.class,
                () -> pool.llm.chat(ask("gpt-4o")));

        assertThat(failure.reason()).isEqualTo(NoAvailableKeyException.Reason.REQUEST_TOO_LARGE);
        assertThat(openai.requests()).isEmpty();
    }

    @Test
    void chat_spentMinute_failsWithoutCallingUpstream_andSaysWhenToRetry() {
        pool = closing.add(TestPool.builder().key(openai, OPENAI_0, "gpt-4o", 2_000, 100_000).build());
        openai.enqueue(OPENAI_0, FakeOpenAi.completion("A long answer", 13, 1_500));
        pool.llm.chat(ask("gpt-4o"));
        pool.clock.advance(Duration.ofSeconds(10));

        NoAvailableKeyException failure = catchThrowableOfType(NoAvailableKeyException.class,
                () -> pool.llm.chat(ask("gpt-4o")));

        assertThat(failure.reason()).isEqualTo(NoAvailableKeyException.Reason.NO_HEADROOM);
        assertThat(failure.retryAfter(pool.clock.millis())).isPositive().isLessThanOrEqualTo(Duration.ofSeconds(60));
        assertThat(openai.requests()).hasSize(1);
    }

    // ---- the provider's own rate-limit headers ----------------------------------------------------

    @Test
    void chat_skipsAKeyWhoseProviderReportedBudgetCannotCoverTheRequest_beforeItEarnsA429() {
        openAiPool();
        openai.enqueue(OPENAI_0, FakeOpenAi.completion("This is a test!", 13, 5)
                .withHeaders(FakeOpenAi.rateLimitHeaders(500, 420, "8.64s", 30000, 600, "6m0s")));
        pool.llm.chat(ask("gpt-4o"));

        ChatResult second = pool.llm.chat(ask("gpt-4o"));

        // Key 0 has 600 tokens left by OpenAI's count; the request reserves 13 + 1024.
        assertThat(second.keyIndex()).isEqualTo(1);
        assertThat(second.attempts()).isEmpty();
        assertThat(openai.keys()).containsExactly(OPENAI_0, OPENAI_1);
        assertThat(pool.status(Provider.OPENAI, 0).status()).isEqualTo(KeyStatus.ACTIVE);

        pool.clock.advance(Duration.ofMinutes(6));
        assertThat(pool.llm.chat(ask("gpt-4o")).keyIndex()).isZero();
    }

    @Test
    void chat_reportedBudgetThatCoversTheRequest_keepsTheKey() {
        openAiPool();
        openai.enqueue(OPENAI_0, FakeOpenAi.completion("This is a test!", 13, 5)
                .withHeaders(FakeOpenAi.rateLimitHeaders(500, 499, "120ms", 30000, 5000, "6m0s")));
        pool.llm.chat(ask("gpt-4o"));

        assertThat(pool.llm.chat(ask("gpt-4o")).keyIndex()).isZero();
    }

    @Test
    void chat_noRequestsLeftByTheProvidersCount_skipsTheKeyUntilTheRequestsReset() {
        openAiPool();
        openai.enqueue(OPENAI_0, FakeOpenAi.completion("This is a test!", 13, 5)
                .withHeaders(FakeOpenAi.rateLimitHeaders(3, 0, "20s", 30000, 29000, "2s")));
        pool.llm.chat(ask("gpt-4o"));

        assertThat(pool.llm.chat(ask("gpt-4o")).keyIndex()).isEqualTo(1);
        pool.clock.advance(Duration.ofSeconds(21));
        assertThat(pool.llm.chat(ask("gpt-4o")).keyIndex()).isZero();
    }

    // ---- provider failover ------------------------------------------------------------------------

    @Test
    void auto_followsThePriority_skippingOllamaWhenItIsNotRunning() {
        pool = closing.add(TestPool.builder().keys(openai, OPENAI_0).keys(gemini, GEMINI_0).build());

        ChatResult result = pool.llm.chat(ChatRequest.of("Say this is a test!"));

        assertThat(result.provider()).isEqualTo(Provider.GEMINI);
        assertThat(result.model()).isEqualTo("gemini-2.5-flash");
        assertThat(gemini.keys()).containsExactly(GEMINI_0);
        assertThat(openai.requests()).isEmpty();
    }

    @Test
    void auto_prefersOllama_whenItAnswers() {
        pool = closing.add(TestPool.builder().ollama(ollama).keys(openai, OPENAI_0).keys(gemini, GEMINI_0).build());

        ChatResult result = pool.llm.chat(ChatRequest.of("Say this is a test!"));

        assertThat(result.provider()).isEqualTo(Provider.OLLAMA);
        assertThat(result.model()).isEqualTo("llama3.2:latest");
        assertThat(result.keyIndex()).isEqualTo(-1);
        assertThat(result.maskedKey()).isNull();
        assertThat(result.usage()).isEqualTo(TokenUsage.of(26, 5));
        assertThat(gemini.requests()).isEmpty();
        assertThat(openai.requests()).isEmpty();
    }

    @Test
    void auto_fallsFromProviderToProvider_keyRotationInside() {
        pool = closing.add(TestPool.builder().ollama(ollama).keys(openai, OPENAI_0).keys(gemini, GEMINI_0, GEMINI_1)
                .build());
        ollama.enqueue(FakeOllama.serverBusy());
        gemini.enqueue(GEMINI_0, FakeGemini.rateLimited("30s"));
        gemini.enqueue(GEMINI_1, FakeGemini.overloaded());

        ChatResult result = pool.llm.chat(ChatRequest.of("Say this is a test!"));

        assertThat(result.provider()).isEqualTo(Provider.OPENAI);
        assertThat(result.attempts()).extracting(Attempt::provider, Attempt::keyIndex, Attempt::kind).containsExactly(
                org.assertj.core.groups.Tuple.tuple(Provider.OLLAMA, -1, FailureKind.SERVER_ERROR),
                org.assertj.core.groups.Tuple.tuple(Provider.GEMINI, 0, FailureKind.RATE_LIMITED),
                org.assertj.core.groups.Tuple.tuple(Provider.GEMINI, 1, FailureKind.SERVER_ERROR));
        assertThat(pool.status(Provider.GEMINI, 0).status()).isEqualTo(KeyStatus.COOLING_DOWN);
        assertThat(pool.status(Provider.GEMINI, 1).status()).isEqualTo(KeyStatus.COOLING_DOWN);
    }

    @Test
    void auto_usesEachKeysConfiguredModel_elseTheProvidersDefault() {
        pool = closing.add(TestPool.builder().key(openai, OPENAI_0, "gpt-4o-mini", 90_000, 2_000_000)
                .keys(openai, OPENAI_1)
                .priority(Provider.OPENAI).setting("KEYPOOL_OPENAI_DEFAULT_MODEL", "gpt-4.1").build());
        openai.enqueue(OPENAI_0, FakeOpenAi.serverError());

        pool.llm.chat(ChatRequest.of("Say this is a test!"));

        assertThat(openai.requests()).extracting(request -> request.json().path("model").asText())
                .containsExactly("gpt-4o-mini", "gpt-4.1");
    }

    @Test
    void auto_withNothingConfigured_saysSo() {
        pool = closing.add(TestPool.builder().build());

        assertThatThrownBy(() -> pool.llm.chat(ChatRequest.of("hi")))
                .isInstanceOf(NoAvailableKeyException.class)
                .hasMessageContaining("No provider can serve");
    }

    @Test
    void namedModel_staysOnItsProvider() {
        openAiPool();
        openai.reply(OPENAI_0, FakeOpenAi.overloaded());
        openai.reply(OPENAI_1, FakeOpenAi.overloaded());

        NoAvailableKeyException failure = catchThrowableOfType(NoAvailableKeyException.class,
                () -> pool.llm.chat(ask("gpt-4o")));

        assertThat(failure.reason()).isEqualTo(NoAvailableKeyException.Reason.ALL_KEYS_FAILED);
        assertThat(gemini.requests()).isEmpty();
    }

    @Test
    void namedModel_withAFallback_movesToTheStandIn_whenItsProviderFails() {
        pool = closing.add(TestPool.builder().keys(openai, OPENAI_0, OPENAI_1).keys(gemini, GEMINI_0)
                .fallback("gpt-4o", "gemini-2.5-pro").build());
        openai.reply(OPENAI_0, FakeOpenAi.overloaded());
        openai.reply(OPENAI_1, FakeOpenAi.insufficientQuota());

        ChatResult result = pool.llm.chat(ask("gpt-4o"));

        assertThat(result.provider()).isEqualTo(Provider.GEMINI);
        assertThat(result.model()).isEqualTo("gemini-2.5-pro");
        assertThat(gemini.requests().get(0).path()).isEqualTo("/v1beta/models/gemini-2.5-pro:generateContent");
        assertThat(result.attempts()).extracting(Attempt::kind)
                .containsExactly(FailureKind.SERVER_ERROR, FailureKind.QUOTA_EXHAUSTED);
    }

    @Test
    void namedModel_withAFallback_movesToTheStandIn_whenItsProviderHasNoKeyLeft() {
        pool = closing.add(TestPool.builder().keys(openai, OPENAI_0).keys(gemini, GEMINI_0)
                .fallback("openai/gpt-4o", "gemini/gemini-2.5-flash").build());
        pool.manager.deactivate(dev.keypool.config.KeyId.of(Provider.OPENAI, 0), "revoked");

        ChatResult result = pool.llm.chat(ask("openai/gpt-4o"));

        assertThat(result.provider()).isEqualTo(Provider.GEMINI);
        assertThat(result.attempts()).isEmpty();
        assertThat(openai.requests()).isEmpty();
    }

    @Test
    void namedProvider_runsEachKeysModel() {
        pool = closing.add(TestPool.builder().key(gemini, GEMINI_0, "gemini-2.0-flash", 60_000, 1_000_000).build());

        ChatResult result = pool.llm.generateText("Explain quantum computing", "gemini", null, 0.7, 1000);

        assertThat(result.provider()).isEqualTo(Provider.GEMINI);
        assertThat(gemini.requests().get(0).path()).isEqualTo("/v1beta/models/gemini-2.0-flash:generateContent");
        assertThat(gemini.requests().get(0).json().path("generationConfig").path("maxOutputTokens").asInt()).isEqualTo(1000);
    }

    @Test
    void generateText_likeTheSeed_providerAndModel() {
        openAiPool();

        ChatResult result = pool.llm.generateText("Explain quantum computing", "openai", "gpt-4o", 0.7, 1000);

        assertThat(result.provider()).isEqualTo(Provider.OPENAI);
        assertThat(openai.requests().get(0).json().path("model").asText()).isEqualTo("gpt-4o");
        assertThat(openai.requests().get(0).json().path("max_tokens").asInt()).isEqualTo(1000);
        assertThat(openai.requests().get(0).json().path("messages").get(0).path("content").asText())
                .isEqualTo("Explain quantum computing");
    }

    @Test
    void ollama_notRunning_failsAsUnreachable_andIsSkippedAfterwards() {
        pool = closing.add(TestPool.builder().keys(gemini, GEMINI_0).build());

        NoAvailableKeyException failure = catchThrowableOfType(NoAvailableKeyException.class,
                () -> pool.llm.chat(ask("ollama/llama3.2")));

        assertThat(((UpstreamException) failure.getCause()).kind()).isEqualTo(FailureKind.UNREACHABLE);
        assertThat(pool.llm.ollamaAvailable()).isFalse();
    }

    @Test
    void ollama_modelNotPulled_isTheCallersError() {
        pool = closing.add(TestPool.builder().ollama(ollama).build());

        UpstreamException failure = catchThrowableOfType(UpstreamException.class, () -> pool.llm.chat(ask("mistral:7b")));

        assertThat(failure.status()).isEqualTo(404);
        assertThat(failure.getMessage()).isEqualTo("model 'mistral:7b' not found");
    }

    // ---- requests refused before any call ---------------------------------------------------------

    @Test
    void malformedRequests_areRefusedBeforeAnyCall() {
        assertThatThrownBy(() -> new ChatRequest("gpt-4o", List.of(), null, null, Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("messages");
        assertThatThrownBy(() -> new ChatRequest("gpt-4o", List.of(ChatMessage.user("hi")), 2.5, null, Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("temperature");
        assertThatThrownBy(() -> new ChatRequest("gpt-4o", List.of(ChatMessage.user("hi")), null, 0, Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("max_tokens");
        assertThatThrownBy(() -> new ChatMessage("tool", "x"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("role");
        openAiPool();
        assertThatThrownBy(() -> pool.llm.generateText("hi", "anthropic", null, null, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("anthropic");
        assertThat(openai.requests()).isEmpty();
    }

    @Test
    void modelNoRulePlaces_goesToOpenAi_whenThereAreOpenAiKeys_elseIsUnknown() {
        openAiPool();

        pool.llm.chat(ask("brand-new-model"));

        assertThat(openai.requests()).singleElement()
                .satisfies(request -> assertThat(request.json().path("model").asText()).isEqualTo("brand-new-model"));
        pool.close();
        pool = closing.add(TestPool.builder().keys(gemini, GEMINI_0).build());
        assertThatThrownBy(() -> pool.llm.chat(ask("claude-3-opus"))).isInstanceOf(UnknownModelException.class);
        assertThat(gemini.requests()).isEmpty();
    }

    @Test
    void chat_withTheOldReserveName_andAnEnforcedCap_sendsTheReserveAsTheCap() {
        pool = closing.add(TestPool.builder().keys(openai, OPENAI_0).setting("KEYPOOL_DEFAULT_MAX_TOKENS", "300")
                .setting("KEYPOOL_ENFORCE_OUTPUT_CAP", "true").build());

        pool.llm.chat(ask("gpt-4o"));
        pool.llm.chat(ask("o3-mini"));

        assertThat(openai.requests().get(0).json().path("max_tokens").asInt()).isEqualTo(300);
        assertThat(openai.requests().get(1).json().path("max_completion_tokens").asInt()).isEqualTo(300);
        assertThat(openai.requests().get(1).json().has("max_tokens")).isFalse();
    }

    @Test
    void usage_missingFromTheAnswer_chargesTheWholeReservation() {
        pool = closing.add(TestPool.builder().keys(openai, OPENAI_0).build());
        openai.enqueue(Reply.json(200, "{\"id\":\"chatcmpl-x\",\"object\":\"chat.completion\",\"created\":1,"
                + "\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
                + "\"content\":\"This is a test!\"},\"finish_reason\":\"stop\"}]}"));

        ChatResult result = pool.llm.chat(ask("gpt-4o"));

        assertThat(result.text()).isEqualTo("This is a test!");
        assertThat(result.usage().totalTokens()).isEqualTo(13 + 1024);
        assertThat(pool.status(Provider.OPENAI, 0).minuteTokens()).isEqualTo(13 + 1024);
    }
}
