package dev.keypool.server;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneOffset;

/**
 * The gateway's {@link Main} on a clock shifted by {@value #OFFSET_PROPERTY} (an ISO-8601
 * duration), which {@link ChildGateway} sets so that every child of one test run lives on the same
 * timeline, starting at 10:00 UTC of the run's day: time goes on as it does on the system clock,
 * but a run never crosses midnight between one child and the next (issue 13: a test that killed a
 * gateway just before midnight found the restarted one in a new day).
 */
final class ClockedMain {

    static final String OFFSET_PROPERTY = "keypool.test.clock-offset";

    /** The shift from the system clock to 10:00 UTC of today, the same for every child of this run. */
    static final Duration OFFSET = Duration.between(Instant.now(),
            Instant.now().atOffset(ZoneOffset.UTC).with(LocalTime.of(10, 0)).toInstant());

    private ClockedMain() {
    }

    public static void main(String[] args) {
        Duration offset = Duration.parse(System.getProperty(OFFSET_PROPERTY, "PT0S"));
        Main.run(args, Clock.offset(Clock.systemUTC(), offset));
    }
}
