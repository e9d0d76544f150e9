package dev.keypool.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.time.Duration;
import java.util.List;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;

class KeypoolConfigBuilderTest {

    private static ConfigException refusal(ThrowingCallable call) {
        ConfigException refusal = catchThrowableOfType(ConfigException.class, call);
        assertThat(refusal).as("the builder refuses").isNotNull();
        return refusal;
    }

    @Test
    void addKey_numbersKeysPerProviderInTheOrderAdded() {
        KeypoolConfig config = KeypoolConfig.builder()
                .addKey(Provider.OPENAI, "sk-proj-TEST.key1")
                .addKey(Provider.GEMINI, "AIza-key1", "gemini-1.5-pro-latest", WindowLimits.of(60_000, 1_000_000))
                .addKey(Provider.OPENAI, " sk-proj-TEST.key2 ", "gpt-4o", WindowLimits.of(90_000, 2_000_000))
                .build();

        assertThat(config.keys(Provider.OPENAI)).extracting(KeyConfig::id)
                .containsExactly(KeyId.of(Provider.OPENAI, 0), KeyId.of(Provider.OPENAI, 1));
        assertThat(config.keys(Provider.OPENAI).get(1).secret()).isEqualTo("sk-proj-TEST.key2");
        assertThat(config.keys(Provider.OPENAI).get(0).limits()).isEqualTo(WindowLimits.NONE);
        assertThat(config.keys(Provider.GEMINI).get(0).model()).isEqualTo("gemini-1.5-pro-latest");
    }

    @Test
    void addKey_refusesAnEmptyKey_namingTheProvidersVariable() {
        ConfigException refusal = refusal(() -> KeypoolConfig.builder().addKey(Provider.SERP, " "));

        assertThat(refusal.variable()).isEqualTo("SERP_API_KEYS");
        assertThat(refusal).hasMessageContaining("key 0 is empty");
    }

    @Test
    void addKey_refusesTheSameKeyTwiceForOneProvider_showingItMasked() {
        KeypoolConfig.Builder builder = KeypoolConfig.builder().addKey(Provider.OPENAI, "sk-proj-TEST.key1");

        ConfigException refusal = refusal(() -> builder.addKey(Provider.OPENAI, "sk-proj-TEST.key1"));

        assertThat(refusal.variable()).isEqualTo("OPENAI_API_KEYS");
        assertThat(refusal).hasMessageContaining("sk-p\u2026key1").hasMessageNotContaining("sk-proj-TEST.key1");
    }

    @Test
    void addKey_allowsTheSameTextForTwoProviders() {
        KeypoolConfig config = KeypoolConfig.builder()
                .addKey(Provider.OPENAI, "shared-secret-123")
                .addKey(Provider.SERP, "shared-secret-123")
                .build();

        assertThat(config.allKeys()).hasSize(2);
    }

    @Test
    void addKey_refusesAKeyForKeylessOllama() {
        ConfigException refusal = refusal(() -> KeypoolConfig.builder().addKey(Provider.OLLAMA, "anything"));

        assertThat(refusal.variable()).isEqualTo("OLLAMA_API_KEYS");
        assertThat(refusal).hasMessageContaining("keyless");
    }

    @Test
    void windowLimits_refuseNonPositiveValues_namingTheField() {
        assertThatThrownBy(() -> WindowLimits.of(0, 10)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("perMinute");
        assertThatThrownBy(() -> WindowLimits.of(10, -1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("perDay");
    }

    @Test
    void setters_refuseBadValues_namingTheField() {
        KeypoolConfig.Builder builder = KeypoolConfig.builder();

        assertThat(refusal(() -> builder.baseUrl(Provider.GEMINI, "generativelanguage.googleapis.com")).variable())
                .isEqualTo("GEMINI_BASE_URL");
        assertThat(refusal(() -> builder.baseUrl(Provider.OLLAMA, null)).variable()).isEqualTo("OLLAMA_HOST");
        assertThat(refusal(() -> builder.providerPriority(List.of())).variable())
                .isEqualTo("KEYPOOL_PROVIDER_PRIORITY");
        assertThat(refusal(() -> builder.providerPriority(List.of(Provider.OPENAI, Provider.OPENAI))).variable())
                .isEqualTo("KEYPOOL_PROVIDER_PRIORITY");
        assertThat(refusal(() -> builder.rateLimitCooldown(Duration.ZERO)).variable())
                .isEqualTo("KEYPOOL_RATE_LIMIT_COOLDOWN_SECONDS");
        assertThat(refusal(() -> builder.serverErrorCooldown(Duration.ofSeconds(-1))).variable())
                .isEqualTo("KEYPOOL_SERVER_ERROR_COOLDOWN_SECONDS");
        assertThat(refusal(() -> builder.reservationTimeout(null)).variable())
                .isEqualTo("KEYPOOL_RESERVATION_TIMEOUT_SECONDS");
        assertThat(refusal(() -> builder.fallback("gpt-4o", " ")).variable()).isEqualTo("KEYPOOL_FALLBACKS");
    }

    @Test
    void build_isUnaffectedByLaterChangesToTheBuilder() {
        KeypoolConfig.Builder builder = KeypoolConfig.builder().addKey(Provider.OPENAI, "sk-proj-TEST.key1");
        KeypoolConfig config = builder.build();

        builder.addKey(Provider.OPENAI, "sk-proj-TEST.key2").fallback("gpt-4o", "gpt-4o-mini")
                .setting("KEYPOOL_PORT", "9999");

        assertThat(config.keys(Provider.OPENAI)).hasSize(1);
        assertThat(config.fallbacks()).isEmpty();
        assertThat(config.setting("KEYPOOL_PORT")).isNull();
        assertThatThrownBy(() -> config.keys(Provider.OPENAI).add(config.keys(Provider.OPENAI).get(0)))
                .isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void toString_countsKeysButShowsNone() {
        KeypoolConfig config = KeypoolConfig.builder()
                .addKey(Provider.OPENAI, "sk-proj-TEST.key1")
                .setting("KEYPOOL_ADMIN_TOKEN", "admin-secret-token")
                .setting("KEYPOOL_REDIS_URL", "redis://:password@localhost:6379")
                .build();

        assertThat(config.toString()).contains("openai=1 keys")
                .doesNotContain("sk-proj-TEST.key1", "admin-secret-token", "password");
    }
}
