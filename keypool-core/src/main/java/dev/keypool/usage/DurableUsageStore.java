package dev.keypool.usage;

import dev.keypool.config.KeyId;
import dev.keypool.config.SecretDigest;
import dev.keypool.config.WindowLimits;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded default store: an {@link InMemoryUsageStore} whose whole content is written to a
 * data directory in the background, so a restart continues where it stopped, and whose restart
 * after a crash never admits again what the crash lost.
 *
 * <h2>Design</h2>
 * Requests rarely touch the disk: every operation runs on the in-memory store and marks it dirty.
 * A background thread writes a snapshot (every window and key state) once per flush interval when
 * something changed, to a temporary file that is forced to disk and then moved over the previous
 * snapshot atomically ({@link SnapshotFile}); a torn or corrupt file is reported at start-up
 * ({@link StoreCorruptedException}), never taken as zero. A snapshot of a hundred keys is about
 * 50 KB, so writing it every second costs little and needs no journal.
 *
 * <h2>Crashes</h2>
 * A crash, even {@code kill -9}, can lose the last flush interval of accounting, which a restart
 * must not hand out again. So the store errs towards refusing, and can tell when it must: a clean
 * {@link #close()} writes the last snapshot and then a mark ({@value #CLEAN_SHUTDOWN_FILE_NAME}),
 * which the next start deletes before it serves. A start that finds a snapshot but no mark follows
 * an unclean stop, and then
 * <ul>
 *   <li>every key's minute counts as full until a minute after the restart
 *       ({@link InMemoryUsageStore#countMinutesFullUntil}): whatever the lost second admitted has left
 *       the window by then;</li>
 *   <li>every day-limited key's day restarts from its ceiling ({@link DayCeilings}), which was
 *       written synchronously before the store could admit past it, so the day may count up to
 *       one chunk (1/{@value DayCeilings#CHUNKS_PER_DAY} of its limit) too much, never too little;
 *       a key with a request day limit does the same with its requests, from ceilings of their
 *       own ({@value #REQUEST_CEILINGS_FILE_NAME}, the same format).</li>
 * </ul>
 * Reservations pending at a stop, clean or not, are charged by the next start, at the moment it
 * starts: whoever held them is gone, and the provider may have served them until then.
 *
 * <h2>A data directory that cannot be written</h2>
 * A full disk does not stop the gateway: the in-memory store keeps serving and the snapshot is
 * retried every interval. It is reported once in the log (and once when writing works again) and
 * by {@link #health()}. A day ceiling that cannot be raised refuses the reservation that needed it,
 * so a key stops at its last saved ceiling instead of admitting what a crash would then forget.
 *
 * <h2>Keys</h2>
 * Keys are kept under their fingerprints ({@link KeyFingerprint}), made with a secret of 32
 * random bytes that the store creates once beside its snapshot ({@value #SECRET_FILE_NAME},
 * readable by the owner only): the same key finds its usage again whatever its index, and a copy
 * of the data directory alone does not tell which keys it counted. Without that secret the
 * snapshot's keys cannot be recognised, so a snapshot without it is refused like a corrupt one.
 * A snapshot written before keys had an identity (format 1, by index) is read, and each window
 * goes to the key configured at its index when the store is registered: the configuration that
 * first starts on this version decides which key the old counters belong to. That version wrote
 * no clean-shutdown mark, so the first start after an upgrade counts the minute windows as full.
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

    /** The mark a clean close leaves, and a start removes: without it, the last stop was a crash. */
    public static final String CLEAN_SHUTDOWN_FILE_NAME = "clean-shutdown";

    /** The file of the day ceilings, inside the data directory. */
    public static final String CEILINGS_FILE_NAME = DayCeilings.FILE_NAME;

    /** The file of the day ceilings of requests ({@code {P}_MAX_REQUESTS_PER_DAY_i}), inside the data directory. */
    public static final String REQUEST_CEILINGS_FILE_NAME = "day-request-ceilings.bin";

    /** How often the snapshot is written when something changed: the most a crash can lose. */
    public static final Duration DEFAULT_FLUSH_INTERVAL = Duration.ofSeconds(1);

    /** When a reservation refused for want of a writable disk may be tried again. */
    private static final long UNWRITABLE_RETRY_MILLIS = 1_000;

    private final InMemoryUsageStore memory;
    private final Path file;
    private final Path dataDir;
    private final DayCeilings ceilings;
    private final DayCeilings requestCeilings;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private final Periodic flusher;
    private volatile boolean dirty;
    private volatile boolean closed;
    /** The snapshot read at start named keys by index. */
    private boolean migrating;
    /** Why the last snapshot could not be written, or {@code null}. */
    private volatile String snapshotProblem;
    /** Why the last day ceiling could not be written, or {@code null}. */
    private volatile String ceilingProblem;

    private DurableUsageStore(InMemoryUsageStore memory, Path dataDir, DayCeilings ceilings,
            DayCeilings requestCeilings, FileChannel lockChannel, FileLock lock, Duration flushInterval,
            ScheduledExecutorService scheduler) {
        this.memory = memory;
        this.dataDir = dataDir;
        this.file = dataDir.resolve(FILE_NAME);
        this.ceilings = ceilings;
        this.requestCeilings = requestCeilings;
        this.lockChannel = lockChannel;
        this.lock = lock;
        this.flusher = Periodic.every(Duration.ofMillis(Math.max(10, flushInterval.toMillis())), "keypool-usage-flush",
                scheduler, this::flushQuietly);
    }

    /** Opens (or creates) the store in {@code dataDir}, restoring what it saved last time. */
    public static DurableUsageStore open(Path dataDir) {
        return open(dataDir, Clock.systemUTC());
    }

    /** Like {@link #open(Path)}, with the clock the key manager uses. */
    public static DurableUsageStore open(Path dataDir, Clock clock) {
        return open(dataDir, InMemoryUsageStore.DEFAULT_BUCKET_MILLIS, DEFAULT_FLUSH_INTERVAL, clock);
    }

    /**
     * Like {@link #open(Path, Clock)}, flushing on {@code scheduler} (the process's one, which its
     * owner shuts down) instead of a thread of its own.
     */
    public static DurableUsageStore open(Path dataDir, Clock clock, ScheduledExecutorService scheduler) {
        return open(dataDir, InMemoryUsageStore.DEFAULT_BUCKET_MILLIS, DEFAULT_FLUSH_INTERVAL, clock, scheduler);
    }

    /** Like {@link #open(Path, long, Duration, Clock)} on the system clock. */
    public static DurableUsageStore open(Path dataDir, long bucketMillis, Duration flushInterval) {
        return open(dataDir, bucketMillis, flushInterval, Clock.systemUTC());
    }

    /**
     * Opens (or creates) the store in {@code dataDir}.
     *
     * @param clock what "now" is when an unclean stop counts the minute windows as full for a minute
     * @throws StoreCorruptedException when the saved snapshot or ceilings cannot be read back
     * @throws IllegalStateException   when another process uses the directory
     * @throws UncheckedIOException    when the directory cannot be created or locked
     */
    public static DurableUsageStore open(Path dataDir, long bucketMillis, Duration flushInterval, Clock clock) {
        return open(dataDir, bucketMillis, flushInterval, clock, null);
    }

    private static DurableUsageStore open(Path dataDir, long bucketMillis, Duration flushInterval, Clock clock,
            ScheduledExecutorService scheduler) {
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
            DayCeilings ceilings = DayCeilings.open(dataDir.resolve(CEILINGS_FILE_NAME));
            DayCeilings requestCeilings = DayCeilings.open(dataDir.resolve(REQUEST_CEILINGS_FILE_NAME));
            boolean anyCeiling = !ceilings.all().isEmpty() || !requestCeilings.all().isEmpty();
            boolean byFingerprint = snapshot != null && snapshot.windows().stream().anyMatch(w -> w.key() != null);
            InMemoryUsageStore memory = new InMemoryUsageStore(bucketMillis,
                    fingerprinter(dataDir.resolve(SECRET_FILE_NAME), byFingerprint || anyCeiling, file));
            if (snapshot != null) {
                try {
                    memory.restore(snapshot, clock.millis());
                } catch (IllegalArgumentException e) {
                    lock.release();
                    throw new StoreCorruptedException(file, e.getMessage(), e);
                }
                LOG.info("Restored usage of {} keys from {}", snapshot.windows().size(), file);
            }
            Path mark = dataDir.resolve(CLEAN_SHUTDOWN_FILE_NAME);
            boolean stoppedCleanly = Files.exists(mark);
            if (!stoppedCleanly && (snapshot != null || anyCeiling)) {
                recoverFromUncleanStop(memory, ceilings, requestCeilings, clock.millis());
            }
            // From here on a crash is an unclean stop.
            Files.deleteIfExists(mark);
            DayCeilings.syncDirectory(dataDir);
            DurableUsageStore store = new DurableUsageStore(memory, dataDir, ceilings, requestCeilings, channel, lock,
                    flushInterval, scheduler);
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

    /**
     * The last stop lost up to a flush interval: hold every minute for a minute, and restart every
     * day from its ceiling.
     */
    private static void recoverFromUncleanStop(InMemoryUsageStore memory, DayCeilings ceilings,
            DayCeilings requestCeilings, long nowMillis) {
        long fullUntil = nowMillis + MINUTE_MILLIS;
        memory.countMinutesFullUntil(fullUntil);
        ceilings.all().forEach((key, ceiling) -> memory.raiseDay(key, ceiling.epochDay(), ceiling.tokens()));
        // A request ceiling's "tokens" are requests: the same file format, counting the other thing.
        requestCeilings.all().forEach((key, ceiling) -> memory.raiseDayRequests(key, ceiling.epochDay(),
                ceiling.tokens()));
        LOG.warn("The last run did not stop cleanly, so it may have admitted tokens it had not saved yet: every"
                + " key's minute counts as full until {}, and day counters restart from their saved ceilings",
                Instant.ofEpochMilli(fullUntil));
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
        if (result instanceof ReserveResult.Granted granted) {
            markDirty();
            long newestDay = Math.max(granted.ticket().epochDay(), memory.newestDay(key));
            if (limits.dayLimited() && !coverDay(ceilings, key, newestDay, memory.dayTokens(key, newestDay),
                    limits.perDay())) {
                memory.settle(granted.ticket(), 0, nowMillis, day);
                return new ReserveResult.Denied(DenialReason.DAY_LIMIT, nowMillis + UNWRITABLE_RETRY_MILLIS);
            }
            if (limits.requestDayLimited() && !coverDay(requestCeilings, key, newestDay,
                    memory.dayRequests(key, newestDay), limits.requestsPerDay())) {
                memory.settle(granted.ticket(), 0, nowMillis, day);
                return new ReserveResult.Denied(DenialReason.REQUEST_DAY_LIMIT, nowMillis + UNWRITABLE_RETRY_MILLIS);
            }
        }
        return result;
    }

    @Override
    public boolean settle(Ticket ticket, long actualTokens, long nowMillis, DayWindow day) {
        markDirty();
        boolean pending = memory.settle(ticket, actualTokens, nowMillis, day);
        // More than was reserved, or charged to a later day than it was held in: the day may pass its ceiling.
        if (actualTokens > ticket.tokens() || day.epochDay() != ticket.epochDay()) {
            coverDayBeyondReservation(ceilings, ticket.key(), day.epochDay(), memory.dayTokens(ticket.key(), day.epochDay()));
        }
        if (day.epochDay() != ticket.epochDay()) {
            coverDayBeyondReservation(requestCeilings, ticket.key(), day.epochDay(),
                    memory.dayRequests(ticket.key(), day.epochDay()));
        }
        return pending;
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
    public List<Ticket> releaseExpired(long nowMillis, DayWindow day) {
        List<Ticket> released = memory.releaseExpired(nowMillis, day);
        if (!released.isEmpty()) {
            markDirty();
        }
        return released;
    }

    @Override
    public int pendingCount() {
        return memory.pendingCount();
    }

    /** Degraded while the snapshot or a day ceiling cannot be written. */
    @Override
    public String kind() {
        return "data-dir";
    }

    @Override
    public StoreHealth health() {
        String snapshot = snapshotProblem;
        String ceiling = ceilingProblem;
        if (snapshot == null && ceiling == null) {
            return StoreHealth.HEALTHY;
        }
        return StoreHealth.degraded("The data directory " + dataDir.toAbsolutePath() + " cannot be written ("
                + (snapshot != null ? snapshot : ceiling) + "): usage is counted in memory only, so a crash would"
                + " lose it, and day-limited keys stop at their last saved day ceiling until it can be written");
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
            if (snapshotProblem == null) {
                LOG.warn("Cannot write the usage snapshot to {} ({}); serving from memory and retrying every flush",
                        file, e.getMessage());
            }
            snapshotProblem = String.valueOf(e.getMessage());
            throw e;
        }
        if (snapshotProblem != null) {
            snapshotProblem = null;
            LOG.info("The usage snapshot is written to {} again", file);
        }
    }

    /**
     * Stops the background writer, writes a last snapshot and, if it could, the clean-shutdown
     * mark. Reservations still pending are charged by the next start.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        flusher.close();
        try {
            dirty = true;
            flush();
            // The snapshot is exact now, whatever the ceilings could be written.
            writeCleanShutdownMark();
        } catch (IOException e) {
            LOG.error("Could not write the last usage snapshot to {}: {}; the next start treats this stop as a crash",
                    file, e.getMessage());
        } finally {
            try {
                lock.release();
            } catch (IOException e) {
                LOG.debug("Releasing the data directory lock failed", e);
            }
            closeQuietly(lockChannel);
        }
    }

    /**
     * Makes sure the key's saved ceiling (of tokens, or of requests) covers what its day counts;
     * false (and reported) when it cannot be written.
     */
    private boolean coverDay(DayCeilings ceilings, KeyId key, long epochDay, long dayCount, long perDay) {
        KeyFingerprint fingerprint = memory.fingerprint(key);
        if (ceilings.covers(fingerprint, epochDay, dayCount)) {
            return true;
        }
        try {
            ceilings.raise(fingerprint, epochDay, dayCount, perDay);
            ceilingWritten();
            return true;
        } catch (IOException | RuntimeException e) {
            ceilingFailed(e);
            return false;
        }
    }

    private void coverDayBeyondReservation(DayCeilings ceilings, KeyId key, long epochDay, long dayCount) {
        KeyFingerprint fingerprint = memory.fingerprint(key);
        if (ceilings.covers(fingerprint, epochDay, dayCount)) {
            return;
        }
        try {
            ceilings.raiseBeyondReservation(fingerprint, epochDay, dayCount);
            ceilingWritten();
        } catch (IOException | RuntimeException e) {
            ceilingFailed(e);
        }
    }

    private void ceilingWritten() {
        if (ceilingProblem != null) {
            ceilingProblem = null;
            LOG.info("Day ceilings are written to {} again", ceilings.file());
        }
    }

    private void ceilingFailed(Exception e) {
        if (ceilingProblem == null) {
            LOG.warn("Cannot write the day ceilings to {} ({}); keys stop at their last saved ceiling until it can be",
                    ceilings.file(), e.getMessage());
        }
        ceilingProblem = String.valueOf(e.getMessage());
    }

    private void writeCleanShutdownMark() throws IOException {
        Path mark = dataDir.resolve(CLEAN_SHUTDOWN_FILE_NAME);
        try (FileChannel channel = FileChannel.open(mark, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            channel.force(true);
        }
        DayCeilings.syncDirectory(dataDir);
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
            // Reported once by flush(); retried at the next interval.
        }
    }

    /**
     * The fingerprinter of the data directory: its secret file, created at the first start. A
     * snapshot that names keys by fingerprint is worthless without it: refused, not read as empty.
     */
    private static KeyFingerprinter fingerprinter(Path secretFile, boolean stateNeedsIt, Path snapshot)
            throws IOException {
        if (Files.exists(secretFile)) {
            byte[] secret = Files.readAllBytes(secretFile);
            if (secret.length != KeyFingerprinter.SECRET_BYTES) {
                throw new StoreCorruptedException(secretFile, "a key-id secret is " + KeyFingerprinter.SECRET_BYTES
                        + " bytes, this one " + secret.length, null);
            }
            return KeyFingerprinter.of(secret);
        }
        if (stateNeedsIt) {
            throw new StoreCorruptedException(snapshot, "its keys are named by fingerprints made with "
                    + secretFile.getFileName() + ", which is missing", null);
        }
        byte[] secret = KeyFingerprinter.newSecret();
        Path temp = secretFile.resolveSibling(secretFile.getFileName() + ".tmp");
        Files.deleteIfExists(temp);
        try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            restrictToOwner(temp);
            channel.write(ByteBuffer.wrap(secret));
            channel.force(true);
        }
        Files.move(temp, secretFile, StandardCopyOption.ATOMIC_MOVE);
        DayCeilings.syncDirectory(secretFile.getParent());
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
