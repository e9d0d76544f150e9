package dev.keypool.usage;

import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;

/**
 * The day a moment falls in, in the zone whose midnight resets day limits.
 *
 * @param epochDay        the day's number since 1970-01-01 in that zone
 * @param startMillis     epoch millis of the day's first moment in that zone
 * @param nextStartMillis epoch millis of the next midnight in that zone
 */
public record DayWindow(long epochDay, long startMillis, long nextStartMillis) {

    public static DayWindow at(long nowMillis, ZoneId zone) {
        LocalDate date = LocalDate.ofInstant(Instant.ofEpochMilli(nowMillis), zone);
        return new DayWindow(date.toEpochDay(),
                date.atStartOfDay(zone).toInstant().toEpochMilli(),
                date.plusDays(1).atStartOfDay(zone).toInstant().toEpochMilli());
    }

    /** Whether {@code nowMillis} falls in this day. */
    public boolean contains(long nowMillis) {
        return nowMillis >= startMillis && nowMillis < nextStartMillis;
    }
}
