package dev.keypool.server.connection;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** A connection's first request head, HTTP/1.0 read as 1.1, whatever reads it arrives in. */
class Http10RequestsTest {

    private static Supplier<byte[]> reads(String... chunks) {
        Deque<byte[]> queue = new ArrayDeque<>();
        for (String chunk : chunks) {
            queue.add(chunk.getBytes(StandardCharsets.ISO_8859_1));
        }
        return queue::poll;
    }

    private static String firstHead(Supplier<byte[]> reads) {
        byte[] bytes = Http10Requests.firstHead(reads, 64, () -> "127.0.0.1:8080");
        return bytes == null ? null : new String(bytes, StandardCharsets.ISO_8859_1);
    }

    @Test
    void http11Head_isHandedOnAsSoonAsItsRequestLineIsIn() {
        Supplier<byte[]> reads = reads("GET /health HTTP/1.1\r\nHo", "st: x\r\n\r\n");

        assertThat(firstHead(reads)).isEqualTo("GET /health HTTP/1.1\r\nHo");
        assertThat(reads.get()).asString(StandardCharsets.ISO_8859_1).isEqualTo("st: x\r\n\r\n");
    }

    @Test
    void http10Head_inSeveralReads_becomesHttp11WithConnectionCloseAndAHost() {
        String head = firstHead(reads("GET /hea", "lth HTTP/1.0\r\nConnection: Keep-Alive\r\nKeep-Alive: 5\r\nAcc",
                "ept: */*\r\n\r\n"));

        assertThat(head).isEqualTo("GET /health HTTP/1.1\r\nAccept: */*\r\nHost: 127.0.0.1:8080\r\nConnection: close\r\n\r\n");
    }

    @Test
    void http10HeadWithAHost_keepsItsHostAndItsBody() {
        String head = firstHead(reads("POST /v1/x HTTP/1.0\r\nHost: example\r\nContent-Length: 2\r\n\r\n{}"));

        assertThat(head).isEqualTo("POST /v1/x HTTP/1.1\r\nHost: example\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
    }

    @Test
    void requestLineLongerThanTheLimit_isHandedOnUnchanged() {
        String line = "GET /" + "a".repeat(100);

        assertThat(firstHead(reads(line, "b"))).isEqualTo(line);
    }

    @Test
    void endOfStreamBeforeAnything_isTheEnd() {
        assertThat(firstHead(reads())).isNull();
    }
}
