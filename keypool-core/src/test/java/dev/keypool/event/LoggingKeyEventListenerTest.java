package dev.keypool.event;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.keypool.config.KeyId;
import dev.keypool.config.KeyMask;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.config.SelectionStrategy;
import dev.keypool.config.WindowLimits;
import dev.keypool.failure.Failure;
import dev.keypool.failure.FailureKind;
import dev.keypool.rotation.ApiKeyManager;
import dev.keypool.rotation.ApiKeyRotator;
import dev.keypool.rotation.TokenUsage;
import dev.keypool.testing.ManualClock;
import dev.keypool.usage.InMemoryUsageStore;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class LoggingKeyEventListenerTest {

    private static final List<String> SECRETS = List.of(
            "sk-proj-TEST.abcdefghijklmnop1", "sk-proj-TEST.abcdefghijklmnop2", "AIza-abcdefghijklmnopq1");

    private final Logger eventsLogger = (Logger) LoggerFactory.getLogger("dev.keypool.events");
    private final ListAppender<ILoggingEvent> appender = new ListAppender<>();
    private Level previousLevel;

    private final ManualClock clock = ManualClock.atNoonish();
    private ApiKeyManager manager;
    private ApiKeyRotator rotator;

    @BeforeEach
    void captureLogs() {
        // Captured here only: the DEBUG lines this test asks for stay off the console.
        previousLevel = eventsLogger.getLevel();
        eventsLogger.setLevel(Level.DEBUG);
        eventsLogger.setAdditive(false);
        appender.start();
        eventsLogger.addAppender(appender);

        KeypoolConfig config = KeypoolConfig.builder()
                .addKey(Provider.OPENAI, SECRETS.get(0), "gpt-4o", WindowLimits.of(1_000, 10_000))
                .addKey(Provider.OPENAI, SECRETS.get(1), null, WindowLimits.of(1_000, 10_000))
                .addKey(Provider.GEMINI, SECRETS.get(2))
                .selectionStrategy(SelectionStrategy.FILL_FIRST)
                .reservationTimeout(Duration.ofSeconds(30))
                .build();
        manager = new ApiKeyManager(config, new InMemoryUsageStore(), clock);
        manager.events().addListener(new LoggingKeyEventListener());
        rotator = new ApiKeyRotator(manager);
    }

    @AfterEach
    void stopCapturing() {
        eventsLogger.detachAppender(appender);
        eventsLogger.setAdditive(true);
        eventsLogger.setLevel(previousLevel);
    }

    private List<String> lines() {
        return appender.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
    }

    private List<ILoggingEvent> logged(Level level) {
        return appender.list.stream().filter(event -> event.getLevel() == level).toList();
    }

    /** Drives every kind of event, with the key itself in the providers' error texts. */
    private void everythingHappens() {
        rotator.acquire(Provider.OPENAI, "gpt-4o", 100).commit(TokenUsage.of(40, 20));
        rotator.acquire(Provider.OPENAI, null, 100).release();
        // the rate-limited key hands over to the next, which serves
        rotator.executeWithFallback(Provider.OPENAI, reservation -> {
            if (reservation.index() == 0) {
                throw new RuntimeException("429 Too Many Requests for " + SECRETS.get(0) + ", try again in 2s");
            }
            return null;
        }, 100, null);
        rotator.acquire(Provider.OPENAI, null, 100).fail(
                new RuntimeException("Incorrect API key provided: " + SECRETS.get(1)));
        catchThrowable(() -> rotator.acquire(Provider.OPENAI, "gpt-4o", 100));
        catchThrowable(() -> rotator.executeWithFallback("gemini", reservation -> {
            throw new RuntimeException("quota exceeded for " + reservation.apiKey());
        }, 10, null));
        manager.resetAll();
        rotator.acquire(Provider.GEMINI, null, 1);
        clock.advance(Duration.ofSeconds(31));
        manager.maintain();
        manager.deactivate(KeyId.of(Provider.OPENAI, 1), null);
        rotator.acquire(Provider.OPENAI, null, 1).fail(new Failure(FailureKind.SERVER_ERROR, Duration.ofSeconds(1),
                "503 for " + SECRETS.get(0)));
        clock.advance(Duration.ofSeconds(2));
        manager.maintain();
        // The cooled key's next request is its probe; its success brings the key back.
        rotator.acquire(Provider.OPENAI, null, 1).commit(1);
    }

    @Test
    void logLines_neverContainAFullKey() {
        everythingHappens();

        assertThat(lines()).hasSizeGreaterThan(10)
                .allSatisfy(line -> assertThat(line).doesNotContain(SECRETS));
        assertThat(appender.list).allSatisfy(event -> assertThat(String.valueOf(event.getThrowableProxy() == null
                ? "" : event.getThrowableProxy().getMessage())).doesNotContain(SECRETS));
    }

    @Test
    void logLines_nameTheKeyByIdAndMask() {
        everythingHappens();

        assertThat(lines()).anySatisfy(line -> assertThat(line).contains("openai#0", "sk-p\u2026nop1"));
        assertThat(lines()).anySatisfy(line -> assertThat(line).contains("gemini#0", KeyMask.mask(SECRETS.get(2))));
    }

    @Test
    void stateChangesAreLoggedAtInfoOrWarn_trafficAtDebug() {
        everythingHappens();

        assertThat(logged(Level.DEBUG)).extracting(ILoggingEvent::getFormattedMessage)
                .anySatisfy(line -> assertThat(line).contains("acquired for 100 tokens (model gpt-4o)"))
                .anySatisfy(line -> assertThat(line).contains("used 60 tokens (100 reserved)"))
                .anySatisfy(line -> assertThat(line).contains("released 100 reserved tokens"));
        assertThat(logged(Level.WARN)).extracting(ILoggingEvent::getFormattedMessage)
                .anySatisfy(line -> assertThat(line).contains("failed: rate_limited").contains("trying the next key"))
                .anySatisfy(line -> assertThat(line).contains("deactivated (invalid key"))
                .anySatisfy(line -> assertThat(line).contains("until an admin reset"))
                .anySatisfy(line -> assertThat(line).contains("No openai key can take 100 tokens for gpt-4o"))
                .anySatisfy(line -> assertThat(line).contains("reservation of 1 tokens expired unsettled"));
        assertThat(logged(Level.INFO)).extracting(ILoggingEvent::getFormattedMessage)
                .anySatisfy(line -> assertThat(line).contains("cooling down until").contains("after rate_limited"))
                .anySatisfy(line -> assertThat(line).contains("active again (admin reset)"))
                .anySatisfy(line -> assertThat(line).endsWith("active again"));
    }
}
