package dev.keypool.usage;

import java.nio.file.Path;

/**
 * A store's saved state cannot be read back. keypool refuses to start from zero instead: a key
 * whose day counter silently restarts at zero blows through its daily quota.
 */
public class StoreCorruptedException extends RuntimeException {

    private final Path file;

    public StoreCorruptedException(Path file, String problem, Throwable cause) {
        super(file + " cannot be read back (" + problem + "). keypool will not start from zero counters on its own:"
                + " restore the file from a backup, or move it away to start with empty usage windows.", cause);
        this.file = file;
    }

    public Path file() {
        return file;
    }
}
