package dev.keypool.usage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32;

/**
 * A file replaced whole and atomically, that a crash leaves old or new but never half-written: a
 * header (magic, version, body length), the body, and a CRC-32 of the body. It is written to a
 * temporary file, forced to disk, then moved over the old one; a torn or altered file fails the
 * length or checksum check on reading and is reported ({@link StoreCorruptedException}), never
 * read as empty. The usage snapshot and the gateway's usage history are kept this way.
 */
public final class ChecksummedFile {

    private static final int HEADER = 12;
    private static final int TRAILER = 8;

    private ChecksummedFile() {
    }

    /** Replaces {@code file} with {@code body} under {@code magic} and {@code version}. */
    public static void write(Path file, int magic, int version, byte[] body) throws IOException {
        CRC32 crc = new CRC32();
        crc.update(body);
        ByteBuffer header = ByteBuffer.allocate(HEADER).putInt(magic).putInt(version).putInt(body.length).flip();
        ByteBuffer trailer = ByteBuffer.allocate(TRAILER).putLong(crc.getValue()).flip();
        Path temp = file.resolveSibling(file.getFileName() + ".tmp");
        try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            channel.write(new ByteBuffer[] {header, ByteBuffer.wrap(body), trailer});
            channel.force(true);
        }
        Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /** A file's body and the format version it was written in. */
    public record Content(int version, byte[] body) {
    }

    /**
     * The body of {@code file}, checked.
     *
     * @param what what the file holds, for the error message ("keypool usage snapshot")
     * @throws StoreCorruptedException when the file is unreadable, not of this kind, torn or altered
     */
    public static byte[] read(Path file, int magic, int version, String what) {
        return read(file, magic, version, version, what).body();
    }

    /**
     * The body of {@code file}, checked, written in any version from {@code oldest} to
     * {@code newest}: for readers that still understand earlier formats.
     */
    public static Content read(Path file, int magic, int oldest, int newest, String what) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new StoreCorruptedException(file, "unreadable: " + e.getMessage(), e);
        }
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        if (bytes.length < HEADER + TRAILER || buffer.getInt() != magic) {
            throw new StoreCorruptedException(file, "not a " + what, null);
        }
        int found = buffer.getInt();
        if (found < oldest || found > newest) {
            throw new StoreCorruptedException(file, "format version " + found + ", this keypool reads "
                    + (oldest == newest ? Integer.toString(newest) : oldest + " to " + newest), null);
        }
        int length = buffer.getInt();
        if (length < 0 || length != bytes.length - HEADER - TRAILER) {
            throw new StoreCorruptedException(file, "torn: " + bytes.length + " bytes where the header promises "
                    + ((long) length + HEADER + TRAILER), null);
        }
        CRC32 crc = new CRC32();
        crc.update(bytes, HEADER, length);
        if (crc.getValue() != ByteBuffer.wrap(bytes, HEADER + length, TRAILER).getLong()) {
            throw new StoreCorruptedException(file, "checksum mismatch", null);
        }
        byte[] body = new byte[length];
        System.arraycopy(bytes, HEADER, body, 0, length);
        return new Content(found, body);
    }
}
