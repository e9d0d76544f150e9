package dev.keypool.adapter;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keypool.config.Provider;
import dev.keypool.failure.Failure;
import dev.keypool.failure.FailureKind;
import dev.keypool.providers.relay.Header;
import dev.keypool.providers.relay.RequestRefused;
import dev.keypool.rotation.NoAvailableKeyException;
import dev.keypool.rotation.NoAvailableKeyException.Reason;
import dev.keypool.usage.KeyState;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** keypool's own refusals, answered in each protocol's shape with the statuses the gateway uses. */
class PoolRefusalTest {

    private static final long NOW = 1_000_000L;

    @Test
    void aSpentPool_isA429WithRetryAfter_andGooglesRetryInfoInGeminisShape() {
        NoAvailableKeyException spent = new NoAvailableKeyException(Provider.GEMINI, Reason.ALL_COOLING_DOWN,
                NOW + 12_500, "every gemini key is cooling down", null);

        PoolRefusal refusal = PoolRefusal.of(Provider.GEMINI, spent, NOW);

        assertThat(refusal.status()).isEqualTo(429);
        assertThat(refusal.retryAfter()).isEqualTo(Duration.ofSeconds(13));
        assertThat(Header.first(refusal.headers(), "Retry-After")).isEqualTo("13");
        assertThat(new String(refusal.body(), StandardCharsets.UTF_8))
                .contains("\"status\":\"RESOURCE_EXHAUSTED\"", "\"retryDelay\":\"13s\"");
        assertThat(refusal.message()).contains("a key frees up in 13 s");
    }

    @Test
    void noKeys_isA503_andAKeyThatNeverFreesUpSaysNoTime() {
        NoAvailableKeyException none = new NoAvailableKeyException(Provider.OPENAI, Reason.NO_KEYS, KeyState.NEVER,
                "no openai keys configured", null);

        PoolRefusal refusal = PoolRefusal.of(Provider.OPENAI, none, NOW);

        assertThat(refusal.status()).isEqualTo(503);
        assertThat(refusal.retryAfter()).isNull();
        assertThat(Header.first(refusal.headers(), "Retry-After")).isNull();
        assertThat(new String(refusal.body(), StandardCharsets.UTF_8)).contains("\"code\":\"no_keys_configured\"");
    }

    @ParameterizedTest
    @EnumSource(value = FailureKind.class, names = {"RATE_LIMITED", "QUOTA_EXHAUSTED", "INVALID_KEY", "SERVER_ERROR",
            "UNREACHABLE"})
    void everyKeyFailed_isAnsweredByTheFailureTableForTheLastKind_notClassifiedAgain(FailureKind kind) {
        // The cause's text would classify as a rate limit: the answer must follow the kind recorded.
        NoAvailableKeyException failed = new NoAvailableKeyException(Provider.OPENAI, Reason.ALL_KEYS_FAILED,
                KeyState.NEVER, "every openai key failed", new IllegalStateException("429 rate limit"),
                Failure.of(kind, "the last key's failure"));

        PoolRefusal refusal = PoolRefusal.of(Provider.OPENAI, failed, NOW);

        assertThat(refusal.status()).isEqualTo(kind.gatewayStatus());
        assertThat(refusal.body()).asString(StandardCharsets.UTF_8).contains("\"code\":\"" + kind.gatewayCode() + "\"");
    }

    @Test
    void aRefusedRequest_keepsItsStatusAndParameter_inOllamasShapeTooAsPlainText() {
        RequestRefused refused = RequestRefused.unsupported("logprobs", "ollama has no logprobs");

        assertThat(PoolRefusal.of(Provider.OPENAI, refused, NOW).body()).asString(StandardCharsets.UTF_8)
                .contains("\"param\":\"logprobs\"", "\"code\":\"unsupported_parameter\"");
        assertThat(PoolRefusal.of(Provider.OLLAMA, refused, NOW).body()).asString(StandardCharsets.UTF_8)
                .isEqualTo("{\"error\":\"ollama has no logprobs\"}");
    }

    @Test
    void somethingThatIsNoRefusal_isNotDressedAsOne() {
        assertThat(PoolRefusal.of(Provider.OPENAI, new IllegalStateException("a bug"), NOW)).isNull();
    }
}
