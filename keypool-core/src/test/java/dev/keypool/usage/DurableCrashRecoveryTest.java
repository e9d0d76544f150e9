package dev.keypool.usage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.keypool.config.KeyId;
import dev.keypool.config.Provider;
import dev.keypool.config.WindowLimits;
import dev.keypool.testing.ManualClock;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * The durable store after a crash: {@code kill -9} leaves the data directory as it was at that
 * moment, which a test reproduces by copying the directory while the store is still open (the
 * copy has no clean-shutdown mark, no last snapshot) and opening the copy. A restart must never
 * admit again what the crash lost.
 */
class DurableCrashRecoveryTest {

    private static final KeyId KEY = KeyId.of(Provider.OPENAI, 0);
    private static final Duration MANUAL = Duration.ofHours(1);
    private static final long SECOND = 1_000;
    private static final long MINUTE = 60_000;

    @TempDir
    Path work;

    private final ManualClock clock = ManualClock.atNoonish();
    private final ListAppender<ILoggingEvent> log = new ListAppender<>();
    private final Logger storeLogger = (Logger) LoggerFactory.getLogger(DurableUsageStore.class);
    private final Level levelBefore = storeLogger.getLevel();

    DurableCrashRecoveryTest() {
        log.start();
        storeLogger.addAppender(log);
        storeLogger.setLevel(Level.INFO);
    }

    @AfterEach
    void detachLog() {
        storeLogger.detachAppender(log);
        storeLogger.setLevel(levelBefore);
    }

    private DurableUsageStore open(Path dir) {
        DurableUsageStore store = DurableUsageStore.open(dir, InMemoryUsageStore.DEFAULT_BUCKET_MILLIS, MANUAL, clock);
        store.register(UsageStoreContract.registeredKeys(KEY));
        return store;
    }

    private DayWindow day() {
        return DayWindow.at(clock.millis(), ZoneOffset.UTC);
    }

    private ReserveResult reserve(UsageStore store, WindowLimits limits, long tokens) {
        return store.reserve(KEY, limits, tokens, clock.millis(), day(), clock.millis() + 10 * MINUTE);
    }

    /** Reserves and commits {@code tokens}. */
    private void spend(UsageStore store, WindowLimits limits, long tokens) {
        ReserveResult result = reserve(store, limits, tokens);
        assertThat(result).isInstanceOf(ReserveResult.Granted.class);
        store.settle(((ReserveResult.Granted) result).ticket(), tokens, clock.millis(), day());
    }

    /** What a test does with a store before it is killed. */
    private interface BeforeTheKill {
        void run(DurableUsageStore store) throws IOException;
    }

    /**
     * The data directory {@code name} as {@code kill -9} would leave it right after {@code before}
     * ran on a store opened there.
     */
    private Path crashedAfter(String name, BeforeTheKill before) throws IOException {
        Path dir = work.resolve(name);
        try (DurableUsageStore store = open(dir)) {
            before.run(store);
            return crashCopy(dir, name + "-after-kill");
        }
    }

    /** The data directory as {@code kill -9} would leave it now: what is on disk, no clean-shutdown mark. */
    private Path crashCopy(Path dir, String name) throws IOException {
        Path copy = Files.createDirectories(work.resolve(name));
        try (Stream<Path> files = Files.list(dir)) {
            for (Path file : files.toList()) {
                if (!file.getFileName().toString().equals(".lock")) {
                    Files.copy(file, copy.resolve(file.getFileName()));
                }
            }
        }
        return copy;
    }

    /**
     * Issue 11: kill -9 lost the last second (the snapshot is written once a second) and the
     * restarted gateway admitted it again: the provider saw 1,200 tokens in 3.4 s against a
     * 600-per-minute key.
     */
    @Test
    void killMinus9_losesTheLastSecond_andTheRestartDoesNotAdmitItAgain() throws IOException {
        WindowLimits limits = WindowLimits.of(600, WindowLimits.UNLIMITED);
        Path crashed = crashedAfter("minute", store -> {
            spend(store, limits, 300);
            store.flush();
            clock.advance(Duration.ofMillis(400));
            spend(store, limits, 300);
        });
        clock.advance(Duration.ofSeconds(3));

        try (DurableUsageStore restarted = open(crashed)) {
            ReserveResult.Denied denied = (ReserveResult.Denied) reserve(restarted, limits, 300);
            assertThat(denied.reason()).isEqualTo(DenialReason.MINUTE_LIMIT);
            assertThat(denied.retryAtMillis()).isEqualTo(clock.millis() + MINUTE);
            assertThat(restarted.usage(KEY, clock.millis(), day()).minuteFullUntilMillis())
                    .isEqualTo(clock.millis() + MINUTE);
            assertThat(reserve(restarted, WindowLimits.of(WindowLimits.UNLIMITED, 10_000), 300))
                    .as("a key without a minute limit is not held").isInstanceOf(ReserveResult.Granted.class);

            clock.advance(Duration.ofSeconds(60));
            assertThat(reserve(restarted, limits, 300)).isInstanceOf(ReserveResult.Granted.class);
        }
        assertThat(log.list).anySatisfy(event -> assertThat(event.getFormattedMessage())
                .contains("did not stop cleanly").contains("minute counts as full until"));
    }

