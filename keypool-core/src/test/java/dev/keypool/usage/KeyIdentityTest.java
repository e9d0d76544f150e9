package dev.keypool.usage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keypool.config.KeyId;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.config.SelectionStrategy;
import dev.keypool.config.WindowLimits;
import dev.keypool.failure.FailureKind;
import dev.keypool.rotation.ApiKeyManager;
import dev.keypool.rotation.ApiKeyRotator;
import dev.keypool.rotation.NoAvailableKeyException;
import dev.keypool.rotation.Reservation;
import dev.keypool.testing.ManualClock;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Usage and key state belong to a key, not to its position in {@code .env}: the durable store
 * keeps them under the key's fingerprint, across restarts with the keys reordered, added or
 * replaced, and moves a data directory written by index over to the keys at those indexes.
 */
class KeyIdentityTest {

    private static final String KEY_X = "sk-proj-TEST.identity.keyX";
    private static final String KEY_Y = "sk-proj-TEST.identity.keyY";
    private static final String KEY_Z = "sk-proj-TEST.identity.keyZ";
    private static final WindowLimits HUNDRED_A_DAY = WindowLimits.of(WindowLimits.UNLIMITED, 100);
    private static final Duration MANUAL = Duration.ofHours(1);

    @TempDir
    Path dataDir;

    private final ManualClock clock = ManualClock.atNoonish();

    private static KeypoolConfig keys(String... secrets) {
        KeypoolConfig.Builder builder = KeypoolConfig.builder().selectionStrategy(SelectionStrategy.FILL_FIRST);
        for (String secret : secrets) {
            builder.addKey(Provider.OPENAI, secret, null, HUNDRED_A_DAY);
        }
        return builder.build();
    }

    private ApiKeyManager manager(KeypoolConfig config) {
        return new ApiKeyManager(config, DurableUsageStore.open(dataDir, InMemoryUsageStore.DEFAULT_BUCKET_MILLIS,
                MANUAL), clock);
    }

    private static void close(ApiKeyManager manager) {
        manager.close();
        manager.store().close();
    }

    private static KeyId openAi(int index) {
        return KeyId.of(Provider.OPENAI, index);
    }

    @Test
    void keysSwappedInEnv_keepTheirOwnDayUsage_soNoKeyIsChargedPastItsLimit() {
        // Given key X spent 90 of its 100 a day while it was first in .env
        ApiKeyManager first = manager(keys(KEY_X, KEY_Y));
        new ApiKeyRotator(first).acquire(Provider.OPENAI, null, 90).commit(90);
        close(first);

        // When .env lists the two keys the other way round
        ApiKeyManager second = manager(keys(KEY_Y, KEY_X));
        ApiKeyRotator rotator = new ApiKeyRotator(second);
        try {
            // Then X, now at index 1, still has its 90 and Y, now at index 0, nothing
            assertThat(second.status(openAi(1)).dayTokens()).isEqualTo(90);
            assertThat(second.status(openAi(0)).dayTokens()).isZero();
            Reservation onY = rotator.acquire(Provider.OPENAI, null, 90);
            assertThat(onY.apiKey()).isEqualTo(KEY_Y);
            onY.commit(90);
            // and neither key has room for another 90: by index, X would have taken them (180 against 100)
            assertThatThrownBy(() -> rotator.acquire(Provider.OPENAI, null, 90))
                    .isInstanceOf(NoAvailableKeyException.class);
        } finally {
            close(second);
        }
    }

    @Test
    void aNewKeyAtAnOldIndex_inheritsNeitherTheUsageNorTheStateOfTheKeyThatWasThere() {
        ApiKeyManager first = manager(keys(KEY_X));
        new ApiKeyRotator(first).acquire(Provider.OPENAI, null, 70).commit(70);
        first.deactivate(openAi(0), "revoked");
        close(first);

        ApiKeyManager second = manager(keys(KEY_Z));
        try {
            assertThat(second.status(openAi(0)).dayTokens()).isZero();
            assertThat(second.status(openAi(0)).status()).isEqualTo(KeyStatus.ACTIVE);
        } finally {
            close(second);
        }

        // and key X, back at any index, finds both again
        ApiKeyManager third = manager(keys(KEY_Z, KEY_X));
        try {
            assertThat(third.status(openAi(1)).dayTokens()).isEqualTo(70);
            assertThat(third.status(openAi(1)).status()).isEqualTo(KeyStatus.DEACTIVATED);
        } finally {
            close(third);
        }
    }

    @Test
    void status_showsTheFingerprintTheKeyIsStoredUnder_stableAcrossRestarts_andNotTheKey() {
        ApiKeyManager first = manager(keys(KEY_X, KEY_Y));
        String x = first.status(openAi(0)).keyId();
        String y = first.status(openAi(1)).keyId();
        close(first);

        ApiKeyManager second = manager(keys(KEY_Y, KEY_X));
        try {
            assertThat(x).hasSize(32).matches("[0-9a-f]+").isNotEqualTo(y);
            assertThat(second.status(openAi(1)).keyId()).isEqualTo(x);
            assertThat(second.status(openAi(0)).keyId()).isEqualTo(y);
            assertThat(x).doesNotContain("identity").doesNotContain("keyX");
        } finally {
            close(second);
        }
    }

