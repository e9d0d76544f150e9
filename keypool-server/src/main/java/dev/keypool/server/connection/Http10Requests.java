package dev.keypool.server.connection;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;
import java.util.Set;
import java.util.function.Supplier;

/**
 * HTTP/1.0 requests read as HTTP/1.1, which Helidon speaks: the first request head of a
 * connection, when its request line ends in {@code HTTP/1.0}, is handed on with {@code HTTP/1.1},
 * {@code Connection: close} in place of whatever it said about the connection (1.0 closes by
 * default), and a {@code Host} naming this listener when it had none (1.0 does not require one).
 * The answer is HTTP/1.1 with {@code Connection: close}, which 1.0 clients read; the gateway's
 * answers to what such clients ask for (health checks, plain JSON) carry a {@code Content-Length}.
 * Any other first request is handed on unchanged, as soon as its request line is in.
 */
final class Http10Requests {

    private static final byte[] HTTP_1_0 = " HTTP/1.0".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CRLF = {'\r', '\n'};
    private static final byte[] END_OF_HEAD = {'\r', '\n', '\r', '\n'};
    /** Hop-by-hop headers about the connection, which {@code Connection: close} replaces. */
    private static final Set<String> CONNECTION_HEADERS = Set.of("connection", "keep-alive", "proxy-connection");

    private Http10Requests() {
    }

    /**
     * The bytes of a connection's first request as they should reach Helidon.
     *
     * @param source       the socket's reads; {@code null} at the end of the stream
     * @param maxHeadBytes beyond this many bytes without a complete request line or head, the bytes
     *                     go on unchanged (and Helidon refuses them: 414, 431)
     * @param host         the {@code Host} to add to a 1.0 request that has none
     */
    static byte[] firstHead(Supplier<byte[]> source, int maxHeadBytes, Supplier<String> host) {
        byte[] first = source.get();
        if (first == null) {
            return null;
        }
        ByteArrayOutputStream buffer = null;
        byte[] bytes = first;
        while (true) {
            int lineEnd = indexOf(bytes, CRLF, 0);
            if (lineEnd >= 0 && !endsWith(bytes, lineEnd, HTTP_1_0)) {
                return bytes;
            }
            int headEnd = lineEnd < 0 ? -1 : indexOf(bytes, END_OF_HEAD, lineEnd);
            if (headEnd >= 0) {
                return rewrite(bytes, headEnd, host);
            }
            if (bytes.length > maxHeadBytes) {
                return bytes;
            }
            byte[] more = source.get();
            if (more == null) {
                return bytes;
            }
            if (buffer == null) {
                buffer = new ByteArrayOutputStream(bytes.length + more.length);
                buffer.writeBytes(bytes);
            }
            buffer.writeBytes(more);
            bytes = buffer.toByteArray();
        }
    }

    private static byte[] rewrite(byte[] bytes, int headEnd, Supplier<String> host) {
        String[] lines = new String(bytes, 0, headEnd, StandardCharsets.ISO_8859_1).split("\r\n", -1);
        StringBuilder head = new StringBuilder(headEnd + 64);
        head.append(lines[0], 0, lines[0].length() - HTTP_1_0.length).append(" HTTP/1.1\r\n");
        boolean hasHost = false;
        for (int i = 1; i < lines.length; i++) {
            String line = lines[i];
            int colon = line.indexOf(':');
            String name = (colon < 0 ? line : line.substring(0, colon)).trim().toLowerCase(Locale.ROOT);
            if (CONNECTION_HEADERS.contains(name)) {
                continue;
            }
            hasHost |= name.equals("host");
            head.append(line).append("\r\n");
        }
        if (!hasHost) {
            head.append("Host: ").append(host.get()).append("\r\n");
        }
        head.append("Connection: close\r\n\r\n");
        byte[] rewritten = head.toString().getBytes(StandardCharsets.ISO_8859_1);
        int rest = bytes.length - (headEnd + END_OF_HEAD.length);
        byte[] out = Arrays.copyOf(rewritten, rewritten.length + rest);
        System.arraycopy(bytes, headEnd + END_OF_HEAD.length, out, rewritten.length, rest);
        return out;
    }

    private static boolean endsWith(byte[] bytes, int end, byte[] suffix) {
        if (end < suffix.length) {
            return false;
        }
        return Arrays.equals(bytes, end - suffix.length, end, suffix, 0, suffix.length);
    }

    private static int indexOf(byte[] bytes, byte[] target, int from) {
        outer:
        for (int i = from; i <= bytes.length - target.length; i++) {
            for (int j = 0; j < target.length; j++) {
                if (bytes[i + j] != target[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
