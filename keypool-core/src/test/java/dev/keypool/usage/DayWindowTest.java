package dev.keypool.usage;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

class DayWindowTest {

    private static long at(String instant) {
        return Instant.parse(instant).toEpochMilli();
    }

    @Test
    void at_inUtc_namesTheDayAndItsNextMidnight() {
        DayWindow day = DayWindow.at(at("2026-01-15T23:59:59.999Z"), ZoneOffset.UTC);

        assertThat(day.epochDay()).isEqualTo(LocalDate.of(2026, 1, 15).toEpochDay());
        assertThat(day.nextStartMillis()).isEqualTo(at("2026-01-16T00:00:00Z"));
    }

    @Test
    void at_midnightItself_belongsToTheNewDay() {
        DayWindow day = DayWindow.at(at("2026-01-16T00:00:00Z"), ZoneOffset.UTC);

        assertThat(day.epochDay()).isEqualTo(LocalDate.of(2026, 1, 16).toEpochDay());
        assertThat(day.nextStartMillis()).isEqualTo(at("2026-01-17T00:00:00Z"));
    }

    @Test
    void contains_theDaysFirstMomentButNotTheNextDays() {
        DayWindow day = DayWindow.at(at("2026-01-15T10:00:00Z"), ZoneOffset.UTC);

        assertThat(day.startMillis()).isEqualTo(at("2026-01-15T00:00:00Z"));
        assertThat(day.contains(at("2026-01-15T00:00:00Z"))).isTrue();
        assertThat(day.contains(at("2026-01-15T23:59:59.999Z"))).isTrue();
        assertThat(day.contains(at("2026-01-16T00:00:00Z"))).isFalse();
        assertThat(day.contains(at("2026-01-14T23:59:59.999Z"))).isFalse();
    }

    @Test
    void at_inAnotherZone_usesThatZonesMidnight() {
        // 10:00 UTC is 19:00 in Tokyo: the Tokyo day ends at 15:00 UTC
        DayWindow day = DayWindow.at(at("2026-01-15T10:00:00Z"), ZoneId.of("Asia/Tokyo"));

        assertThat(day.epochDay()).isEqualTo(LocalDate.of(2026, 1, 15).toEpochDay());
        assertThat(day.nextStartMillis()).isEqualTo(at("2026-01-15T15:00:00Z"));
    }

    @Test
    void at_onAShortDaylightSavingDay_endsAtTheRealNextMidnight() {
        // New York springs forward on 2026-03-08: that day has 23 hours, the next midnight is EDT
        DayWindow day = DayWindow.at(at("2026-03-08T12:00:00Z"), ZoneId.of("America/New_York"));

        assertThat(day.startMillis()).isEqualTo(at("2026-03-08T05:00:00Z"));
        assertThat(day.nextStartMillis()).isEqualTo(at("2026-03-09T04:00:00Z"));
    }
}
