package dev.keypool.usage;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link InMemoryAffinityStore} kept in a file of the data directory, so that a restarted
 * gateway still sends a stored response's follow-up to the key that created it. Each entry is
 * appended as one line ({@code id}, tab, key reference, tab, expiry) when it is remembered, and the
 * file is rewritten with the live entries only when it is opened, so it never grows past a day's
 * entries plus the bound. A torn last line (a crash mid-write) is skipped. Lines are flushed, not
 * forced to disk: after a power loss the last few entries may be gone, which costs a follow-up
 * request an error from the provider, never a key's secret or its accounting.
 */
public final class DurableAffinityStore extends InMemoryAffinityStore {

    private static final Logger LOG = LoggerFactory.getLogger(DurableAffinityStore.class);

    private final Path file;
    private final BufferedWriter out;

    private DurableAffinityStore(Path file, int capacity, long nowMillis) throws IOException {
        super(capacity);
        this.file = file;
        if (Files.exists(file)) {
            load(nowMillis);
        }
        compact(nowMillis);
        this.out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND);
    }

    /** Opens (or creates) {@code affinity.tsv} in {@code dataDir}. */
    public static DurableAffinityStore open(Path dataDir, long nowMillis) {
        try {
            Files.createDirectories(dataDir);
            return new DurableAffinityStore(dataDir.resolve("affinity.tsv"), DEFAULT_CAPACITY, nowMillis);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the affinity file in " + dataDir, e);
        }
    }

    public Path file() {
        return file;
    }

    @Override
    public void remember(String objectId, String keyRef, long expiresAtMillis) {
        if (objectId.indexOf('\t') >= 0 || objectId.indexOf('\n') >= 0) {
            return; // not an id any provider makes; nothing to remember it by
        }
        super.remember(objectId, keyRef, expiresAtMillis);
        synchronized (this) {
            try {
                out.write(objectId + '\t' + keyRef + '\t' + expiresAtMillis + '\n');
                out.flush();
            } catch (IOException e) {
                LOG.warn("Could not record which key created {} in {}: {}", objectId, file, e.getMessage());
            }
        }
    }

    private void load(long nowMillis) throws IOException {
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        for (String line : lines) {
            String[] parts = line.split("\t", -1);
            if (parts.length != 3) {
                continue;
            }
            try {
                long expires = Long.parseLong(parts[2]);
                if (expires > nowMillis) {
                    super.remember(parts[0], parts[1], expires);
                }
            } catch (NumberFormatException torn) {
                // a line cut short by a crash
            }
        }
    }

    private void compact(long nowMillis) throws IOException {
        Path temporary = file.resolveSibling(file.getFileName() + ".tmp");
        StringBuilder text = new StringBuilder();
        for (Map.Entry<String, Entry> entry : snapshot(nowMillis).entrySet()) {
            text.append(entry.getKey()).append('\t').append(entry.getValue().keyRef()).append('\t')
                    .append(entry.getValue().expiresAtMillis()).append('\n');
        }
        Files.writeString(temporary, text, StandardCharsets.UTF_8);
        Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    @Override
    public synchronized void close() {
        try {
            out.close();
        } catch (IOException e) {
            LOG.warn("Could not close {}: {}", file, e.getMessage());
        }
    }
}
