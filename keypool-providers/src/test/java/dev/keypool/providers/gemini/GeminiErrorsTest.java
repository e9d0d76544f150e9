package dev.keypool.providers.gemini;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keypool.config.Provider;
import dev.keypool.failure.FailureKind;
import dev.keypool.failure.UpstreamException;
import dev.keypool.providers.fake.FakeGemini;
import dev.keypool.providers.fake.Reply;
import dev.keypool.providers.internal.Upstream;
import dev.keypool.providers.relay.Inbound;
import dev.keypool.providers.relay.TestContext;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Gemini's {@code google.rpc.Status} answers, as the fake sends them verbatim, classified by
 * {@link GeminiApi#failure}: the quota id tells a day's quota from a minute's, whatever the status.
 */
class GeminiErrorsTest {

    private static final String KEY = "AIzaSyA-gemini-test-key-000000000001";
    private static final String GENERATE = "/v1beta/models/gemini-2.5-flash:generateContent";

    private final FakeGemini fake = FakeGemini.start();
    private final Upstream upstream = new Upstream(Duration.ofSeconds(10), Duration.ofSeconds(10));
    private final GeminiApi api = new GeminiApi(TestContext.of(config -> config.baseUrl(Provider.GEMINI, fake.baseUrl())));

    @AfterEach
    void close() {
        upstream.close();
        fake.close();
    }

    @Test
    void perMinuteResourceExhausted_coolsForTheRetryDelay() {
        UpstreamException failure = failing(FakeGemini.rateLimited("20s"));

        assertThat(failure.kind()).isEqualTo(FailureKind.RATE_LIMITED);
        assertThat(failure.status()).isEqualTo(429);
        assertThat(failure.failure().retryAfter()).isEqualTo(Duration.ofSeconds(20));
        assertThat(failing(FakeGemini.rateLimited("0.2s")).failure().retryAfter()).isEqualTo(Duration.ofMillis(200));
    }

    @Test
    void perDayResourceExhausted_exhaustsTheKey_despiteItsShortRetryDelay() {
        UpstreamException failure = failing(FakeGemini.dailyQuotaExhausted());

        assertThat(failure.kind()).isEqualTo(FailureKind.QUOTA_EXHAUSTED);
        assertThat(failure.status()).isEqualTo(429);
    }

    @Test
    void apiKeyInvalid_isAnInvalidKey_althoughItIsA400() {
        UpstreamException failure = failing(FakeGemini.apiKeyInvalid());

        assertThat(failure.kind()).isEqualTo(FailureKind.INVALID_KEY);
        assertThat(failure.status()).isEqualTo(400);
        assertThat(failure.getMessage()).isEqualTo("API key not valid. Please pass a valid API key.");
    }

    @Test
    void permissionDenied_isAnInvalidKey() {
        UpstreamException failure = failing(FakeGemini.keyLeaked());

        assertThat(failure.kind()).isEqualTo(FailureKind.INVALID_KEY);
        assertThat(failure.status()).isEqualTo(403);
    }

    @Test
    void unavailableAndInternal_areServerErrors() {
        assertThat(failing(FakeGemini.overloaded())).extracting(UpstreamException::kind, UpstreamException::status)
                .containsExactly(FailureKind.SERVER_ERROR, 503);
        assertThat(failing(FakeGemini.internalError())).extracting(UpstreamException::kind, UpstreamException::status)
                .containsExactly(FailureKind.SERVER_ERROR, 500);
        UpstreamException html = failing(Reply.body(502, "text/html", "<html><body>502 Bad Gateway</body></html>"));
        assertThat(html.kind()).isEqualTo(FailureKind.SERVER_ERROR);
        assertThat(html.getMessage()).contains("HTTP 502").doesNotContain("<html>");
    }

    @Test
    void notFoundAndOtherInvalidArguments_goBackToTheCaller() {
        UpstreamException notFound = failing(FakeGemini.modelNotFound());
        assertThat(notFound.kind()).isEqualTo(FailureKind.CLIENT_ERROR);
        assertThat(notFound.status()).isEqualTo(404);
        assertThat(notFound.getMessage()).startsWith("models/gemini-2.5-flash is not found for API version v1beta");

        UpstreamException invalid = failing(FakeGemini.invalidArgument(
                "Budget 0 is invalid. This model only works in thinking mode."));
        assertThat(invalid.kind()).isEqualTo(FailureKind.CLIENT_ERROR);
        assertThat(invalid.status()).isEqualTo(400);
        assertThat(invalid.failure().retryAfter()).isNull();
    }

    /** The fake's answer to a generateContent request sent as the relay sends it, classified. */
    private UpstreamException failing(Reply reply) {
        fake.enqueue(reply);
        byte[] body = "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"Say this is a test!\"}]}]}"
                .getBytes(StandardCharsets.UTF_8);
        Upstream.Response response = upstream.send(api.operation("POST", GENERATE)
                .prepare(Inbound.json(GENERATE, body)).upstream(KEY, null), KEY);
        assertThat(response.status()).as("an error answer").isGreaterThanOrEqualTo(400);
        return api.failure(response.status(), response.headers(), response.body(), KEY);
    }
}
