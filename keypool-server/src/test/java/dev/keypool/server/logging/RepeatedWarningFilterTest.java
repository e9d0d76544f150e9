package dev.keypool.server.logging;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.util.LogbackMDCAdapter;
import ch.qos.logback.core.OutputStreamAppender;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * One warning per refused request flooded the log (a million lines in 90 s): repeats are held back
 * and counted, at most one line per kind per period. Time is a ticker the test moves.
 */
class RepeatedWarningFilterTest {

    private final AtomicLong ticker = new AtomicLong();
    private final RepeatedWarningFilter filter = new RepeatedWarningFilter(ticker::get);
    private final LoggerContext context = new LoggerContext();
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private Logger events;

    @BeforeEach
    void setUp() {
        // A context of its own, so that logback.xml's filter (real time) plays no part.
        context.setMDCAdapter(new LogbackMDCAdapter());
        context.start();
        PatternLayoutEncoder encoder = new PatternLayoutEncoder();
        encoder.setContext(context);
        encoder.setPattern("%level %logger - %msg%n");
        encoder.start();
        OutputStreamAppender<ILoggingEvent> appender = new OutputStreamAppender<>();
        appender.setContext(context);
        appender.setEncoder(encoder);
        appender.setOutputStream(bytes);
        appender.start();
        context.getLogger(Logger.ROOT_LOGGER_NAME).addAppender(appender);
        filter.setContext(context);
        filter.start();
        context.addTurboFilter(filter);
        events = context.getLogger("dev.keypool.events");
    }

    @AfterEach
    void tearDown() {
        context.stop();
    }

    private List<String> lines() {
        return Arrays.stream(bytes.toString(StandardCharsets.UTF_8).split("\n")).filter(line -> !line.isBlank()).toList();
    }

    private void advance(Duration duration) {
        ticker.addAndGet(duration.toNanos());
    }

    @Test
    void forget_writesWhatWasHeldBackAndLogsTheNextAtOnce() {
        // A regression: LogFloodTest saw no line at all when an earlier test in the same JVM had
        // opened the kind's window moments before.
        events.warn("No {} key can take {} tokens", "openai", 1);
        events.warn("No {} key can take {} tokens", "openai", 2);

        filter.forget();
        events.warn("No {} key can take {} tokens", "openai", 3);

        assertThat(lines()).containsExactly(
                "WARN dev.keypool.events - No openai key can take 1 tokens",
                "WARN dev.keypool.events - 1 more like this in the last 1 s; the last: No openai key can take 2 tokens",
                "WARN dev.keypool.events - No openai key can take 3 tokens");
    }

    @Test
    void floodOfOneWarning_isTheFirstLineThenOneSummaryPerPeriod() {
        for (int i = 0; i < 10_000; i++) {
            events.warn("No {} key can take {} tokens", "openai", i);
        }
        assertThat(lines()).containsExactly("WARN dev.keypool.events - No openai key can take 0 tokens");

        advance(Duration.ofSeconds(10));
        filter.flush();

        assertThat(lines()).hasSize(2);
        assertThat(lines().get(1)).isEqualTo("WARN dev.keypool.events - 9999 more like this in the last 10 s; the last:"
                + " No openai key can take 9999 tokens");
    }

    @Test
    void continuingFlood_writesAtMostOneLinePerPeriod() {
        for (int second = 0; second < 60; second++) {
            for (int i = 0; i < 100; i++) {
                events.warn("No {} key can take {} tokens", "openai", 7);
            }
            advance(Duration.ofSeconds(1));
        }
        filter.flush();

        // The first line, then one summary per 10 s.
        assertThat(lines()).hasSize(7);
        long summarised = lines().stream().skip(1).mapToLong(line -> Long.parseLong(line.split(" ")[3])).sum();
        assertThat(summarised + 1).isEqualTo(6000);
    }

    @Test
    void aRunThatStops_isSummarisedByTheNextFlush() {
        events.warn("{} failed", "openai/0");
        events.warn("{} failed", "openai/0");
        events.warn("{} failed", "openai/0");
        filter.flush();
        assertThat(lines()).hasSize(1);

        advance(Duration.ofSeconds(11));
        filter.flush();

        assertThat(lines()).last().asString().startsWith("WARN dev.keypool.events - 2 more like this in the last 11 s");
    }

    @Test
    void aWarningAfterAQuietPeriod_isLoggedAsItComes() {
        events.warn("{} failed", "openai/0");
        advance(Duration.ofSeconds(30));
        events.warn("{} failed", "openai/0");

        assertThat(lines()).containsExactly("WARN dev.keypool.events - openai/0 failed",
                "WARN dev.keypool.events - openai/0 failed");
    }

    @Test
    void differentFirstArguments_areDifferentKinds() {
        events.warn("{} failed", "openai/0");
        events.warn("{} failed", "openai/1");
        events.warn("{} failed", "openai/0");

        assertThat(lines()).containsExactly("WARN dev.keypool.events - openai/0 failed",
                "WARN dev.keypool.events - openai/1 failed");
    }

    @Test
    void messagesWithoutArguments_differingInNumbersOnly_areOneKind() {
        Logger helidon = context.getLogger("io.helidon.webserver.ConnectionHandler");
        helidon.warn("[0x2298b461 0x7e2c2a48] escaped Request exception");
        helidon.warn("[0x1298b461 0x5f8fecb2] escaped Request exception");
        helidon.warn("Internal server error");

        assertThat(lines()).containsExactly("WARN io.helidon.webserver.ConnectionHandler - [0x2298b461 0x7e2c2a48] escaped"
                + " Request exception", "WARN io.helidon.webserver.ConnectionHandler - Internal server error");
    }

    @Test
    void linesBelowWarn_areNeverHeldBack() {
        events.setLevel(Level.INFO);
        for (int i = 0; i < 5; i++) {
            events.info("{} cooling down", "openai/0");
        }

        assertThat(lines()).hasSize(5);
    }

    @Test
    void numbersFolded_foldsDecimalAndHexRuns() {
        assertThat(RepeatedWarningFilter.numbersFolded("[0x2298b461 0xABC] port 8080 took 12ms"))
                .isEqualTo("[# #] port # took #ms");
    }
}
