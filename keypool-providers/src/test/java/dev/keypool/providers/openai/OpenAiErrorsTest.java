package dev.keypool.providers.openai;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keypool.config.KeyMask;
import dev.keypool.config.Provider;
import dev.keypool.failure.FailureKind;
import dev.keypool.failure.UpstreamException;
import dev.keypool.providers.fake.FakeOpenAi;
import dev.keypool.providers.fake.Reply;
import dev.keypool.providers.internal.RateLimitSnapshot;
import dev.keypool.providers.internal.Upstream;
import dev.keypool.providers.relay.Inbound;
import dev.keypool.providers.relay.TestContext;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * OpenAI's error answers, as the fake sends them verbatim, classified by {@link OpenAiApi#failure}:
 * the kind decides what happens to the key, the wait how long it cools.
 */
class OpenAiErrorsTest {

    private static final String KEY = "sk-proj-TEST.alpha-00000000000000000001";

    private final FakeOpenAi fake = FakeOpenAi.start();
    private final Upstream upstream = new Upstream(Duration.ofSeconds(10), Duration.ofSeconds(10));
    private final OpenAiApi api = new OpenAiApi(TestContext.of(config -> config.baseUrl(Provider.OPENAI, fake.baseUrl())));

    @AfterEach
    void close() {
        upstream.close();
        fake.close();
    }

    // ---- rate limits ------------------------------------------------------------------------------

    @Test
    void rateLimitedTokens_coolsForTheWaitTheMessageSays() {
        Upstream.Response response = answer(FakeOpenAi.rateLimitedTokens("644ms"));
        UpstreamException failure = classify(response);

        assertThat(failure.kind()).isEqualTo(FailureKind.RATE_LIMITED);
        assertThat(failure.status()).isEqualTo(429);
        assertThat(failure.failure().retryAfter()).isEqualTo(Duration.ofMillis(644));
        assertThat(failure.getMessage()).startsWith("Rate limit reached for gpt-4o in organization");
        // the error answer's own headers still say what the key has left
        assertThat(api.budget(response.headers())).extracting(RateLimitSnapshot::remainingTokens).isEqualTo(63L);
    }

    @Test
    void rateLimited_prefersRetryAfterMs_thenRetryAfter_overTheMessage() {
        assertThat(failing(FakeOpenAi.rateLimitedTokens("644ms").withHeaders("retry-after-ms", "1500"))
                .failure().retryAfter()).isEqualTo(Duration.ofMillis(1500));
        assertThat(failing(FakeOpenAi.rateLimitedTokens("644ms").withHeaders("retry-after", "3"))
                .failure().retryAfter()).isEqualTo(Duration.ofSeconds(3));
        assertThat(failing(FakeOpenAi.rateLimitedTokens("644ms").withHeaders("retry-after-ms", "250",
                "retry-after", "3")).failure().retryAfter()).isEqualTo(Duration.ofMillis(250));
        // an HTTP date, measured on the pool's clock (2026-01-15T10:00:00Z)
        assertThat(failing(FakeOpenAi.rateLimitedTokens("644ms").withHeaders("retry-after",
                "Thu, 15 Jan 2026 10:00:05 GMT")).failure().retryAfter()).isEqualTo(Duration.ofSeconds(5));
    }

    @Test
    void rateLimited_withoutAnyWaitInTheMessage_usesTheResetHeaderOfTheLimitHit() {
        String[] limits = FakeOpenAi.rateLimitHeaders(3, 0, "17s", 30000, 100, "6m0s");

        assertThat(failing(FakeOpenAi.error(429, "Rate limit reached for requests", "requests", null,
                "rate_limit_exceeded").withHeaders(limits)).failure().retryAfter()).isEqualTo(Duration.ofSeconds(17));
        assertThat(failing(FakeOpenAi.error(429, "Rate limit reached for tokens", "tokens", null,
                "rate_limit_exceeded").withHeaders(limits)).failure().retryAfter()).isEqualTo(Duration.ofMinutes(6));
        // which limit was hit is not said: the later reset, so the key is not tried too soon
        assertThat(failing(FakeOpenAi.error(429, "Rate limit reached", null, null, "rate_limit_exceeded")
                .withHeaders(limits)).failure().retryAfter()).isEqualTo(Duration.ofMinutes(6));
    }

    @Test
    void rateLimitedRequests_isARateLimit() {
        UpstreamException failure = failing(FakeOpenAi.rateLimitedRequests("20s"));

        assertThat(failure.kind()).isEqualTo(FailureKind.RATE_LIMITED);
        assertThat(failure.failure().retryAfter()).isEqualTo(Duration.ofSeconds(20));
    }

    // ---- quota and keys ---------------------------------------------------------------------------

