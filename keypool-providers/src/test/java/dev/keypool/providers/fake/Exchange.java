package dev.keypool.providers.fake;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** One request being answered by a fake: what a {@link Reply} works with. */
public final class Exchange {

    /** Thrown out of a handler so that the JDK server cuts the connection without a proper end. */
    static final class DroppedConnection extends RuntimeException {
        DroppedConnection() {
            super("connection dropped on purpose", null, false, false);
        }
    }

    private final HttpExchange http;
    private final RecordedRequest request;
    private final CountDownLatch closing;
    private OutputStream stream;

    Exchange(HttpExchange http, RecordedRequest request, CountDownLatch closing) {
        this.http = http;
        this.request = request;
        this.closing = closing;
    }

    public RecordedRequest request() {
        return request;
    }

    /** Adds response headers ({@code "name", "value", …}). */
    public void addHeaders(String... headers) {
        if (headers.length % 2 != 0) {
            throw new IllegalArgumentException("headers come in name, value pairs");
        }
        for (int i = 0; i < headers.length; i += 2) {
            http.getResponseHeaders().add(headers[i], headers[i + 1]);
        }
    }

    /** Answers with a whole body. */
    public void respond(int status, String contentType, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        http.getResponseHeaders().set("Content-Type", contentType);
        http.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
        try (OutputStream out = http.getResponseBody()) {
            out.write(bytes);
        }
    }

    /** Starts a chunked answer. */
    public void startStream(int status, String contentType) throws IOException {
        http.getResponseHeaders().set("Content-Type", contentType);
        http.sendResponseHeaders(status, 0);
        stream = http.getResponseBody();
    }

    /** Writes and flushes part of a chunked answer. */
    public void write(String text) throws IOException {
        stream.write(text.getBytes(StandardCharsets.UTF_8));
        stream.flush();
    }

    /** Ends a chunked answer properly. */
    public void finish() throws IOException {
        stream.close();
    }

    /** Cuts the connection: before the answer, or in the middle of a chunked one. */
    public void drop() {
        throw new DroppedConnection();
    }

    /** Holds the exchange open, silent, until the fake closes. */
    public void stallUntilClosed() {
        pause(Duration.ofDays(1));
    }

    /** Waits until {@code gate} opens or the fake closes. */
    public void await(Gate gate) {
        try {
            while (!gate.open.await(10, TimeUnit.MILLISECONDS)) {
                if (closing.getCount() == 0) {
                    return;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Waits {@code delay} or until the fake closes.
     *
     * @return whether the full delay passed (false when the fake is closing)
     */
    public boolean pause(Duration delay) {
        try {
            return !closing.await(delay.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
