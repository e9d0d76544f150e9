package dev.keypool.providers.internal;

import dev.keypool.config.KeyMask;
import java.io.ByteArrayOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Masks a key wherever it appears in bytes passing to {@code out}, even split across writes: the
 * last {@code key length - 1} bytes are held until the next write shows whether they begin the
 * key. For answers too large to check whole (a provider that might echo the key, SerpApi).
 */
public final class ScrubbingOutputStream extends FilterOutputStream {

    private final byte[] key;
    private final byte[] mask;
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();

    public ScrubbingOutputStream(OutputStream out, String secret) {
        super(out);
        this.key = secret.getBytes(StandardCharsets.UTF_8);
        this.mask = KeyMask.mask(secret).getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] bytes, int offset, int length) throws IOException {
        pending.write(bytes, offset, length);
        byte[] window = pending.toByteArray();
        pending.reset();
        int keep = Math.min(window.length, key.length - 1);
        int safe = window.length - keep;
        int i = 0;
        int start = 0;
        while (i <= window.length - key.length) {
            if (matches(window, i)) {
                out.write(window, start, i - start);
                out.write(mask);
                i += key.length;
                start = i;
            } else {
                i++;
            }
        }
        int emitTo = Math.max(start, safe);
        out.write(window, start, emitTo - start);
        pending.write(window, emitTo, window.length - emitTo);
    }

    private boolean matches(byte[] window, int at) {
        for (int j = 0; j < key.length; j++) {
            if (window[at + j] != key[j]) {
                return false;
            }
        }
        return true;
    }

    @Override
    public void flush() throws IOException {
        out.flush();
    }

    @Override
    public void close() throws IOException {
        pending.writeTo(out);
        pending.reset();
        out.close();
    }
}