    @Test
    void perDayLimitAndQuota_exhaustTheKey() {
        assertThat(failing(FakeOpenAi.tokensPerDayExceeded()).kind()).isEqualTo(FailureKind.QUOTA_EXHAUSTED);
        assertThat(failing(FakeOpenAi.insufficientQuota()).kind()).isEqualTo(FailureKind.QUOTA_EXHAUSTED);
        assertThat(failing(FakeOpenAi.creditBalanceExhausted()).kind()).isEqualTo(FailureKind.QUOTA_EXHAUSTED);
        assertThat(failing(FakeOpenAi.error(429, "You have reached your hard billing limit.", "invalid_request_error",
                null, "billing_hard_limit_reached")).kind()).isEqualTo(FailureKind.QUOTA_EXHAUSTED);
    }

    @Test
    void invalidApiKey_isAnInvalidKey_andItsMessageNeverHoldsTheKey() {
        UpstreamException failure = failing(FakeOpenAi.invalidApiKey());

        assertThat(failure.kind()).isEqualTo(FailureKind.INVALID_KEY);
        assertThat(failure.status()).isEqualTo(401);
        assertThat(failure.failure().retryAfter()).isNull();
        assertThat(failure.getMessage()).startsWith("Incorrect API key provided: sk-proj-***").doesNotContain(KEY);
    }

    @Test
    void anAnswerEchoingTheWholeKey_isScrubbed() {
        UpstreamException failure = failing(FakeOpenAi.invalidApiKeyEchoingFullKey());

        assertThat(failure.kind()).isEqualTo(FailureKind.INVALID_KEY);
        assertThat(failure.getMessage()).doesNotContain(KEY).contains(KeyMask.mask(KEY));
    }

    // ---- the request's own faults -----------------------------------------------------------------

    @Test
    void clientErrors_goBackWithTheProvidersStatusAndMessage() {
        UpstreamException tooLarge = failing(FakeOpenAi.requestTooLarge());
        assertThat(tooLarge.kind()).isEqualTo(FailureKind.CLIENT_ERROR);
        assertThat(tooLarge.status()).isEqualTo(429);

        UpstreamException notFound = failing(FakeOpenAi.modelNotFound());
        assertThat(notFound.kind()).isEqualTo(FailureKind.CLIENT_ERROR);
        assertThat(notFound.status()).isEqualTo(404);
        assertThat(notFound.getMessage()).isEqualTo("The model `gpt-4o` does not exist or you do not have access to it.");

        UpstreamException badRequest = failing(FakeOpenAi.badRequest(
                "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
                "max_tokens", "unsupported_parameter"));
        assertThat(badRequest.kind()).isEqualTo(FailureKind.CLIENT_ERROR);
        assertThat(badRequest.status()).isEqualTo(400);
        assertThat(badRequest.failure().retryAfter()).isNull();
    }

    // ---- the provider's faults --------------------------------------------------------------------

    @Test
    void serverErrors_includingAProxysHtml_areServerErrors() {
        UpstreamException server = failing(FakeOpenAi.serverError());
        assertThat(server.kind()).isEqualTo(FailureKind.SERVER_ERROR);
        assertThat(server.status()).isEqualTo(500);

        UpstreamException overloaded = failing(FakeOpenAi.overloaded());
        assertThat(overloaded.kind()).isEqualTo(FailureKind.SERVER_ERROR);
        assertThat(overloaded.status()).isEqualTo(503);

        UpstreamException html = failing(FakeOpenAi.badGatewayHtml());
        assertThat(html.kind()).isEqualTo(FailureKind.SERVER_ERROR);
        assertThat(html.status()).isEqualTo(502);
        assertThat(html.getMessage()).contains("HTTP 502").doesNotContain("<html>");
    }

    // ---- the headers of a success -----------------------------------------------------------------

    @Test
    void theRateLimitHeadersOfASuccess_sayWhatTheKeyHasLeft() {
        Upstream.Response response = answer(FakeOpenAi.completion("This is a test!", 13, 5)
                .withHeaders(FakeOpenAi.rateLimitHeaders(200, 198, "11m32.334s", 40000, 39880, "180ms")));

        assertThat(response.status()).isEqualTo(200);
        assertThat(api.budget(response.headers())).isEqualTo(new RateLimitSnapshot(40000, 39880, Duration.ofMillis(180),
                200, 198, Duration.ofMinutes(11).plusMillis(32_334)));
    }

    // ---- helpers ----------------------------------------------------------------------------------

    /** The fake's answer to a chat request sent as the relay sends it. */
    private Upstream.Response answer(Reply reply) {
        fake.enqueue(reply);
        byte[] body = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"Say this is a test!\"}]}"
                .getBytes(StandardCharsets.UTF_8);
        return upstream.send(api.chat().prepare(Inbound.json("/v1/chat/completions", body)).upstream(KEY, null), KEY);
    }

    private UpstreamException classify(Upstream.Response response) {
        assertThat(response.status()).as("an error answer").isGreaterThanOrEqualTo(400);
        return api.failure(response.status(), response.headers(), response.body(), KEY);
    }

    private UpstreamException failing(Reply reply) {
        return classify(answer(reply));
    }
}
