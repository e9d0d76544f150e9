package dev.keypool.usage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keypool.config.WindowLimits;
import dev.keypool.failure.FailureKind;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DurableUsageStoreTest extends UsageStoreContract {

    private static final WindowLimits LIMITS = WindowLimits.of(10_000, 100_000);
    /** Long enough that only explicit flushes and closes write in these tests. */
    private static final Duration MANUAL = Duration.ofHours(1);

    @TempDir
    Path dataDir;

    private int opened;

    @Override
    protected UsageStore createStore() {
        // Each contract test gets its own directory: the contract wants an empty store.
        return DurableUsageStore.open(dataDir.resolve("contract-" + opened++));
    }

    /** Opens on a clock at {@link #T0}: reservations a restart charges are charged there. */
    private DurableUsageStore open(Path dir) {
        DurableUsageStore store = DurableUsageStore.open(dir, InMemoryUsageStore.DEFAULT_BUCKET_MILLIS, MANUAL,
                Clock.fixed(Instant.ofEpochMilli(T0), UTC));
        store.register(registeredKeys(KEY, OTHER_KEY));
        return store;
    }

    @Test
    void reopen_restoresMinuteAndDayWindows_andKeyStates_andChargesPendingReservations() throws IOException {
        Path dir = dataDir.resolve("restart");
        long now = T0;
        Ticket settled;
        Ticket pendingTicket;
        try (DurableUsageStore first = open(dir)) {
            settled = granted(first, 3_000, now);
            first.settle(settled, 2_500, now, DayWindow.at(now, UTC));
            pendingTicket = granted(first, 1_000, now + SECOND);
            first.setState(OTHER_KEY, KeyState.deactivated(FailureKind.INVALID_KEY, "invalid key", KeyState.NEVER));
        }

        try (DurableUsageStore second = open(dir)) {
            KeyUsage usage = second.usage(KEY, now + 2 * SECOND, DayWindow.at(now, UTC));
            assertThat(usage.minuteTokens()).isEqualTo(3_500);
            assertThat(usage.dayTokens()).isEqualTo(3_500);
            assertThat(second.state(OTHER_KEY).status()).isEqualTo(KeyStatus.DEACTIVATED);
            assertThat(second.state(OTHER_KEY).reason()).isEqualTo("invalid key");
            // Whoever held the pending reservation is gone: it stays charged, and cannot be refunded.
            assertThat(second.pendingCount()).isZero();
            assertThat(second.settle(pendingTicket, 400, now + 3 * SECOND, DayWindow.at(now, UTC))).isFalse();
            assertThat(second.usage(KEY, now + 3 * SECOND, DayWindow.at(now, UTC)).minuteTokens()).isEqualTo(3_500);
            assertThat(granted(second, 10, now + 4 * SECOND).id()).as("new tickets get new ids")
                    .isGreaterThan(pendingTicket.id());
        }
    }

    @Test
    void reopen_minuteWindowKeepsSliding_afterTheRestart_withAReservationPendingAtTheStopChargedAtTheRestart() {
        Path dir = dataDir.resolve("sliding");
        try (DurableUsageStore first = open(dir)) {
            granted(first, 10_000, T0);
        }
        try (DurableUsageStore second = open(dir)) {
            assertThat(denied(second, 1, T0 + 30 * SECOND).reason()).isEqualTo(DenialReason.MINUTE_LIMIT);
            assertThat(second.usage(KEY, T0 + MINUTE + SECOND, DayWindow.at(T0, UTC)).minuteTokens()).isZero();
            assertThat(second.usage(KEY, T0 + MINUTE + SECOND, DayWindow.at(T0, UTC)).dayTokens()).isEqualTo(10_000);
        }
    }

    /**
     * The newest bucket's counts are written with the ring: tokens and a request settled in it
     * before the stop leave the minute a minute later, when a bucket settled after the restart is
     * still in it.
     */
    @Test
    void reopen_theNewestBucketBeforeTheStop_leavesTheMinuteOnTime_afterLaterBucketsWereSettled() {
        Path dir = dataDir.resolve("newest-bucket");
        try (DurableUsageStore first = open(dir)) {
            first.settle(granted(first, 4_000, T0 + 30 * SECOND), 4_000, T0 + 30 * SECOND, DayWindow.at(T0, UTC));
        }
        try (DurableUsageStore second = open(dir)) {
            second.settle(granted(second, 1_000, T0 + 40 * SECOND), 1_000, T0 + 40 * SECOND, DayWindow.at(T0, UTC));
            KeyUsage both = second.usage(KEY, T0 + 89 * SECOND, DayWindow.at(T0, UTC));
            assertThat(both.minuteTokens()).isEqualTo(5_000);
            assertThat(both.minuteRequests()).isEqualTo(2);

            KeyUsage later = second.usage(KEY, T0 + 91 * SECOND, DayWindow.at(T0, UTC));
            assertThat(later.minuteTokens()).isEqualTo(1_000);
            assertThat(later.minuteRequests()).isEqualTo(1);
            assertThat(later.dayTokens()).isEqualTo(5_000);
        }
    }

    @Test
    void flush_writesOnlyWhenSomethingChanged() throws IOException {
        Path dir = dataDir.resolve("dirty");
        try (DurableUsageStore store = open(dir)) {
            store.flush();
            assertThat(store.file()).doesNotExist();

            granted(store, 10, T0);
            store.flush();
            assertThat(store.file()).exists();
            long written = Files.getLastModifiedTime(store.file()).toMillis();
            Files.setLastModifiedTime(store.file(), java.nio.file.attribute.FileTime.fromMillis(written - 60_000));

            store.flush();
            assertThat(Files.getLastModifiedTime(store.file()).toMillis()).isEqualTo(written - 60_000);
        }
    }

    @Test
    void open_refusesATornSnapshot_insteadOfStartingFromZero() throws IOException {
        Path file = savedSnapshot("torn");
        byte[] bytes = Files.readAllBytes(file);
        Files.write(file, java.util.Arrays.copyOf(bytes, bytes.length - 7));

        assertThatThrownBy(() -> open(file.getParent()))
                .isInstanceOf(StoreCorruptedException.class)
                .hasMessageContaining("torn")
                .hasMessageContaining(file.toString())
                .hasMessageContaining("move it away");
    }

    @Test
    void open_refusesASnapshotWhoseBytesChanged() throws IOException {
        Path file = savedSnapshot("flipped");
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length / 2] ^= 0x10;
        Files.write(file, bytes);

        assertThatThrownBy(() -> open(file.getParent()))
                .isInstanceOf(StoreCorruptedException.class)
                .hasMessageContaining("checksum");
    }

    @Test
    void open_refusesAFileThatIsNotASnapshot() throws IOException {
        Path dir = Files.createDirectories(dataDir.resolve("foreign"));
        Files.writeString(dir.resolve(DurableUsageStore.FILE_NAME), "OPENAI_API_KEYS=not-a-snapshot\n");

        assertThatThrownBy(() -> open(dir))
                .isInstanceOf(StoreCorruptedException.class)
                .hasMessageContaining("not a keypool usage snapshot");
    }

    @Test
    void open_refusesASnapshotWrittenWithOtherBucketWidths() throws IOException {
        Path file = savedSnapshot("buckets");

        assertThatThrownBy(() -> DurableUsageStore.open(file.getParent(), 100, MANUAL))
                .isInstanceOf(StoreCorruptedException.class)
                .hasMessageContaining("buckets");
    }

    @Test
    void open_refusesADirectoryAnotherStoreHolds() {
        Path dir = dataDir.resolve("shared");
        try (DurableUsageStore first = open(dir)) {
            assertThatThrownBy(() -> open(dir))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("Another keypool process")
                    .hasMessageContaining("KEYPOOL_DATA_DIR");
        }
        open(dir).close();
    }

    @Test
    void open_reportsADataDirectoryThatCannotBeCreated() throws IOException {
        Path file = Files.writeString(dataDir.resolve("a-file"), "x");

        assertThatThrownBy(() -> open(file.resolve("data")))
                .isInstanceOf(UncheckedIOException.class)
                .hasMessageContaining("Cannot use the data directory");
    }

    @Test
    void backgroundFlush_savesWithoutAClose() throws IOException {
        Path dir = dataDir.resolve("background");
        DurableUsageStore store = DurableUsageStore.open(dir, InMemoryUsageStore.DEFAULT_BUCKET_MILLIS,
                Duration.ofMillis(20));
        store.register(registeredKeys(KEY));
        try {
            granted(store, 777, T0);
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10))
                    .until(() -> Files.exists(store.file()));
            StoreSnapshot saved = SnapshotFile.read(store.file());
            assertThat(saved.windows()).singleElement()
                    .satisfies(window -> assertThat(window.held()).as("reserved, not settled yet").isEqualTo(777));
        } finally {
            store.close();
        }
    }

    private Path savedSnapshot(String name) {
        Path dir = dataDir.resolve(name);
        try (DurableUsageStore store = open(dir)) {
            granted(store, 1_234, T0);
            store.setState(OTHER_KEY, KeyState.coolingDown(FailureKind.RATE_LIMITED, "429", T0 + MINUTE));
            return store.file();
        }
    }

    private Ticket granted(UsageStore target, long tokens, long now) {
        ReserveResult result = target.reserve(KEY, LIMITS, tokens, now, DayWindow.at(now, UTC), NO_EXPIRY);
        assertThat(result).isInstanceOf(ReserveResult.Granted.class);
        return ((ReserveResult.Granted) result).ticket();
    }

    private ReserveResult.Denied denied(UsageStore target, long tokens, long now) {
        ReserveResult result = target.reserve(KEY, LIMITS, tokens, now, DayWindow.at(now, UTC), NO_EXPIRY);
        assertThat(result).isInstanceOf(ReserveResult.Denied.class);
        return (ReserveResult.Denied) result;
    }

    @Test
    void reopen_restoresTheRequestCounts_andChargesTheRequestOfAReservationPendingAtTheStop() {
        Path dir = dataDir.resolve("requests");
        WindowLimits limits = WindowLimits.ofRequests(3, 3);
        try (DurableUsageStore first = open(dir)) {
            Ticket done = first.reserve(KEY, limits, 1, T0, DayWindow.at(T0, UTC), NO_EXPIRY) instanceof
                    ReserveResult.Granted g ? g.ticket() : null;
            assertThat(done).isNotNull();
            first.settle(done, 1, T0, DayWindow.at(T0, UTC));
            assertThat(first.reserve(KEY, limits, 1, T0, DayWindow.at(T0, UTC), NO_EXPIRY))
                    .isInstanceOf(ReserveResult.Granted.class);
        }
        try (DurableUsageStore second = open(dir)) {
            KeyUsage usage = second.usage(KEY, T0 + SECOND, DayWindow.at(T0, UTC));
            assertThat(usage.minuteRequests()).isEqualTo(2);
            assertThat(usage.dayRequests()).isEqualTo(2);
            assertThat(second.reserve(KEY, limits, 1, T0 + SECOND, DayWindow.at(T0, UTC), NO_EXPIRY))
                    .isInstanceOf(ReserveResult.Granted.class);
            ReserveResult refused = second.reserve(KEY, limits, 1, T0 + 2 * MINUTE, DayWindow.at(T0, UTC), NO_EXPIRY);
            assertThat(refused).isInstanceOf(ReserveResult.Denied.class);
            assertThat(((ReserveResult.Denied) refused).reason()).isEqualTo(DenialReason.REQUEST_DAY_LIMIT);
        }
    }

    /** A data directory written before keys had request limits (snapshot format 2) is read, with no requests counted. */
    @Test
    void reopen_readsASnapshotOfFormatTwo_writtenBeforeRequestsWereCounted() throws IOException {
        Path dir = dataDir.resolve("format-2");
        KeyFingerprint fingerprint;
        try (DurableUsageStore first = open(dir)) {
            fingerprint = first.fingerprint(KEY);
        }
        long bucket = T0 / 1_000;
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        java.io.DataOutputStream out = new java.io.DataOutputStream(bytes);
        out.writeLong(InMemoryUsageStore.DEFAULT_BUCKET_MILLIS);
        out.writeLong(9);
        out.writeInt(1);
        out.writeUTF(fingerprint.toString());
        out.writeInt(61);
        for (int slot = 0; slot < 61; slot++) {
            out.writeLong(slot == Math.floorMod(bucket, 61) ? 300 : 0);
        }
        out.writeLong(bucket);
        out.writeLong(300);
        out.writeLong(DayWindow.at(T0, UTC).epochDay());
        out.writeLong(300);
        out.writeLong(0);
        out.writeByte(KeyStatus.ACTIVE.ordinal());
        out.writeByte(-1);
        out.writeBoolean(false);
        out.writeLong(0);
        out.flush();
        ChecksummedFile.write(dir.resolve(DurableUsageStore.FILE_NAME), 0x4B505553, 2, bytes.toByteArray());

        try (DurableUsageStore second = open(dir)) {
            KeyUsage usage = second.usage(KEY, T0 + SECOND, DayWindow.at(T0, UTC));
            assertThat(usage.minuteTokens()).isEqualTo(300);
            assertThat(usage.dayTokens()).isEqualTo(300);
            assertThat(usage.minuteRequests()).isZero();
            assertThat(usage.dayRequests()).isZero();
            assertThat(second.reserve(KEY, WindowLimits.ofRequests(1, 1), 1, T0 + SECOND, DayWindow.at(T0, UTC),
                    NO_EXPIRY)).isInstanceOf(ReserveResult.Granted.class);
        }
    }
}
