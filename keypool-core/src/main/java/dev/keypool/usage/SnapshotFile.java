package dev.keypool.usage;

import dev.keypool.config.KeyId;
import dev.keypool.config.Provider;
import dev.keypool.failure.FailureKind;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The on-disk form of a {@link StoreSnapshot}, kept as a {@link ChecksummedFile}: a crash leaves
 * either the old snapshot or the new one, never half of one; a torn or altered file fails the
 * length or checksum check and is reported, never read as zero.
 *
 * <p>Format 2 names each key by its fingerprint. Format 1 (keypool before keys had an identity)
 * named them by provider and index; it is still read, and its windows go to the keys configured
 * at those indexes when the new process starts ({@link InMemoryUsageStore#restore}). Format 3
 * adds, after each key's state, its request counters: the request ring (as long as the token
 * ring), their minute sum, the day's requests and the requests held. Formats 1 and 2 are read with
 * no requests counted: they were written before keys had request limits.
 */
final class SnapshotFile {

    private static final int MAGIC = 0x4B505553; // "KPUS"
    private static final int VERSION = 3;
    private static final int BY_INDEX = 1;
    /** The last format without request counters. */
    private static final int WITHOUT_REQUESTS = 2;
    private static final int MAX_REASON = 2_000;

    private SnapshotFile() {
    }

    static void write(Path file, StoreSnapshot snapshot) throws IOException {
        ChecksummedFile.write(file, MAGIC, VERSION, encode(snapshot));
    }

    static StoreSnapshot read(Path file) {
        ChecksummedFile.Content content = ChecksummedFile.read(file, MAGIC, BY_INDEX, VERSION, "keypool usage snapshot");
        try {
            return decode(new DataInputStream(new ByteArrayInputStream(content.body())), content.version() == BY_INDEX,
                    content.version() > WITHOUT_REQUESTS);
        } catch (IOException | RuntimeException e) {
            throw new StoreCorruptedException(file, "malformed body: " + e, e);
        }
    }

    private static byte[] encode(StoreSnapshot snapshot) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(4_096);
        DataOutputStream out = new DataOutputStream(bytes);
        out.writeLong(snapshot.bucketMillis());
        out.writeLong(snapshot.nextTicketId());
        out.writeInt(snapshot.windows().size());
        for (StoreSnapshot.KeyWindow window : snapshot.windows()) {
            out.writeUTF(window.key().toString());
            out.writeInt(window.ring().length);
            for (long tokens : window.ring()) {
                out.writeLong(tokens);
            }
            out.writeLong(window.head());
            out.writeLong(window.minuteSum());
            out.writeLong(window.epochDay());
            out.writeLong(window.dayTokens());
            out.writeLong(window.held());
            writeState(out, window.state());
            out.writeInt(window.requests().length);
            for (long requests : window.requests()) {
                out.writeLong(requests);
            }
            out.writeLong(window.requestMinuteSum());
            out.writeLong(window.dayRequests());
            out.writeLong(window.heldRequests());
        }
        out.flush();
        return bytes.toByteArray();
    }

    private static StoreSnapshot decode(DataInputStream in, boolean byIndex, boolean withRequests) throws IOException {
        long bucketMillis = in.readLong();
        long nextTicketId = in.readLong();
        int keys = count(in.readInt());
        List<StoreSnapshot.KeyWindow> windows = new ArrayList<>(keys);
        for (int i = 0; i < keys; i++) {
            KeyFingerprint key = byIndex ? null : KeyFingerprint.parse(in.readUTF());
            KeyId legacyIndex = byIndex ? readIndex(in) : null;
            long[] ring = new long[count(in.readInt())];
            for (int b = 0; b < ring.length; b++) {
                ring[b] = in.readLong();
            }
            long head = in.readLong();
            long minuteSum = in.readLong();
            long epochDay = in.readLong();
            long dayTokens = in.readLong();
            // Format 1 kept reservations in the buckets and the day; format 2 holds them apart.
            long held = byIndex ? 0 : in.readLong();
            KeyState state = readState(in);
            long[] requests = new long[withRequests ? count(in.readInt()) : ring.length];
            long requestMinuteSum = 0;
            long dayRequests = 0;
            long heldRequests = 0;
            if (withRequests) {
                for (int b = 0; b < requests.length; b++) {
                    requests[b] = in.readLong();
                }
                requestMinuteSum = in.readLong();
                dayRequests = in.readLong();
                heldRequests = in.readLong();
            }
            windows.add(new StoreSnapshot.KeyWindow(key, legacyIndex, ring, head, minuteSum, epochDay, dayTokens, held,
                    state, requests, requestMinuteSum, dayRequests, heldRequests));
        }
        if (byIndex) {
            // Format 1 listed the pending tickets; their tokens are in the windows, which is all a restart needs.
            int tickets = count(in.readInt());
            for (int i = 0; i < tickets; i++) {
                in.readLong();
                readIndex(in);
                in.readLong();
                in.readLong();
                in.readLong();
                in.readLong();
            }
        }
        if (in.read() != -1) {
            throw new IOException("trailing bytes after the last ticket");
        }
        return new StoreSnapshot(bucketMillis, nextTicketId, windows);
    }

    /** How format 1 named a key. */
    private static KeyId readIndex(DataInputStream in) throws IOException {
        return KeyId.of(Provider.of(in.readUTF()), in.readInt());
    }

    private static void writeState(DataOutputStream out, KeyState state) throws IOException {
        out.writeByte(state.status().ordinal());
        out.writeByte(state.kind() == null ? -1 : state.kind().ordinal());
        out.writeBoolean(state.reason() != null);
        if (state.reason() != null) {
            String reason = state.reason();
            out.writeUTF(reason.length() > MAX_REASON ? reason.substring(0, MAX_REASON) : reason);
        }
        out.writeLong(state.untilMillis());
    }

    private static KeyState readState(DataInputStream in) throws IOException {
        KeyStatus status = KeyStatus.values()[in.readByte()];
        int kind = in.readByte();
        String reason = in.readBoolean() ? in.readUTF() : null;
        return new KeyState(status, kind < 0 ? null : FailureKind.values()[kind], reason, in.readLong());
    }

    private static int count(int value) throws IOException {
        if (value < 0 || value > 10_000_000) {
            throw new EOFException("implausible count " + value);
        }
        return value;
    }
}
