package dev.keypool.providers.fake;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.providers.internal.Json;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What a fake sent back for one request, byte for byte: the status, every header as it went on the
 * wire (the JDK server's own {@code Date} and {@code Content-length} or {@code Transfer-encoding}
 * included, names lower-cased), the body, each chunk of a streamed body in the order it was written,
 * and how the answer ended. A fidelity test compares it with what the gateway's caller received.
 *
 * <p>It fills in while the fake answers: each chunk is recorded before it is written to the socket,
 * so by the time a caller has read some bytes, they are here. {@link #ending()} stays {@code null}
 * until the answer is over.
 */
public final class RecordedResponse {

    private final ByteArrayOutputStream body = new ByteArrayOutputStream();
    private final List<byte[]> chunks = new ArrayList<>();
    private volatile int status;
    private volatile Map<String, List<String>> headers = Map.of();
    private volatile Reply.Ending ending;

    RecordedResponse() {
    }

    /** The status sent, or 0 while the fake has not answered (or dropped the connection first). */
    public int status() {
        return status;
    }

    /** Every header sent, lower-cased names, values in order. */
    public Map<String, List<String>> headers() {
        return headers;
    }

    /** The first value of a header, or {@code null}. */
    public String header(String name) {
        List<String> values = headers.get(name.toLowerCase(Locale.ROOT));
        return values == null || values.isEmpty() ? null : values.get(0);
    }

    /** The body bytes sent so far. */
    public synchronized byte[] body() {
        return body.toByteArray();
    }

    /** The body sent so far, as UTF-8. */
    public String bodyText() {
        return new String(body(), StandardCharsets.UTF_8);
    }

    /** The body parsed as JSON (a missing node when it is not JSON). */
    public JsonNode json() {
        return Json.parseOrMissing(bodyText());
    }

    /** Each write of a streamed body (one for a whole body), in order. */
    public synchronized List<byte[]> chunks() {
        return chunks.stream().map(byte[]::clone).toList();
    }

    /** How the answer ended, or {@code null} while it is still being sent. */
    public Reply.Ending ending() {
        return ending;
    }

    void headersSent(int status, Map<String, List<String>> sent) {
        Map<String, List<String>> copy = new LinkedHashMap<>();
        sent.forEach((name, values) -> copy.computeIfAbsent(name.toLowerCase(Locale.ROOT), n -> new ArrayList<>())
                .addAll(values));
        copy.replaceAll((name, values) -> List.copyOf(values));
        this.headers = Collections.unmodifiableMap(copy);
        this.status = status;
    }

    synchronized void wrote(byte[] bytes) {
        chunks.add(bytes.clone());
        body.writeBytes(bytes);
    }

    void ended(Reply.Ending how) {
        if (ending == null) {
            ending = how;
        }
    }

    @Override
    public String toString() {
        return status + " " + headers + "\n" + bodyText();
    }
}
