package dev.keypool.usage;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * How far each day-limited key's day may have got: a ceiling written to the data directory, and
 * forced to disk, before the store admits tokens past it. The snapshot is written once a second;
 * a crash between two snapshots loses what was admitted since the last one, and a restart that
 * counted from the snapshot alone would admit it again (a day counter rolled back from 220 to 20).
 * After an unclean stop the store restarts each key's day from its ceiling instead: it may count
 * up to one chunk more than was used, never less.
 *
 * <p>A ceiling is raised by one chunk ({@link #CHUNKS_PER_DAY} per day limit) beyond what the
 * key's day holds when a reservation would pass it, on the reserving thread, so a key pays one
 * synchronous write per chunk, not per request; ceilings of other days are dropped when a key's
 * day moves on. When the file cannot be written the ceiling stays where it was and the caller
 * refuses the reservation.
 */
final class DayCeilings {

    /** The file's name inside the data directory. */
    static final String FILE_NAME = "day-ceilings.bin";

    /** How many ceilings a day limit is cut into: at most this many synchronous writes per key per day. */
    static final int CHUNKS_PER_DAY = 20;

    private static final int MAGIC = 0x4B504443; // "KPDC"
    private static final int VERSION = 1;

    /** A key's ceiling on one day, and the chunk it is raised by. */
    record Ceiling(long epochDay, long tokens, long chunk) {
    }

    private final Path file;
    private final Map<KeyFingerprint, Ceiling> ceilings = new ConcurrentHashMap<>();

    private DayCeilings(Path file) {
        this.file = file;
    }

    /**
     * The ceilings saved in {@code file}, or none.
     *
     * @throws StoreCorruptedException when the file cannot be read back
     */
    static DayCeilings open(Path file) {
        DayCeilings ceilings = new DayCeilings(file);
        if (Files.exists(file)) {
            byte[] body = ChecksummedFile.read(file, MAGIC, VERSION, "keypool day ceilings file");
            try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(body))) {
                int count = in.readInt();
                if (count < 0 || count > 10_000_000) {
                    throw new IOException("implausible count " + count);
                }
                for (int i = 0; i < count; i++) {
                    ceilings.ceilings.put(KeyFingerprint.parse(in.readUTF()),
                            new Ceiling(in.readLong(), in.readLong(), in.readLong()));
                }
                if (in.read() != -1) {
                    throw new IOException("trailing bytes after the last ceiling");
                }
            } catch (IOException | RuntimeException e) {
                throw new StoreCorruptedException(file, "malformed body: " + e, e);
            }
        }
        return ceilings;
    }

    Path file() {
        return file;
    }

    /** Every key's last ceiling. */
    Map<KeyFingerprint, Ceiling> all() {
        return Map.copyOf(ceilings);
    }

    /** Whether {@code key}'s saved ceiling covers {@code dayTokens} on {@code epochDay}. */
    boolean covers(KeyFingerprint key, long epochDay, long dayTokens) {
        Ceiling ceiling = ceilings.get(key);
        return ceiling != null && ceiling.epochDay() == epochDay && ceiling.tokens() >= dayTokens;
    }

    /**
     * Raises {@code key}'s ceiling on {@code epochDay} to cover {@code dayTokens} and one chunk of
     * {@code perDay} more (but not past {@code perDay} while the day is within it), and writes it.
     *
     * @throws IOException when it cannot be written; the saved ceiling is then unchanged
     */
    void raise(KeyFingerprint key, long epochDay, long dayTokens, long perDay) throws IOException {
        raiseBy(key, epochDay, dayTokens, Math.max(1, perDay / CHUNKS_PER_DAY), perDay);
    }

    /**
     * Raises {@code key}'s ceiling to cover {@code dayTokens}, by the chunk its last ceiling had:
     * for usage reported above a reservation. A key that never had a ceiling has no day limit.
     */
    void raiseBeyondReservation(KeyFingerprint key, long epochDay, long dayTokens) throws IOException {
        Ceiling last = ceilings.get(key);
        if (last != null) {
            raiseBy(key, epochDay, dayTokens, last.chunk(), Long.MAX_VALUE);
        }
    }

    private synchronized void raiseBy(KeyFingerprint key, long epochDay, long dayTokens, long chunk, long limit)
            throws IOException {
        if (covers(key, epochDay, dayTokens)) {
            return;
        }
        long tokens = dayTokens <= limit ? Math.min(limit, dayTokens + chunk) : dayTokens + chunk;
        Ceiling previous = ceilings.put(key, new Ceiling(epochDay, tokens, chunk));
        try {
            write();
        } catch (IOException | RuntimeException e) {
            if (previous == null) {
                ceilings.remove(key);
            } else {
                ceilings.put(key, previous);
            }
            throw e;
        }
    }

    private void write() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(64 + ceilings.size() * 64);
        DataOutputStream out = new DataOutputStream(bytes);
        Map<KeyFingerprint, Ceiling> copy = Map.copyOf(ceilings);
        out.writeInt(copy.size());
        for (Map.Entry<KeyFingerprint, Ceiling> entry : copy.entrySet()) {
            out.writeUTF(entry.getKey().toString());
            out.writeLong(entry.getValue().epochDay());
            out.writeLong(entry.getValue().tokens());
            out.writeLong(entry.getValue().chunk());
        }
        out.flush();
        ChecksummedFile.write(file, MAGIC, VERSION, bytes.toByteArray());
        syncDirectory(file.getParent());
    }

    /** Forces a directory's entries (a file moved into it) to disk, where the file system allows it. */
    static void syncDirectory(Path directory) {
        try (FileChannel channel = FileChannel.open(directory, StandardOpenOption.READ)) {
            channel.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // Some file systems cannot open or force a directory; the file itself was forced.
        }
    }
}
