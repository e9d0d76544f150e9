package dev.keypool.providers.internal;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;

/**
 * Cuts a stream of bytes into the events it carries, as they complete, without changing a byte:
 * the raw bytes of every event, laid end to end, are the input. Two framings:
 *
 * <ul>
 *   <li><b>Server-sent events</b> (OpenAI, Gemini with {@code alt=sse}): an event ends at an empty
 *       line; lines end with {@code \n}, {@code \r\n} or {@code \r}. Its data is its {@code data:}
 *       lines' values (one leading space removed) joined with {@code \n}.</li>
 *   <li><b>Lines</b> (Ollama's NDJSON): every line is an event, and its data.</li>
 * </ul>
 *
 * Bytes of an event not yet complete are held until it is, so that an event can be read (and, where
 * keypool must, edited) whole; {@link #finish} hands over what is left when the stream ends.
 */
public final class EventFramer {

    /** One complete event. */
    public interface Handler {
        /**
         * @param raw       the event's bytes as received, terminators included (valid during the call)
         * @param length    how many bytes of {@code raw} are the event
         * @param data      the event's data, or {@code null} when it has none (a comment, a blank line)
         * @param dataStart where the data lies in {@code raw} when it is one {@code data:} line (the
         *                  usual case, which may then be edited in place), else -1
         * @param dataEnd   the end of that line's value
         */
        void event(byte[] raw, int length, byte[] data, int dataStart, int dataEnd);
    }

    private final boolean lines;
    private byte[] buffer = new byte[8192];
    private int size;
    /** Where the line being read starts, in the event being read (which starts at 0). */
    private int lineStart;
    /** How far the buffer has been scanned for line ends. */
    private int scanned;

    private EventFramer(boolean lines) {
        this.lines = lines;
    }

    public static EventFramer sse() {
        return new EventFramer(false);
    }

    public static EventFramer lines() {
        return new EventFramer(true);
    }

    /** Adds bytes and hands every event they complete to {@code handler}. */
    public void feed(byte[] bytes, int offset, int length, Handler handler) {
        if (size + length > buffer.length) {
            buffer = Arrays.copyOf(buffer, Math.max(size + length, buffer.length * 2));
        }
        System.arraycopy(bytes, offset, buffer, size, length);
        size += length;
        scan(handler);
    }

    /** The stream ended: whatever is left is one last, unterminated event. */
    public void finish(Handler handler) {
        if (size > 0) {
            emit(size, handler);
        }
    }

    private void scan(Handler handler) {
        int i = scanned;
        while (i < size) {
            byte b = buffer[i];
            if (b != '\n' && b != '\r') {
                i++;
                continue;
            }
            int terminator = 1;
            if (b == '\r') {
                if (i + 1 == size) {
                    break; // a \n may follow in the next bytes, and belongs to this line end
                }
                if (buffer[i + 1] == '\n') {
                    terminator = 2;
                }
            }
            int next = i + terminator;
            boolean emptyLine = i == lineStart;
            if (lines || (emptyLine && hasContentBefore(lineStart))) {
                emit(next, handler);
                i = 0;
                continue;
            }
            lineStart = next;
            i = next;
        }
        scanned = i;
    }

    /** Whether the event so far holds more than blank lines (an empty line ends only a real event). */
    private boolean hasContentBefore(int index) {
        for (int i = 0; i < index; i++) {
            if (buffer[i] != '\n' && buffer[i] != '\r') {
                return true;
            }
        }
        return false;
    }

    private void emit(int end, Handler handler) {
        if (lines) {
            int contentEnd = end;
            while (contentEnd > 0 && (buffer[contentEnd - 1] == '\n' || buffer[contentEnd - 1] == '\r')) {
                contentEnd--;
            }
            byte[] data = contentEnd == 0 ? null : Arrays.copyOf(buffer, contentEnd);
            handler.event(buffer, end, data, data == null ? -1 : 0, contentEnd);
        } else {
            dispatchSse(end, handler);
        }
        System.arraycopy(buffer, end, buffer, 0, size - end);
        size -= end;
        scanned = 0;
        lineStart = 0;
    }

    private void dispatchSse(int end, Handler handler) {
        ByteArrayOutputStream data = null;
        int dataLines = 0;
        int otherLines = 0;
        int singleStart = -1;
        int singleEnd = -1;
        int start = 0;
        while (start < end) {
            int stop = start;
            while (stop < end && buffer[stop] != '\n' && buffer[stop] != '\r') {
                stop++;
            }
            if (stop > start) {
                if (startsWith(start, stop, "data:")) {
                    int value = start + 5;
                    if (value < stop && buffer[value] == ' ') {
                        value++;
                    }
                    if (data == null) {
                        data = new ByteArrayOutputStream(stop - value);
                    } else {
                        data.write('\n');
                    }
                    data.write(buffer, value, stop - value);
                    dataLines++;
                    singleStart = value;
                    singleEnd = stop;
                } else {
                    otherLines++;
                }
            }
            start = stop;
            if (start < end && buffer[start] == '\r') {
                start++;
            }
            if (start < end && buffer[start] == '\n') {
                start++;
            }
        }
        boolean single = dataLines == 1 && otherLines == 0;
        handler.event(buffer, end, data == null ? null : data.toByteArray(), single ? singleStart : -1,
                single ? singleEnd : -1);
    }

    private boolean startsWith(int start, int stop, String prefix) {
        if (stop - start < prefix.length()) {
            return false;
        }
        for (int i = 0; i < prefix.length(); i++) {
            if (buffer[start + i] != prefix.charAt(i)) {
                return false;
            }
        }
        return true;
    }
}
