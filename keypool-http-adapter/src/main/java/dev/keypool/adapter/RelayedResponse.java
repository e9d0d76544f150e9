package dev.keypool.adapter;

import dev.keypool.providers.relay.Header;
import dev.keypool.providers.relay.Served;
import java.io.InputStream;
import java.util.List;

/**
 * One answer as a framework's HTTP client returns it: status, headers, and a body to read as it
 * arrives. Either the provider's (passed on as it came, but for the headers that name the pooled
 * key's account) or keypool's own refusal in the provider's shape ({@link #refusal()}).
 *
 * <p>Closing it before the body is read to its end abandons the answer: the relay stops reading
 * the provider, and the reservation is charged whole (keypool never refunds what it cannot see).
 */
public final class RelayedResponse implements AutoCloseable {

    private final int status;
    private final List<Header> headers;
    private final InputStream body;
    private final Served served;
    private final PoolRefusal refusal;

    RelayedResponse(int status, List<Header> headers, InputStream body, Served served, PoolRefusal refusal) {
        this.status = status;
        this.headers = List.copyOf(headers);
        this.body = body;
        this.served = served;
        this.refusal = refusal;
    }

    public int status() {
        return status;
    }

    /** The headers, in order; names compare ignoring case ({@link Header#first}). */
    public List<Header> headers() {
        return headers;
    }

    /** The first value of {@code name}, or {@code null}. */
    public String header(String name) {
        return Header.first(headers, name);
    }

    /** The body, read as the provider sends it (bounded: the relay waits while the reader is behind). */
    public InputStream body() {
        return body;
    }

    /** Who served (provider, masked key, what failed before), or {@code null} for keypool's refusal. */
    public Served served() {
        return served;
    }

    /** keypool's refusal when no provider answered (the pool is spent, or the request is refused), else {@code null}. */
    public PoolRefusal refusal() {
        return refusal;
    }

    @Override
    public void close() {
        try {
            body.close();
        } catch (java.io.IOException e) {
            // the pipe's end never fails to close
        }
    }
}
