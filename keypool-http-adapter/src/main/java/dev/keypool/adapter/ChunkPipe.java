package dev.keypool.adapter;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A bounded pipe from the relay's thread, which writes an answer as it arrives, to the framework's
 * thread, which reads it. The writer waits while {@value #MAX_BYTES} bytes are unread, so a slow
 * reader holds back the provider instead of filling memory. Closing the reading end abandons the
 * answer: the writer's next write fails, which the relay takes as the caller gone (it settles the
 * reservation on the safe side and blames no key). A failure the writer reports ({@link #fail})
 * reaches the reader as an {@link IOException} once what came before it has been read.
 */
final class ChunkPipe {

    static final int MAX_BYTES = 256 * 1024;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition readable = lock.newCondition();
    private final Condition writable = lock.newCondition();
    private final Deque<byte[]> chunks = new ArrayDeque<>();
    private int buffered;
    private boolean writerDone;
    private boolean readerGone;
    private Throwable failure;

    private final InputStream input = new Input();
    private final OutputStream output = new Output();

    InputStream input() {
        return input;
    }

    OutputStream output() {
        return output;
    }

    /** The answer broke off: the reader gets {@code cause} after the bytes before it. */
    void fail(Throwable cause) {
        locked(() -> {
            if (!writerDone) {
                failure = cause;
                writerDone = true;
                readable.signalAll();
            }
        });
    }

    private void locked(Runnable action) {
        lock.lock();
        try {
            action.run();
        } finally {
            lock.unlock();
        }
    }

    /** Waits on {@code condition} (the lock held); an interrupt is the I/O's failure, the flag kept set. */
    private static void await(Condition condition, String during) throws InterruptedIOException {
        try {
            condition.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while " + during);
        }
    }

    private final class Output extends OutputStream {

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] bytes, int offset, int length) throws IOException {
            if (length == 0) {
                return;
            }
            lock.lock();
            try {
                while (!readerGone && !writerDone && buffered > 0 && buffered + length > MAX_BYTES) {
                    await(writable, "the reader was slow");
                }
                if (readerGone) {
                    throw new IOException("the reader closed the answer");
                }
                if (writerDone) {
                    throw new IOException("the answer was already closed");
                }
                chunks.addLast(Arrays.copyOfRange(bytes, offset, offset + length));
                buffered += length;
                readable.signalAll();
            } finally {
                lock.unlock();
            }
        }

        @Override
        public void close() {
            locked(() -> {
                writerDone = true;
                readable.signalAll();
            });
        }
    }

    private final class Input extends InputStream {

        private byte[] current;
        private int position;

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] into, int offset, int length) throws IOException {
            if (length == 0) {
                return 0;
            }
            if (current == null || position == current.length) {
                current = next();
                position = 0;
                if (current == null) {
                    return -1;
                }
            }
            int n = Math.min(length, current.length - position);
            System.arraycopy(current, position, into, offset, n);
            position += n;
            return n;
        }

        @Override
        public int available() {
            return current == null ? 0 : current.length - position;
        }

        private byte[] next() throws IOException {
            lock.lock();
            try {
                while (chunks.isEmpty() && !writerDone && !readerGone) {
                    await(readable, "waiting for the answer");
                }
                if (readerGone) {
                    throw new IOException("the answer was closed");
                }
                byte[] chunk = chunks.pollFirst();
                if (chunk != null) {
                    buffered -= chunk.length;
                    writable.signalAll();
                    return chunk;
                }
                if (failure != null) {
                    throw new IOException("the answer broke off: " + failure.getMessage(), failure);
                }
                return null;
            } finally {
                lock.unlock();
            }
        }

        @Override
        public void close() {
            locked(() -> {
                readerGone = true;
                chunks.clear();
                buffered = 0;
                writable.signalAll();
                readable.signalAll();
            });
        }
    }
}
