package dev.keypool.config;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class KeyMaskTest {

    @Test
    void mask_showsTheFirstAndLastFourCharactersOfAKey() {
        assertThat(KeyMask.mask("sk-proj-TEST.key1")).isEqualTo("sk-p\u2026key1");
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
            "sk-proj-TEST.abcdefghijklmnopqrstuvwxyz0123456789, sk-p\u20266789",
            "AIza-key1, AI\u2026y1",
            "12345678, 12\u202678",
            "short, \u2026",
            "'', ''"})
    void mask_showsLessOfShorterKeys(String secret, String masked) {
        assertThat(KeyMask.mask(secret)).isEqualTo(masked);
    }

    @Test
    void mask_ofNullIsEmpty() {
        assertThat(KeyMask.mask(null)).isEmpty();
    }

    @Test
    void scrub_replacesEveryOccurrenceOfTheKeyWithItsMask() {
        String text = "Incorrect API key provided: sk-proj-TEST.key1. You passed sk-proj-TEST.key1 twice.";

        assertThat(KeyMask.scrub(text, "sk-proj-TEST.key1"))
                .isEqualTo("Incorrect API key provided: sk-p\u2026key1. You passed sk-p\u2026key1 twice.");
    }

    @Test
    void scrub_leavesTextWithoutTheKeyAlone() {
        assertThat(KeyMask.scrub("429 Too Many Requests", "sk-proj-TEST.key1")).isEqualTo("429 Too Many Requests");
        assertThat(KeyMask.scrub(null, "sk-proj-TEST.key1")).isNull();
    }

    @Test
    void keyConfig_toStringShowsTheMaskedKeyOnly() {
        KeyConfig key = new KeyConfig(KeyId.of(Provider.OPENAI, 0), "sk-proj-TEST.key1", "gpt-4o",
                WindowLimits.of(90_000, 2_000_000));

        assertThat(key.toString()).contains("openai#0", "sk-p\u2026key1", "gpt-4o", "90000")
                .doesNotContain("sk-proj-TEST.key1");
        assertThat(key.maskedKey()).isEqualTo("sk-p\u2026key1");
    }

    @Test
    void keyConfig_aBlankModelMeansNone() {
        KeyConfig key = new KeyConfig(KeyId.of(Provider.OPENAI, 0), "sk-proj-TEST.key1", " ", WindowLimits.NONE);

        assertThat(key.model()).isNull();
    }

    @Test
    void windowLimits_toStringSaysWhichWindowsAreUnlimited() {
        assertThat(WindowLimits.of(100, WindowLimits.UNLIMITED).toString())
                .isEqualTo("limits[minute=100, day=unlimited]");
    }
}