    /** Issue 11: a crash after the last snapshot rolled a day counter back from 220 to 20. */
    @Test
    void crashAfterTheLastSnapshot_neverRollsTheDayCounterBack() throws IOException {
        WindowLimits limits = WindowLimits.of(WindowLimits.UNLIMITED, 1_000);
        Path crashed = crashedAfter("day", store -> {
            spend(store, limits, 20);
            store.flush();
            for (int i = 0; i < 4; i++) {
                spend(store, limits, 50);
            }
        });

        try (DurableUsageStore restarted = open(crashed)) {
            long dayTokens = restarted.usage(KEY, clock.millis(), day()).dayTokens();
            assertThat(dayTokens).as("at least what was admitted, at most one chunk more")
                    .isBetween(220L, 220L + 1_000 / DayCeilings.CHUNKS_PER_DAY);
        }
    }

    /** Issue 11: reservations orphaned by a crash were refunded: the day went from 600 to 0 while the provider charged 1,200. */
    @Test
    void reservationsPendingAtACrash_areChargedByTheRestart_neverRefunded() throws IOException {
        WindowLimits limits = WindowLimits.of(10_000, 600);
        Path crashed = crashedAfter("orphans", store -> {
            assertThat(reserve(store, limits, 600)).isInstanceOf(ReserveResult.Granted.class);
            store.flush();
        });

        try (DurableUsageStore restarted = open(crashed)) {
            assertThat(restarted.pendingCount()).isZero();
            clock.advance(Duration.ofMinutes(15));
            restarted.releaseExpired(clock.millis(), day());
            assertThat(restarted.usage(KEY, clock.millis(), day()).dayTokens()).isEqualTo(600);
            assertThat(((ReserveResult.Denied) reserve(restarted, limits, 600)).reason()).isEqualTo(DenialReason.DAY_LIMIT);
        }
    }

    @Test
    void cleanClose_leavesTheMark_andTheNextStartTrustsTheSnapshotAndHoldsNothing() {
        WindowLimits limits = WindowLimits.of(600, 1_000);
        Path dir = work.resolve("clean");
        try (DurableUsageStore store = open(dir)) {
            spend(store, limits, 300);
        }
        assertThat(dir.resolve(DurableUsageStore.CLEAN_SHUTDOWN_FILE_NAME)).exists();

        try (DurableUsageStore restarted = open(dir)) {
            assertThat(dir.resolve(DurableUsageStore.CLEAN_SHUTDOWN_FILE_NAME))
                    .as("removed at start, so that a crash from now on is unclean").doesNotExist();
            KeyUsage usage = restarted.usage(KEY, clock.millis(), day());
            assertThat(usage.minuteFullUntilMillis()).isZero();
            assertThat(usage.dayTokens()).as("exactly what was used, not the ceiling").isEqualTo(300);
            assertThat(reserve(restarted, limits, 300)).isInstanceOf(ReserveResult.Granted.class);
        }
        assertThat(log.list).noneSatisfy(event -> assertThat(event.getFormattedMessage()).contains("did not stop cleanly"));
    }

    @Test
    void dayCeiling_isWrittenBeforeTheTokensThatNeedItAreAdmitted_inChunks() throws IOException {
        WindowLimits limits = WindowLimits.of(WindowLimits.UNLIMITED, 2_000);
        Path dir = work.resolve("chunks");
        try (DurableUsageStore store = open(dir)) {
            spend(store, limits, 10);
            Path ceilings = dir.resolve(DurableUsageStore.CEILINGS_FILE_NAME);
            assertThat(ceilings).exists();
            assertThat(DayCeilings.open(ceilings).all().values()).singleElement().satisfies(
                    ceiling -> assertThat(ceiling.tokens()).isEqualTo(10 + 2_000 / DayCeilings.CHUNKS_PER_DAY));
            long written = Files.getLastModifiedTime(ceilings).toMillis();
            Files.setLastModifiedTime(ceilings, java.nio.file.attribute.FileTime.fromMillis(written - 60_000));

            spend(store, limits, 50);
            assertThat(Files.getLastModifiedTime(ceilings).toMillis()).as("within the chunk: no write")
                    .isEqualTo(written - 60_000);
            spend(store, limits, 100);
            assertThat(DayCeilings.open(ceilings).all().values()).singleElement().satisfies(
                    ceiling -> assertThat(ceiling.tokens()).isEqualTo(160 + 2_000 / DayCeilings.CHUNKS_PER_DAY));
        }
    }

