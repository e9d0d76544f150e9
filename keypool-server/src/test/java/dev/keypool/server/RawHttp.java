package dev.keypool.server;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A raw socket to the gateway, for what an HTTP client library hides: the exact request bytes
 * (HTTP/1.0, a 100 KB URL, a foreign {@code Host}), and whether the server closed the connection.
 * Every read waits at most {@link #READ_TIMEOUT_MILLIS}.
 */
final class RawHttp implements AutoCloseable {

    static final int READ_TIMEOUT_MILLIS = 10_000;

    private final Socket socket;
    private final InputStream in;

    private RawHttp(Socket socket) throws IOException {
        this.socket = socket;
        this.in = socket.getInputStream();
    }

    static RawHttp connect(int port) {
        return connect(port, READ_TIMEOUT_MILLIS);
    }

    /** With reads that wait up to {@code readTimeoutMillis} (an answer held upstream for a while). */
    static RawHttp connect(int port, int readTimeoutMillis) {
        try {
            Socket socket = new Socket();
            socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 5000);
            socket.setSoTimeout(readTimeoutMillis);
            return new RawHttp(socket);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    RawHttp send(String text) {
        return send(text.getBytes(StandardCharsets.ISO_8859_1));
    }

    RawHttp send(byte[] bytes) {
        try {
            socket.getOutputStream().write(bytes);
            socket.getOutputStream().flush();
            return this;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** One answer: status line, headers (lower-case names) and the body its Content-Length says. */
    Answer answer() {
        try {
            String head = head();
            String[] lines = head.split("\r\n");
            Map<String, String> headers = new LinkedHashMap<>();
            for (int i = 1; i < lines.length; i++) {
                int colon = lines[i].indexOf(':');
                if (colon > 0) {
                    headers.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim());
                }
            }
            int length = Integer.parseInt(headers.getOrDefault("content-length", "0"));
            String body = new String(in.readNBytes(length), StandardCharsets.UTF_8);
            return new Answer(lines[0], Integer.parseInt(lines[0].substring(9, 12)), headers, body);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Whether the server closed the connection: the next read ends the stream (or is reset) rather
     * than waiting. Waits up to {@link #READ_TIMEOUT_MILLIS} for the close.
     */
    boolean closedByServer() {
        try {
            return in.read() < 0;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    /** Whether the connection is still open {@code millis} later (the server sent nothing and did not close). */
    boolean stillOpenAfter(int millis) {
        try {
            socket.setSoTimeout(millis);
            int read = in.read();
            socket.setSoTimeout(READ_TIMEOUT_MILLIS);
            if (read >= 0) {
                throw new IllegalStateException("the server sent unexpected bytes");
            }
            return false;
        } catch (SocketTimeoutException e) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private String head() throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int matched = 0;
        while (matched < 4) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("the connection ended before an answer's head: '" + head + "'");
            }
            head.write(b);
            matched = (b == '\r' && (matched == 0 || matched == 2)) || (b == '\n' && (matched == 1 || matched == 3))
                    ? matched + 1 : b == '\r' ? 1 : 0;
        }
        return head.toString(StandardCharsets.ISO_8859_1);
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException e) {
            // closing anyway
        }
    }

    /** What the gateway answered. */
    record Answer(String statusLine, int status, Map<String, String> headers, String body) {

        String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }
    }
}
