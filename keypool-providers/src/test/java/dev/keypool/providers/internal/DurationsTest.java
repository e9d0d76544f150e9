package dev.keypool.providers.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keypool.testing.ManualClock;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class DurationsTest {

    @Test
    void parseGo_readsTheResetValuesOpenAiSends() {
        assertThat(Durations.parseGo("6m0s")).isEqualTo(Duration.ofMinutes(6));
        assertThat(Durations.parseGo("20ms")).isEqualTo(Duration.ofMillis(20));
        assertThat(Durations.parseGo("1.5s")).isEqualTo(Duration.ofMillis(1500));
        assertThat(Durations.parseGo("11m32.334s")).isEqualTo(Duration.ofMinutes(11).plusMillis(32_334));
        assertThat(Durations.parseGo("1h23m31s")).isEqualTo(Duration.ofHours(1).plusMinutes(23).plusSeconds(31));
        assertThat(Durations.parseGo("180ms")).isEqualTo(Duration.ofMillis(180));
        assertThat(Durations.parseGo("250µs")).isEqualTo(Duration.ofNanos(250_000));
        assertThat(Durations.parseGo("0s")).isEqualTo(Duration.ZERO);
        assertThat(Durations.parseGo("0")).isEqualTo(Duration.ZERO);
    }

    @Test
    void parseGo_answersNullForWhatItCannotRead() {
        assertThat(Durations.parseGo(null)).isNull();
        assertThat(Durations.parseGo("")).isNull();
        assertThat(Durations.parseGo("soon")).isNull();
        assertThat(Durations.parseGo("6m0")).isNull();
        assertThat(Durations.parseGo("-1s")).isNull();
    }

    @Test
    void parseRetryAfter_readsDecimalSecondsAndHttpDates() {
        ManualClock clock = ManualClock.atNoonish();
        assertThat(Durations.parseRetryAfter("20", clock)).isEqualTo(Duration.ofSeconds(20));
        assertThat(Durations.parseRetryAfter("1.2", clock)).isEqualTo(Duration.ofMillis(1200));
        assertThat(Durations.parseRetryAfter("Thu, 15 Jan 2026 10:00:30 GMT", clock)).isEqualTo(Duration.ofSeconds(30));
        assertThat(Durations.parseRetryAfter("Thu, 15 Jan 2026 09:00:00 GMT", clock)).isEqualTo(Duration.ZERO);
        assertThat(Durations.parseRetryAfter("later", clock)).isNull();
        assertThat(Durations.parseRetryAfter("-5", clock)).isNull();
    }

    @Test
    void parseMillis_readsRetryAfterMs() {
        assertThat(Durations.parseMillis("644")).isEqualTo(Duration.ofMillis(644));
        assertThat(Durations.parseMillis("0.5")).isEqualTo(Duration.ofNanos(500_000));
        assertThat(Durations.parseMillis("x")).isNull();
    }

    @Test
    void parseProtobuf_readsGeminiRetryDelay() {
        assertThat(Durations.parseProtobuf("20s")).isEqualTo(Duration.ofSeconds(20));
        assertThat(Durations.parseProtobuf("0.2s")).isEqualTo(Duration.ofMillis(200));
        assertThat(Durations.parseProtobuf("20.70617005s")).isEqualTo(Duration.ofNanos(20_706_170_050L));
        assertThat(Durations.parseProtobuf("20")).isNull();
    }

    @Test
    void fromMessage_readsTheWaitProvidersWriteIntoMessages() {
        assertThat(Durations.fromMessage("… Requested 385. Please try again in 644ms. Visit https://…"))
                .isEqualTo(Duration.ofMillis(644));
        assertThat(Durations.fromMessage("… Please try again in 18.642s. Visit …")).isEqualTo(Duration.ofMillis(18_642));
        assertThat(Durations.fromMessage("… Please try again in 5m27.36s. Visit …"))
                .isEqualTo(Duration.ofMinutes(5).plusMillis(27_360));
        assertThat(Durations.fromMessage("model: gemini-2.5-flash\nPlease retry in 20.70617005s."))
                .isEqualTo(Duration.ofNanos(20_706_170_050L));
        assertThat(Durations.fromMessage("no wait in here")).isNull();
    }
}