    /**
     * Issue 11: with the disk full the gateway kept serving while nothing was saved, and said
     * nothing; a crash then lost the day. Now the store says it is degraded, logs it once, and a
     * key stops at the last ceiling it could save.
     */
    @Test
    void unwritableDataDirectory_isReportedOnceAsDegraded_andKeysStopAtTheirSavedCeiling() throws IOException {
        WindowLimits limits = WindowLimits.of(WindowLimits.UNLIMITED, 2_000);
        Path dir = work.resolve("full");
        try (DurableUsageStore store = open(dir)) {
            spend(store, limits, 10);
            assertThat(store.health()).isEqualTo(StoreHealth.HEALTHY);
            // As good as a full disk: neither file can be replaced any more.
            Files.createDirectories(dir.resolve(DurableUsageStore.FILE_NAME + ".tmp"));
            Files.createDirectories(dir.resolve(DurableUsageStore.CEILINGS_FILE_NAME + ".tmp"));

            for (int i = 0; i < 3; i++) {
                spend(store, limits, 10);
                assertThatThrownBy(store::flush).isInstanceOf(IOException.class);
            }

            assertThat(store.health().degraded()).isTrue();
            assertThat(store.health().problem()).contains(dir.toAbsolutePath().toString()).contains("day ceiling");
            assertThat(log.list).filteredOn(event -> event.getLevel() == Level.WARN).singleElement()
                    .satisfies(event -> assertThat(event.getFormattedMessage()).contains("Cannot write the usage snapshot"));
            // The saved ceiling is 110: 70 more fit, the next 50 need a ceiling that cannot be written.
            spend(store, limits, 70);
            ReserveResult.Denied denied = (ReserveResult.Denied) reserve(store, limits, 50);
            assertThat(denied.reason()).isEqualTo(DenialReason.DAY_LIMIT);
            assertThat(denied.retryAtMillis()).isLessThan(day().nextStartMillis());
            assertThat(store.usage(KEY, clock.millis(), day()).dayTokens()).isEqualTo(110);

            Files.delete(dir.resolve(DurableUsageStore.FILE_NAME + ".tmp"));
            Files.delete(dir.resolve(DurableUsageStore.CEILINGS_FILE_NAME + ".tmp"));
            store.flush();
            spend(store, limits, 50);
            assertThat(store.health()).isEqualTo(StoreHealth.HEALTHY);
        }
        assertThat(log.list).filteredOn(event -> event.getLevel() == Level.WARN).hasSize(2);
        assertThat(log.list).filteredOn(event -> event.getFormattedMessage().contains("again")).hasSize(2);
    }

    @Test
    void crashAfterTheLastSnapshot_neverRollsTheDayRequestCountBack_andHoldsTheRequestMinute() throws IOException {
        WindowLimits limits = WindowLimits.ofRequests(1_000, 100);
        Path crashed = crashedAfter("requests", store -> {
            spend(store, limits, 1);
            spend(store, limits, 1);
            store.flush();
            for (int i = 0; i < 4; i++) {
                spend(store, limits, 1);
            }
        });

        try (DurableUsageStore restarted = open(crashed)) {
            long dayRequests = restarted.usage(KEY, clock.millis(), day()).dayRequests();
            assertThat(dayRequests).as("at least what was admitted, at most one chunk more")
                    .isBetween(6L, 6L + 100 / DayCeilings.CHUNKS_PER_DAY);
            ReserveResult refused = reserve(restarted, WindowLimits.ofRequests(1_000, WindowLimits.UNLIMITED), 1);
            assertThat(refused).as("the lost second may have admitted any number of requests")
                    .isInstanceOf(ReserveResult.Denied.class);
            assertThat(((ReserveResult.Denied) refused).reason()).isEqualTo(DenialReason.REQUEST_MINUTE_LIMIT);
        }
    }

    @Test
    void requestsPendingAtACrash_areChargedByTheRestart() throws IOException {
        WindowLimits limits = WindowLimits.ofRequests(WindowLimits.UNLIMITED, 1);
        Path crashed = crashedAfter("pending-requests", store -> {
            assertThat(reserve(store, limits, 10)).isInstanceOf(ReserveResult.Granted.class);
            store.flush();
        });

        try (DurableUsageStore restarted = open(crashed)) {
            clock.advanceMillis(2 * MINUTE);
            ReserveResult refused = reserve(restarted, limits, 10);
            assertThat(refused).isInstanceOf(ReserveResult.Denied.class);
            assertThat(((ReserveResult.Denied) refused).reason()).isEqualTo(DenialReason.REQUEST_DAY_LIMIT);
        }
    }
}
