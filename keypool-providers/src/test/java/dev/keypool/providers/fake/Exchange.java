package dev.keypool.providers.fake;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * One request being answered by a fake: what a {@link Reply} works with. Everything sent through it
 * is recorded in a {@link RecordedResponse} before it reaches the socket, and the fake's
 * {@linkplain FakeUpstream#defaultHeaders default headers} are added to any answer that did not set
 * them itself.
 */
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
    private final FakeUpstream upstream;
    private final RecordedResponse recorded;
    private OutputStream stream;

    Exchange(HttpExchange http, RecordedRequest request, CountDownLatch closing, FakeUpstream upstream,
            RecordedResponse recorded) {
        this.http = http;
        this.request = request;
        this.closing = closing;
        this.upstream = upstream;
        this.recorded = recorded;
    }

    public RecordedRequest request() {
        return request;
    }

    /** The fake answering, for replies that read or change its stored objects. */
    FakeUpstream upstream() {
        return upstream;
    }

    /** The fake's clock now: what answers put in their timestamps. */
    public Instant now() {
        return upstream.clock().instant();
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
        respond(status, contentType, body.getBytes(StandardCharsets.UTF_8));
    }

    /** Answers with a whole body of bytes. */
    public void respond(int status, String contentType, byte[] body) throws IOException {
        sendHeaders(status, contentType, body.length == 0 ? -1 : body.length);
        recorded.wrote(body);
        recorded.ended(Reply.Ending.CLOSE);
        try (OutputStream out = http.getResponseBody()) {
            out.write(body);
        }
    }

    /** Starts a chunked answer. */
    public void startStream(int status, String contentType) throws IOException {
        sendHeaders(status, contentType, 0);
        stream = http.getResponseBody();
    }

    /** Writes and flushes part of a chunked answer. */
    public void write(String text) throws IOException {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        recorded.wrote(bytes);
        stream.write(bytes);
        stream.flush();
    }

    /** Ends a chunked answer properly. */
    public void finish() throws IOException {
        recorded.ended(Reply.Ending.CLOSE);
        stream.close();
    }

    /** Cuts the connection: before the answer, or in the middle of a chunked one. */
    public void drop() {
        recorded.ended(Reply.Ending.DROP);
        throw new DroppedConnection();
    }

    /** Holds the exchange open, silent, until the fake closes. */
    public void stallUntilClosed() {
        recorded.ended(Reply.Ending.STALL);
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

    private void sendHeaders(int status, String contentType, long length) throws IOException {
        String[] defaults = upstream.defaultHeaders(request);
        Set<String> set = new HashSet<>();
        http.getResponseHeaders().keySet().forEach(name -> set.add(name.toLowerCase(Locale.ROOT)));
        for (int i = 0; i + 1 < defaults.length; i += 2) {
            if (!set.contains(defaults[i].toLowerCase(Locale.ROOT))) {
                http.getResponseHeaders().add(defaults[i], defaults[i + 1]);
            }
        }
        http.getResponseHeaders().set("Content-Type", contentType);
        http.sendResponseHeaders(status, length);
        // The JDK has now added Date and Content-length or Transfer-encoding: this is what went out.
        recorded.headersSent(status, http.getResponseHeaders());
    }
}
