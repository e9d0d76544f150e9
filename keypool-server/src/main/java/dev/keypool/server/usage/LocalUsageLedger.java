package dev.keypool.server.usage;

import dev.keypool.config.Provider;
import dev.keypool.usage.ChecksummedFile;
import dev.keypool.usage.StoreCorruptedException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The usage history of one process, kept in memory and, unless it is a demo's, in
 * {@value #FILE_NAME} in the data directory: the whole history is written as a
 * {@link ChecksummedFile} when it changed (the recorder asks once a second), so a crash loses at
 * most the last second, and a torn or corrupt file stops start-up instead of restarting at zero.
 * A day of per-minute rows for a few dozen keys is a few hundred kilobytes.
 */
final class LocalUsageLedger implements UsageLedger {

    private static final Logger LOG = LoggerFactory.getLogger(LocalUsageLedger.class);

    /** The history's file name inside the data directory. */
    static final String FILE_NAME = "usage-history.bin";

    private static final int MAGIC = 0x4B505548; // "KPUH"
    private static final int VERSION = 1;

    private final Path file;
    private final TreeMap<UsageCell, long[]> cells = new TreeMap<>();
    private boolean dirty;
    /** Whether the last write failed; only the flush thread writes. */
    private boolean failing;

    private LocalUsageLedger(Path file) {
        this.file = file;
    }

    /** A history that ends with the process. */
    static LocalUsageLedger inMemory() {
        return new LocalUsageLedger(null);
    }

    /**
     * The history saved in {@code dataDir}, or an empty one.
     *
     * @throws StoreCorruptedException when the saved history cannot be read back
     */
    static LocalUsageLedger open(Path dataDir) {
        Path file = dataDir.resolve(FILE_NAME);
        LocalUsageLedger ledger = new LocalUsageLedger(file);
        try {
            Files.createDirectories(dataDir);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot use the data directory " + dataDir + ": " + e.getMessage(), e);
        }
        if (Files.exists(file)) {
            byte[] body = ChecksummedFile.read(file, MAGIC, VERSION, "keypool usage history");
            try {
                decode(new DataInputStream(new ByteArrayInputStream(body)), ledger.cells);
            } catch (IOException | RuntimeException e) {
                throw new StoreCorruptedException(file, "malformed body: " + e, e);
            }
            LOG.info("Restored {} rows of usage history from {}", ledger.cells.size(), file);
        }
        return ledger;
    }

    @Override
    public synchronized void add(Map<UsageCell, long[]> deltas, long nowMillis) {
        if (deltas.isEmpty()) {
            return;
        }
        deltas.forEach((cell, delta) -> {
            long[] counts = cells.computeIfAbsent(cell, c -> new long[UsageCell.FIELDS]);
            for (int i = 0; i < counts.length; i++) {
                counts[i] += delta[i];
            }
        });
        long oldestMinute = UsageRecorder.minute(nowMillis) - UsageRecorder.RETAINED_MINUTES * UsageRecorder.MINUTE;
        cells.subMap(UsageCell.lowest(UsageCell.Scope.MINUTE, Long.MIN_VALUE), UsageCell.lowest(UsageCell.Scope.MINUTE,
                oldestMinute)).clear();
        NavigableMap<UsageCell, long[]> days = cells.subMap(UsageCell.lowest(UsageCell.Scope.DAY, Long.MIN_VALUE), true,
                UsageCell.highest(UsageCell.Scope.DAY, Long.MAX_VALUE), true);
        if (!days.isEmpty()) {
            long oldestDay = days.lastKey().start() - UsageRecorder.RETAINED_DAYS + 1;
            days.headMap(UsageCell.lowest(UsageCell.Scope.DAY, oldestDay)).clear();
        }
        dirty = true;
    }

    @Override
    public synchronized NavigableMap<UsageCell, long[]> read(UsageCell.Scope scope, long from, long to) {
        TreeMap<UsageCell, long[]> copy = new TreeMap<>();
        cells.subMap(UsageCell.lowest(scope, from), true, UsageCell.highest(scope, to), true)
                .forEach((cell, counts) -> copy.put(cell, counts.clone()));
        return copy;
    }

    @Override
    public void persist() {
        if (file == null) {
            return;
        }
        byte[] body;
        synchronized (this) {
            if (!dirty) {
                return;
            }
            dirty = false;
            body = encode(cells);
        }
        try {
            ChecksummedFile.write(file, MAGIC, VERSION, body);
        } catch (IOException e) {
            synchronized (this) {
                dirty = true;
            }
            // Once, not once a second: the store's health says the data directory cannot be written.
            if (!failing) {
                failing = true;
                LOG.warn("Could not write the usage history to {} ({}); retrying every second", file, e.getMessage());
            }
            return;
        }
        if (failing) {
            failing = false;
            LOG.info("The usage history is written to {} again", file);
        }
    }

    @Override
    public void close() {
        persist();
    }

    /** Counters by name, so that a later version with more failure kinds still reads this file. */
    private static byte[] encode(TreeMap<UsageCell, long[]> cells) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream(cells.size() * 48 + 64);
            DataOutputStream out = new DataOutputStream(bytes);
            out.writeInt(UsageCell.FIELDS);
            for (int i = 0; i < UsageCell.FIELDS; i++) {
                out.writeUTF(UsageCell.fieldName(i));
            }
            out.writeInt(cells.size());
            for (Map.Entry<UsageCell, long[]> entry : cells.entrySet()) {
                UsageCell cell = entry.getKey();
                out.writeByte(cell.scope().ordinal());
                out.writeLong(cell.start());
                out.writeUTF(cell.provider().id());
                out.writeInt(cell.index());
                for (long count : entry.getValue()) {
                    out.writeLong(count);
                }
            }
            out.flush();
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void decode(DataInputStream in, TreeMap<UsageCell, long[]> into) throws IOException {
        int[] fields = new int[count(in.readInt())];
        for (int i = 0; i < fields.length; i++) {
            fields[i] = UsageCell.field(in.readUTF());
        }
        int rows = count(in.readInt());
        for (int r = 0; r < rows; r++) {
            UsageCell cell = new UsageCell(UsageCell.Scope.values()[in.readByte()], in.readLong(),
                    Provider.of(in.readUTF()), in.readInt());
            long[] counts = new long[UsageCell.FIELDS];
            for (int field : fields) {
                long value = in.readLong();
                if (field >= 0) {
                    counts[field] = value;
                }
            }
            into.put(cell, counts);
        }
        if (in.read() != -1) {
            throw new IOException("trailing bytes after the last row");
        }
    }

    private static int count(int value) throws IOException {
        if (value < 0 || value > 10_000_000) {
            throw new IOException("implausible count " + value);
        }
        return value;
    }
}
