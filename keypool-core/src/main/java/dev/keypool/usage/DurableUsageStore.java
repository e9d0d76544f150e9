package dev.keypool.usage;

import dev.keypool.config.KeyId;
import dev.keypool.config.SecretDigest;
import dev.keypool.config.WindowLimits;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded default store: an {@link InMemoryUsageStore} whose whole content is written to a
 * data directory in the background, so a restart continues where it stopped.
 *
 * <h2>Design</h2>
 * Requests never touch the disk: every operation runs on the in-memory store and only marks it
 * dirty. A background thread writes a snapshot (every window, key state and pending reservation)
 * once per flush interval when something changed, to a temporary file that is forced to disk and
 * then moved over the previous snapshot atomically ({@link SnapshotFile}). A crash, even
 * {@code kill -9}, loses at most the last interval of accounting; a torn or corrupt file is
 * reported at start-up ({@link StoreCorruptedException}), never taken as zero. A snapshot of a
 * hundred keys is about 50 KB, so writing it every second costs little and needs no journal.
 *
 * <p>Reservations pending at a crash are restored with it: their callers are gone, so they are
 * released by {@link #releaseExpired(long)} when they expire, like any other unsettled ticket.
 *
 * <p>Keys are kept under their fingerprints ({@link KeyFingerprint}), made with a secret of 32
 * random bytes that the store creates once beside its snapshot ({@value #SECRET_FILE_NAME},
 * readable by the owner only): the same key finds its usage again whatever its index, and a copy
 * of the data directory alone does not tell which keys it counted. Without that secret the
 * snapshot's keys cannot be recognised, so a snapshot without it is refused like a corrupt one.
 * A snapshot written before keys had an identity (format 1, by index) is read, and each window
 * goes to the key configured at its index when the store is registered: the configuration that
 * first starts on this version decides which key the old counters belong to.
 *
 * <p>One process at a time may use a data directory; a second one is refused with a clear error
 * instead of two processes overwriting each other's counters.
 */
public final class DurableUsageStore implements UsageStore {

    private static final Logger LOG = LoggerFactory.getLogger(DurableUsageStore.class);

    /** The snapshot's file name inside the data directory. */
    public static final String FILE_NAME = "usage-state.bin";

    /** The file of the secret that makes key fingerprints, inside the data directory. */
    public static final String SECRET_FILE_NAME = "key-id.secret";

    /** How often the snapshot is written when something changed: the most a crash can lose. */
    public static final Duration DEFAULT_FLUSH_INTERVAL = Duration.ofSeconds(1);

    private final InMemoryUsageStore memory;
    private final Path file;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private final ScheduledExecutorService flusher;
    private volatile boolean dirty;
    private volatile boolean closed;
    /** The snapshot read at start named keys by index. */
    private boolean migrating;

    private DurableUsageStore(InMemoryUsageStore memory, Path file, FileChannel lockChannel, FileLock lock,
            Duration flushInterval) {
        this.memory = memory;
        this.file = file;
        this.lockChannel = lockChannel;
        this.lock = lock;
        this.flusher = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "keypool-usage-flush");
            thread.setDaemon(true);
            return thread;
        });
        long millis = Math.max(10, flushInterval.toMillis());
        flusher.scheduleWithFixedDelay(this::flushQuietly, millis, millis, TimeUnit.MILLISECONDS);
    }

    /** Opens (or creates) the store in {@code dataDir}, restoring what it saved last time. */
    public static DurableUsageStore open(Path dataDir) {
        return open(dataDir, InMemoryUsageStore.DEFAULT_BUCKET_MILLIS, DEFAULT_FLUSH_INTERVAL);
    }

    /**
     * Opens (or creates) the store in {@code dataDir}.
     *
     * @throws StoreCorruptedException when the saved snapshot cannot be read back
     * @throws IllegalStateException   when another process uses the directory
     * @throws UncheckedIOException    when the directory cannot be created or locked
     */
    public static DurableUsageStore open(Path dataDir, long bucketMillis, Duration flushInterval) {
        FileChannel channel = null;
        try {
            Files.createDirectories(dataDir);
            channel = FileChannel.open(dataDir.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) {
                throw new IllegalStateException("Another keypool process is using the data directory " + dataDir
                        + "; give each instance its own KEYPOOL_DATA_DIR, or share state through KEYPOOL_REDIS_URL");
            }
            Path file = dataDir.resolve(FILE_NAME);
            StoreSnapshot snapshot = Files.exists(file) ? SnapshotFile.read(file) : null;
            boolean byFingerprint = snapshot != null && snapshot.windows().stream().anyMatch(w -> w.key() != null);
            InMemoryUsageStore memory = new InMemoryUsageStore(bucketMillis,
                    fingerprinter(dataDir.resolve(SECRET_FILE_NAME), byFingerprint, file));
            if (snapshot != null) {
                try {
                    memory.restore(snapshot);
                } catch (IllegalArgumentException e) {
                    lock.release();
                    throw new StoreCorruptedException(file, e.getMessage(), e);
                }
                LOG.info("Restored usage of {} keys and {} pending reservations from {}", snapshot.windows().size(),
                        snapshot.pending().size(), file);
            }
            DurableUsageStore store = new DurableUsageStore(memory, file, channel, lock, flushInterval);
            store.migrating = snapshot != null && snapshot.windows().stream().anyMatch(w -> w.key() == null);
            return store;
        } catch (IOException e) {
            closeQuietly(channel);
            throw new UncheckedIOException("Cannot use the data directory " + dataDir + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(channel);
            throw e;
        }
    }

    /** Where the snapshot is kept. */
    public Path file() {
        return file;
    }

    @Override
    public void register(Map<KeyId, SecretDigest> keys) {
        memory.register(keys);
        if (migrating) {
            // Write the counters a format-1 snapshot kept by index under their keys' fingerprints.
            markDirty();
        }
    }

    @Override
    public KeyFingerprint fingerprint(KeyId key) {
        return memory.fingerprint(key);
    }

    @Override
    public ReserveResult reserve(KeyId key, WindowLimits limits, long tokens, long nowMillis, DayWindow day,
            long expiresMillis) {
        ReserveResult result = memory.reserve(key, limits, tokens, nowMillis, day, expiresMillis);
        if (result instanceof ReserveResult.Granted) {
            markDirty();
        }
        return result;
    }

    @Override
    public boolean settle(Ticket ticket, long actualTokens, long nowMillis, DayWindow day) {
        markDirty();
        return memory.settle(ticket, actualTokens, nowMillis, day);
    }

    @Override
    public KeyUsage usage(KeyId key, long nowMillis, DayWindow day) {
        return memory.usage(key, nowMillis, day);
    }

    @Override
    public List<KeyUsage> usages(List<KeyId> keys, long nowMillis, DayWindow day) {
        return memory.usages(keys, nowMillis, day);
    }

    @Override
    public KeyState state(KeyId key) {
        return memory.state(key);
    }

    @Override
    public void setState(KeyId key, KeyState state) {
        memory.setState(key, state);
        markDirty();
    }

    @Override
    public boolean compareAndSetState(KeyId key, KeyState expected, KeyState next) {
        boolean changed = memory.compareAndSetState(key, expected, next);
        if (changed) {
            markDirty();
        }
        return changed;
    }

    @Override
    public List<Ticket> releaseExpired(long nowMillis) {
        List<Ticket> released = memory.releaseExpired(nowMillis);
        if (!released.isEmpty()) {
            markDirty();
        }
        return released;
    }

    @Override
    public int pendingCount() {
        return memory.pendingCount();
    }

    /** Writes the snapshot now if anything changed since the last one. */
    public synchronized void flush() throws IOException {
        if (!dirty) {
            return;
        }
        dirty = false;
        try {
            SnapshotFile.write(file, memory.snapshot());
        } catch (IOException | RuntimeException e) {
            dirty = true;
            throw e;
        }
    }

    /** Stops the background writer and writes a last snapshot. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        flusher.shutdownNow();
        try {
            flush();
        } catch (IOException e) {
            LOG.error("Could not write the last usage snapshot to {}: {}", file, e.getMessage());
        } finally {
            try {
                lock.release();
            } catch (IOException e) {
                LOG.debug("Releasing the data directory lock failed", e);
            }
            closeQuietly(lockChannel);
        }
    }

    private void markDirty() {
        // Read first: a volatile write on every request would bounce the cache line between cores.
        if (!dirty) {
            dirty = true;
        }
    }

    private void flushQuietly() {
        try {
            flush();
        } catch (IOException | RuntimeException e) {
            LOG.warn("Could not write the usage snapshot to {} ({}); retrying", file, e.getMessage());
        }
    }

    /**
     * The fingerprinter of the data directory: its secret file, created at the first start. A
     * snapshot that names keys by fingerprint is worthless without it: refused, not read as empty.
     */
    private static KeyFingerprinter fingerprinter(Path secretFile, boolean snapshotNeedsIt, Path snapshot)
            throws IOException {
        if (Files.exists(secretFile)) {
            byte[] secret = Files.readAllBytes(secretFile);
            if (secret.length != KeyFingerprinter.SECRET_BYTES) {
                throw new StoreCorruptedException(secretFile, "a key-id secret is " + KeyFingerprinter.SECRET_BYTES
                        + " bytes, this one " + secret.length, null);
            }
            return KeyFingerprinter.of(secret);
        }
        if (snapshotNeedsIt) {
            throw new StoreCorruptedException(snapshot, "its keys are named by fingerprints made with "
                    + secretFile.getFileName() + ", which is missing", null);
        }
        byte[] secret = KeyFingerprinter.newSecret();
        Path temp = secretFile.resolveSibling(secretFile.getFileName() + ".tmp");
        Files.deleteIfExists(temp);
        try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            restrictToOwner(temp);
            channel.write(java.nio.ByteBuffer.wrap(secret));
            channel.force(true);
        }
        Files.move(temp, secretFile, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        return KeyFingerprinter.of(secret);
    }

    private static void restrictToOwner(Path file) throws IOException {
        try {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException e) {
            // Not a POSIX file system: the directory's own permissions protect it.
        }
    }

    private static void closeQuietly(FileChannel channel) {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // Nothing more to release.
            }
        }
    }
}
