package dev.keypool.providers.fake;

import java.io.IOException;
import java.time.Duration;
import java.util.List;

/**
 * How a fake answers one request. The generic replies are here; each fake has its provider's.
 */
@FunctionalInterface
public interface Reply {

    void send(Exchange exchange) throws IOException;

    /** How a streamed reply ends. */
    enum Ending {
        /** The stream ends properly. */
        CLOSE,
        /** The connection is cut without the stream's proper end. */
        DROP,
        /** The stream goes silent and stays open until the fake closes. */
        STALL
    }

    /** A JSON answer ({@code application/json}). */
    static Reply json(int status, String body, String... headers) {
        return body(status, "application/json", body, headers);
    }

    /** Any answer with a body. */
    static Reply body(int status, String contentType, String body, String... headers) {
        return exchange -> {
            exchange.addHeaders(headers);
            exchange.respond(status, contentType, body);
        };
    }

    /** A streamed answer: each chunk written and flushed in turn, then the given ending. */
    static Reply stream(int status, String contentType, List<String> chunks, Ending ending, String... headers) {
        return stream(status, contentType, chunks, null, ending, headers);
    }

    /** Like {@link #stream(int, String, List, Ending, String...)}, holding before the ending until {@code gate} opens. */
    static Reply stream(int status, String contentType, List<String> chunks, Gate gate, Ending ending,
            String... headers) {
        return exchange -> {
            exchange.addHeaders(headers);
            exchange.startStream(status, contentType);
            for (String chunk : chunks) {
                exchange.write(chunk);
            }
            if (gate != null) {
                exchange.await(gate);
            }
            switch (ending) {
                case CLOSE -> exchange.finish();
                case DROP -> exchange.drop();
                case STALL -> exchange.stallUntilClosed();
            }
        };
    }

    /** Waits {@code delay} (or until the fake closes), then answers with {@code then}. */
    static Reply delayed(Duration delay, Reply then) {
        return exchange -> {
            if (exchange.pause(delay)) {
                then.send(exchange);
            }
        };
    }

    /** Cuts the connection before any answer. */
    static Reply dropConnection() {
        return Exchange::drop;
    }

    /** Never answers: holds the request until the fake closes. */
    static Reply noAnswer() {
        return Exchange::stallUntilClosed;
    }

    /** This reply with more headers ({@code "name", "value", …}). */
    default Reply withHeaders(String... headers) {
        return exchange -> {
            exchange.addHeaders(headers);
            send(exchange);
        };
    }
}
