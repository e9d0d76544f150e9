package dev.keypool.server.connection;

import io.helidon.common.buffers.BufferData;
import io.helidon.http.HeaderValues;
import io.helidon.http.Headers;
import io.helidon.http.HttpPrologue;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.http1.Http1Config;
import io.helidon.webserver.http1.Http1ConnectionListener;
import io.helidon.webserver.http1.Http1ConnectionSelector;
import io.helidon.webserver.spi.ServerConnection;
import io.helidon.webserver.spi.ServerConnectionSelector;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * The gateway's HTTP/1.1 connections, guarded: every connection the listener accepts comes here
 * (it is the listener's only connection selector), and is either refused or served by Helidon's
 * own {@code Http1Connection} through a {@link TrackedConnection} that watches its reads.
 *
 * <h2>What it adds to Helidon's HTTP/1.1</h2>
 * <ul>
 *   <li><b>A connection cap with an answer.</b> Above {@link ConnectionLimits#maxConnections()} a
 *       connection gets its request head read, a canned 503 with {@code Retry-After}, and is closed,
 *       unless it asks for {@code /health} or {@code /metrics}: that one request is served.
 *       Helidon's own cap ({@code maxTcpConnections}, set to {@link ConnectionLimits#hardLimit()})
 *       only stops accepting, which a client sees as a connect that hangs.</li>
 *   <li><b>Timeouts.</b> A request head must arrive within the header timeout (slowloris); a read
 *       may wait for the client at most the idle timeout (a kept-alive connection nobody uses, a
 *       stalled upload). Helidon closes idle connections only between requests, every two minutes,
 *       and never one whose headers trickle in. {@link #sweep()} enforces both; it is called every
 *       second by the gateway, and by tests after they move the ticker.</li>
 *   <li><b>{@code Connection: close} closes.</b> Helidon answers it with the header and then waits
 *       for another request on the socket; here the connection ends after the answer.</li>
 *   <li><b>HTTP/1.0.</b> Helidon answers it 505 (and drops it when more than one selector is
 *       configured). A load balancer's health check speaks 1.0, so the first request of a connection,
 *       when it is 1.0, is read as 1.1 with {@code Connection: close} (and a {@code Host}, which 1.0
 *       may lack): it gets a 1.1 answer, which every 1.0 client reads, and the connection closes.</li>
 *   <li><b>Quiet ends.</b> A client that goes away in the middle of a request head ends the
 *       connection without Helidon's "Internal server error" warning and stack trace, which a
 *       flood of such clients would otherwise write once per connection.</li>
 * </ul>
 *
 * <h2>Concurrency</h2>
 * Each connection is read by its own virtual thread; the sweeper reads the few volatile fields a
 * connection's reads publish, and closes a late connection's socket, which ends the read waiting on
 * it. Counting is one {@link AtomicInteger}.
 */
public final class GuardedConnections implements ServerConnectionSelector {

    private final ConnectionLimits limits;
    private final Http1ConnectionSelector http1;
    private final int maxHeadBytes;
    private final byte[] refusal;
    private final LongSupplier nanoTime;
    private final AtomicInteger open = new AtomicInteger();
    private final Set<TrackedConnection> live = ConcurrentHashMap.newKeySet();
    private final LongAdder refused = new LongAdder();
    private final LongAdder headerTimeouts = new LongAdder();
    private final LongAdder idleTimeouts = new LongAdder();

    /**
     * @param http1    Helidon's HTTP/1.1 settings; {@link #listener()} must be among its send and
     *                 receive listeners
     * @param refusal  the whole HTTP response a connection above the cap gets
     * @param nanoTime the ticker timeouts are measured with ({@link System#nanoTime()} but in tests)
     */
    public GuardedConnections(Http1Config http1, ConnectionLimits limits, byte[] refusal, LongSupplier nanoTime) {
        this.limits = limits;
        this.http1 = Http1ConnectionSelector.builder().config(http1).build();
        this.maxHeadBytes = http1.maxPrologueLength() + http1.maxHeadersSize();
        this.refusal = refusal.clone();
        this.nanoTime = nanoTime;
    }

    /** Add to the HTTP/1.1 configuration's receive listeners: it tells a connection its request head is in. */
    public static Http1ConnectionListener receiveListener() {
        return Listener.RECEIVE;
    }

    /** Add to the HTTP/1.1 configuration's send listeners: it tells a connection its answer closes it. */
    public static Http1ConnectionListener sendListener() {
        return Listener.SEND;
    }

    @Override
    public int bytesToIdentifyConnection() {
        return 0;
    }

    /** Every connection: this is the listener's only selector, and Helidon then skips identification. */
    @Override
    public Support supports(BufferData data) {
        return Support.SUPPORTED;
    }

    @Override
    public Set<String> supportedApplicationProtocols() {
        return http1.supportedApplicationProtocols();
    }

    @Override
    public ServerConnection connection(ConnectionContext ctx) {
        TrackedConnection connection = new TrackedConnection(this, ctx, nanoTime.getAsLong());
        live.add(connection);
        if (open.incrementAndGet() > limits.maxConnections()) {
            refused.increment();
            connection.refuse(refusal);
        } else {
            connection.serve(http1(connection));
        }
        return connection;
    }

    /** Connections open now, the refused ones included. */
    public int open() {
        return open.get();
    }

    /** Connections refused because {@link ConnectionLimits#maxConnections()} were open. */
    public long refused() {
        return refused.sum();
    }

    /** Connections closed because their request head took longer than the header timeout. */
    public long headerTimeouts() {
        return headerTimeouts.sum();
    }

    /** Connections closed because a read waited for the client longer than the idle timeout. */
    public long idleTimeouts() {
        return idleTimeouts.sum();
    }

    /**
     * Connections waiting for the client outside a request head: between requests, or inside a
     * request body. Tests wait for it before they move the ticker.
     */
    public int waitingOutsideHeads() {
        int waiting = 0;
        for (TrackedConnection connection : live) {
            if (connection.waitingOutsideHead()) {
                waiting++;
            }
        }
        return waiting;
    }

    /** Closes every connection past its header or idle deadline. */
    public void sweep() {
        long now = nanoTime.getAsLong();
        long header = limits.headerTimeout().toNanos();
        long idle = limits.idleTimeout().toNanos();
        for (TrackedConnection connection : live) {
            switch (connection.overdue(now, header, idle)) {
                case HEADER -> {
                    headerTimeouts.increment();
                    connection.abort();
                }
                case IDLE -> {
                    idleTimeouts.increment();
                    connection.abort();
                }
                case NONE -> {
                }
            }
        }
    }

    /** Helidon's HTTP/1.1 on {@code connection}'s context. */
    ServerConnection http1(TrackedConnection connection) {
        return http1.connection(connection);
    }

    int maxHeadBytes() {
        return maxHeadBytes;
    }

    long now() {
        return nanoTime.getAsLong();
    }

    void ended(TrackedConnection connection) {
        if (live.remove(connection)) {
            open.decrementAndGet();
        }
    }

    /** Tells a connection where its requests are: a request line read, a head complete, an answer that closes. */
    private enum Listener implements Http1ConnectionListener {
        RECEIVE {
            @Override
            public void prologue(ConnectionContext ctx, HttpPrologue prologue) {
                if (ctx instanceof TrackedConnection connection) {
                    connection.requestLineRead();
                }
            }

            @Override
            public void headers(ConnectionContext ctx, Headers headers) {
                if (ctx instanceof TrackedConnection connection) {
                    connection.requestHeadRead(headers.containsToken(HeaderValues.CONNECTION_CLOSE));
                }
            }
        },
        SEND {
            @Override
            public void headers(ConnectionContext ctx, Headers headers) {
                if (ctx instanceof TrackedConnection connection && headers.containsToken(HeaderValues.CONNECTION_CLOSE)) {
                    connection.closeAfterAnswer();
                }
            }
        }
    }
}
