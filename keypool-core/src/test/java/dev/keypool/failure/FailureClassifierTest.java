package dev.keypool.failure;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.IOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class FailureClassifierTest {

    private static FailureKind kindOf(String message) {
        return FailureClassifier.classify(new RuntimeException(message)).kind();
    }

    @ParameterizedTest(name = "\"{0}\" -> {1}")
    @CsvSource(delimiter = '|', textBlock = """
            429                                                                       | RATE_LIMITED
            HTTP 429 Too Many Requests                                                | RATE_LIMITED
            rate limit reached                                                        | RATE_LIMITED
            Rate limit reached for gpt-4o on tokens per min (TPM): Limit 30000        | RATE_LIMITED
            RESOURCE_EXHAUSTED: Resource has been exhausted (e.g. check quota).       | RATE_LIMITED
            503                                                                       | SERVER_ERROR
            503 Service Unavailable                                                   | SERVER_ERROR
            The model is overloaded. Please try again later.                          | SERVER_ERROR
            502 Bad Gateway                                                           | SERVER_ERROR
            quota exceeded                                                            | QUOTA_EXHAUSTED
            Quota exceeded for quota metric 'Generate Content API requests per day'   | QUOTA_EXHAUSTED
            insufficient_quota                                                        | QUOTA_EXHAUSTED
            429 You exceeded your current quota, please check your plan and billing   | QUOTA_EXHAUSTED
            Your account has run out of searches.                                     | QUOTA_EXHAUSTED
            Incorrect API key provided: sk-proj-****key1                              | INVALID_KEY
            API key not valid. Please pass a valid API key.                           | INVALID_KEY
            API_KEY_INVALID                                                           | INVALID_KEY
            invalid_api_key                                                           | INVALID_KEY
            HTTP 401 Unauthorized                                                     | INVALID_KEY
            403 PERMISSION_DENIED                                                     | INVALID_KEY
            400 Bad Request                                                           | CLIENT_ERROR
            Invalid value for 'temperature': must be at most 2                        | CLIENT_ERROR
            something unexpected happened                                             | CLIENT_ERROR
            """)
    void classify_readsTheSeedsTextsFromAnyException(String message, FailureKind expected) {
        assertThat(kindOf(message)).isEqualTo(expected);
    }

    @Test
    void classify_statusCodesMustStandAlone() {
        assertThat(kindOf("processed 14290 tokens, then failed")).isEqualTo(FailureKind.CLIENT_ERROR);
        assertThat(kindOf("request id 5031 was malformed")).isEqualTo(FailureKind.CLIENT_ERROR);
    }

    @Test
    void classify_refusedConnection_isUnreachable() {
        assertThat(FailureClassifier.classify(new ConnectException("Connection refused")).kind())
                .isEqualTo(FailureKind.UNREACHABLE);
        assertThat(FailureClassifier.classify(new IOException("connect failed: Connection refused")).kind())
                .isEqualTo(FailureKind.UNREACHABLE);
        assertThat(FailureClassifier.classify(new UnknownHostException("api.openai.com")).kind())
                .isEqualTo(FailureKind.UNREACHABLE);
    }

    @Test
    void classify_refusedConnectionWrappedInAnotherException_isUnreachable() {
        RuntimeException wrapped = new RuntimeException("call failed", new ConnectException("Connection refused"));

        assertThat(FailureClassifier.classify(wrapped).kind()).isEqualTo(FailureKind.UNREACHABLE);
    }

    @Test
    void classify_refusedConnectionSaidOnlyInTheText_isUnreachable() {
        assertThat(kindOf("upstream call failed: Connection refused")).isEqualTo(FailureKind.UNREACHABLE);
    }

    @Test
    void classify_timeouts_areServerErrors() {
        assertThat(FailureClassifier.classify(new SocketTimeoutException("Read timed out")).kind())
                .isEqualTo(FailureKind.SERVER_ERROR);
        assertThat(FailureClassifier.classify(new HttpTimeoutException("request timed out")).kind())
                .isEqualTo(FailureKind.SERVER_ERROR);
        assertThat(FailureClassifier.classify(new HttpConnectTimeoutException("HTTP connect timed out")).kind())
                .isEqualTo(FailureKind.SERVER_ERROR);
        assertThat(FailureClassifier.classify(new TimeoutException()).kind()).isEqualTo(FailureKind.SERVER_ERROR);
        assertThat(kindOf("Gateway Timeout")).isEqualTo(FailureKind.SERVER_ERROR);
    }

    @Test
    void classify_quotaWinsOverTheRateLimitStatusThatOftenComesWithIt() {
        assertThat(kindOf("Error code: 429 - {'error': {'code': 'insufficient_quota'}}"))
                .isEqualTo(FailureKind.QUOTA_EXHAUSTED);
    }

    @ParameterizedTest(name = "\"{0}\" -> {1} ms")
    @CsvSource(delimiter = '|', textBlock = """
            Rate limit reached. Please try again in 1.2s.   | 1200
            Rate limit reached. Please try again in 20ms.   | 20
            429: retry after 30 seconds                     | 30000
            429 "retryDelay": "32s"                         | 32000
            """)
    void classify_readsHowLongTheProviderAskedToWait(String message, long millis) {
        Failure failure = FailureClassifier.classify(new RuntimeException(message));

        assertThat(failure.kind()).isEqualTo(FailureKind.RATE_LIMITED);
        assertThat(failure.retryAfter()).isEqualTo(Duration.ofMillis(millis));
    }

    @Test
    void classify_withoutAWaitInTheText_leavesRetryAfterUnset() {
        assertThat(FailureClassifier.classify(new RuntimeException("429 Too Many Requests")).retryAfter()).isNull();
    }

    @Test
    void classify_takesAnUpstreamExceptionAtItsWord() {
        Failure given = new Failure(FailureKind.QUOTA_EXHAUSTED, Duration.ofSeconds(5), "429 Too Many Requests");

        assertThat(FailureClassifier.classify(new UpstreamException(given, 429))).isSameAs(given);
    }

    @Test
    void classify_findsAnUpstreamExceptionAmongTheCauses() {
        Failure given = Failure.of(FailureKind.INVALID_KEY, "400 API key not valid");
        RuntimeException wrapped = new RuntimeException("503 wrapper", new UpstreamException(given, 400));

        assertThat(FailureClassifier.classify(wrapped)).isSameAs(given);
    }

    @Test
    void classify_describesTheFailureBriefly() {
        Failure failure = FailureClassifier.classify(new IllegalStateException("429 " + "x".repeat(1_000)));

        assertThat(failure.message()).startsWith("IllegalStateException: 429").hasSizeLessThanOrEqualTo(301);
    }

    @Test
    void classify_aCauseChainThatLoops_stillEnds() {
        RuntimeException first = new RuntimeException("first");
        RuntimeException second = new RuntimeException("503 second", first);
        first.initCause(second);

        Failure failure = assertTimeoutPreemptively(Duration.ofSeconds(5), () -> FailureClassifier.classify(first));

        assertThat(failure.kind()).isEqualTo(FailureKind.SERVER_ERROR);
    }

    @Test
    void failureKind_onlyAClientErrorStaysWithTheCaller() {
        for (FailureKind kind : FailureKind.values()) {
            assertThat(kind.failsOver()).as(kind.name()).isEqualTo(kind != FailureKind.CLIENT_ERROR);
        }
        assertThat(FailureKind.RATE_LIMITED.id()).isEqualTo("rate_limited");
    }

    @Test
    void failure_negativeRetryAfterMeansNow_andAMissingMessageIsTheKind() {
        Failure failure = new Failure(FailureKind.SERVER_ERROR, Duration.ofSeconds(-3), null);

        assertThat(failure.retryAfter()).isZero();
        assertThat(failure.message()).isEqualTo("server_error");
    }

    @Test
    void upstreamException_carriesItsFailureAndStatus() {
        UpstreamException error = new UpstreamException(Failure.of(FailureKind.RATE_LIMITED, "429 slow down"), 429);

        assertThat(error.kind()).isEqualTo(FailureKind.RATE_LIMITED);
        assertThat(error.status()).isEqualTo(429);
        assertThat(error).hasMessage("429 slow down");
    }
}
