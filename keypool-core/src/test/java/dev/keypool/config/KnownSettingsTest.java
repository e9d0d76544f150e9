package dev.keypool.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class KnownSettingsTest {

    private static final List<Set<String>> KNOWN = List.of(EnvConfigLoader.SETTINGS,
            Set.of("KEYPOOL_PORT", "KEYPOOL_MAX_IN_FLIGHT", "KEYPOOL_MAX_CONNECTIONS"));

    @Test
    void requireKnown_refusesATypo_namingItAndTheNearestKnownName() {
        ConfigException refused = catchThrowableOfType(ConfigException.class, () -> KnownSettings.requireKnown(
                Set.of("OPENAI_API_KEYS", "KEYPOOL_PORT", "KEYPOOL_MAX_INFLIGHT"), KNOWN));

        assertThat(refused).hasMessageContaining("KEYPOOL_MAX_INFLIGHT")
                .hasMessageContaining("did you mean KEYPOOL_MAX_IN_FLIGHT?");
    }

    @Test
    void requireKnown_suggestsNothingWhenNoKnownNameIsClose() {
        ConfigException refused = catchThrowableOfType(ConfigException.class, () -> KnownSettings.requireKnown(
                Set.of("KEYPOOL_COMPLETELY_DIFFERENT_THING"), KNOWN));

        assertThat(refused).hasMessageContaining("KEYPOOL_COMPLETELY_DIFFERENT_THING: is not a keypool setting")
                .hasMessageNotContaining("did you mean");
    }

    @Test
    void requireKnown_acceptsKnownNamesAndOtherPrefixes() {
        assertThatCode(() -> KnownSettings.requireKnown(Set.of("KEYPOOL_PORT", "KEYPOOL_MAX_IN_FLIGHT", "PATH",
                "GEMINI_API_KEYS", "KEYPOOLX"), KNOWN)).doesNotThrowAnyException();
    }

    @Test
    void distance_isLevenshteins() {
        assertThat(KnownSettings.distance("KITTEN", "SITTING")).isEqualTo(3);
        assertThat(KnownSettings.distance("", "ABC")).isEqualTo(3);
        assertThat(KnownSettings.distance("SAME", "SAME")).isZero();
    }

    @Test
    void perKeyVariables_followTheProvidersPrefixes() {
        KeypoolConfig config = EnvConfigLoader.fromVariables(java.util.Map.of("SERP_API_KEYS", "serp-key-1",
                "SERP_MAX_TOKENS_PER_DAY_0", "100"));

        assertThat(config.keys(Provider.SERP)).singleElement()
                .satisfies(key -> assertThat(key.limits().perDay()).isEqualTo(100));
    }
}