    @Test
    void dataDirectory_holdsTheFingerprintSecretForItsOwnerOnly_andNoKey() throws IOException {
        ApiKeyManager manager = manager(keys(KEY_X, KEY_Y));
        new ApiKeyRotator(manager).acquire(Provider.OPENAI, null, 10).commit(10);
        close(manager);

        Path secret = dataDir.resolve(DurableUsageStore.SECRET_FILE_NAME);
        assertThat(Files.size(secret)).isEqualTo(KeyFingerprinter.SECRET_BYTES);
        if (Files.getFileAttributeView(secret, java.nio.file.attribute.PosixFileAttributeView.class) != null) {
            assertThat(Files.getPosixFilePermissions(secret))
                    .containsExactlyInAnyOrder(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
        }
        String snapshot = new String(Files.readAllBytes(dataDir.resolve(DurableUsageStore.FILE_NAME)),
                StandardCharsets.ISO_8859_1);
        assertThat(snapshot).doesNotContain(KEY_X).doesNotContain(KEY_Y).doesNotContain("keyX");
    }

    @Test
    void snapshotWhoseFingerprintSecretIsGone_isRefused_notReadAsEmpty() throws IOException {
        ApiKeyManager used = manager(keys(KEY_X));
        new ApiKeyRotator(used).acquire(Provider.OPENAI, null, 10).commit(10);
        close(used);
        Files.delete(dataDir.resolve(DurableUsageStore.SECRET_FILE_NAME));

        assertThatThrownBy(() -> DurableUsageStore.open(dataDir, InMemoryUsageStore.DEFAULT_BUCKET_MILLIS, MANUAL))
                .isInstanceOf(StoreCorruptedException.class)
                .hasMessageContaining(DurableUsageStore.SECRET_FILE_NAME)
                .hasMessageContaining("move it away");
    }

    @Test
    void snapshotWrittenByIndex_goesToTheKeysConfiguredAtThoseIndexes_andIsRewrittenByFingerprint() throws IOException {
        long now = clock.millis();
        long epochDay = DayWindow.at(now, ZoneOffset.UTC).epochDay();
        writeFormatOneSnapshot(now, epochDay);

        // The configuration being started decides: index 0 is Y now, index 1 is X.
        ApiKeyManager migrated = manager(keys(KEY_Y, KEY_X));
        try {
            assertThat(migrated.status(openAi(0)).dayTokens()).isEqualTo(40);
            assertThat(migrated.status(openAi(1)).dayTokens()).isEqualTo(25);
            assertThat(migrated.status(openAi(1)).status()).isEqualTo(KeyStatus.COOLING_DOWN);
        } finally {
            close(migrated);
        }

        // Written again by fingerprint: reordering the keys now moves nothing.
        ApiKeyManager reordered = manager(keys(KEY_X, KEY_Y));
        try {
            assertThat(reordered.status(openAi(0)).dayTokens()).isEqualTo(25);
            assertThat(reordered.status(openAi(1)).dayTokens()).isEqualTo(40);
        } finally {
            close(reordered);
        }
    }

    /**
     * A snapshot as keypool wrote it before keys had an identity: openai#0 with 40 tokens today,
     * openai#1 with 25 and cooling down for an hour.
     */
    private void writeFormatOneSnapshot(long now, long epochDay) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        out.writeLong(InMemoryUsageStore.DEFAULT_BUCKET_MILLIS);
        out.writeLong(7);
        out.writeInt(2);
        long bucket = now / 1_000;
        for (int index = 0; index < 2; index++) {
            long tokens = index == 0 ? 40 : 25;
            out.writeUTF("openai");
            out.writeInt(index);
            out.writeInt(61);
            for (int slot = 0; slot < 61; slot++) {
                out.writeLong(slot == Math.floorMod(bucket, 61) ? tokens : 0);
            }
            out.writeLong(bucket);
            out.writeLong(tokens);
            out.writeLong(epochDay);
            out.writeLong(tokens);
            boolean cooling = index == 1;
            out.writeByte(cooling ? KeyStatus.COOLING_DOWN.ordinal() : KeyStatus.ACTIVE.ordinal());
            out.writeByte(cooling ? FailureKind.RATE_LIMITED.ordinal() : -1);
            out.writeBoolean(cooling);
            if (cooling) {
                out.writeUTF("429");
            }
            out.writeLong(cooling ? now + 3_600_000 : 0);
        }
        out.writeInt(0);
        out.flush();
        Files.createDirectories(dataDir);
        ChecksummedFile.write(dataDir.resolve(DurableUsageStore.FILE_NAME), 0x4B505553, 1, bytes.toByteArray());
    }
}
