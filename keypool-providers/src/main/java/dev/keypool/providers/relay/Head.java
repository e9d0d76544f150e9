package dev.keypool.providers.relay;

import java.util.List;

/**
 * How an answer begins: its status and the headers to send, and who served it.
 *
 * @param headers       the provider's headers that are passed on (hop-by-hop and account-identifying
 *                      ones removed, as {@code keypool-server/README.md} lists), or the translator's
 * @param contentLength the body's length when known, else -1
 * @param streaming     whether the body is a stream of events the sink should flush one by one
 */
public record Head(int status, List<Header> headers, Served served, long contentLength, boolean streaming) {

    public Head {
        headers = List.copyOf(headers);
    }

    /** The first value of a header, or {@code null}. */
    public String header(String name) {
        return Header.first(headers, name);
    }
}
