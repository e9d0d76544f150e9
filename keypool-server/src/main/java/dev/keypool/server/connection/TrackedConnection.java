package dev.keypool.server.connection;

import io.helidon.common.buffers.BufferData;
import io.helidon.common.buffers.DataReader;
import io.helidon.common.buffers.DataWriter;
import io.helidon.common.concurrency.limits.Limit;
import io.helidon.common.socket.HelidonSocket;
import io.helidon.common.socket.PeerInfo;
import io.helidon.common.task.InterruptableTask;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.ListenerContext;
import io.helidon.webserver.ProxyProtocolData;
import io.helidon.webserver.Router;
import io.helidon.webserver.ServerConnectionException;
import io.helidon.webserver.spi.ServerConnection;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.regex.Pattern;

/**
 * One accepted connection: the context Helidon's {@code Http1Connection} runs on, with a reader of
 * our own in front of the socket, so that every wait for the client is seen and timed.
 *
 * <p>Two moments are published for the sweeper: when the current request head began (the
 * connection's opening for the first request, the first byte of a later one; cleared once its
 * headers are read) and when the read waiting now began (cleared when it returns). The request
 * line is being read exactly when Helidon's connection says it may be interrupted.
 */
final class TrackedConnection implements ConnectionContext, ServerConnection, InterruptableTask<Void> {

    /** What a connection is late for. */
    enum Overdue { NONE, HEADER, IDLE }

    private static final long NONE = Long.MIN_VALUE;

    /** The request lines a connection past the cap is still served for: health checks and scrapes. */
    private static final Pattern PROBE = Pattern.compile("(GET|HEAD) /(health(/live|/ready|/)?|metrics)([?#].*)? HTTP/1\\.[01]");
    private static final int PROBE_LINE_MAX = 256;

    private final GuardedConnections owner;
    private final ConnectionContext ctx;
    private final DataReader reader;
    private ServerConnection http1;
    private byte[] refusal;
    private boolean firstHead = true;
    private volatile long headSince;
    private volatile long readingSince = NONE;
    private volatile boolean closeAfterAnswer;

    TrackedConnection(GuardedConnections owner, ConnectionContext ctx, long openedAt) {
        this.owner = owner;
        this.ctx = ctx;
        this.headSince = openedAt;
        this.reader = DataReader.create(this::next);
    }

    /** Serves the connection with Helidon's HTTP/1.1, on this context. */
    void serve(ServerConnection http1) {
        this.http1 = http1;
    }

    /** Answers the connection with {@code response} once its request head is in, then closes it. */
    void refuse(byte[] response) {
        this.refusal = response;
    }

    @Override
    public void handle(Limit limit) throws InterruptedException {
        try {
            if (http1 == null && asksForHealthOrMetrics()) {
                // A supervisor's probe must not read a full gateway as a dead one: it is answered,
                // alone on its connection, which then closes (the hard cap bounds these).
                closeAfterAnswer = true;
                http1 = owner.http1(this);
            }
            if (http1 != null) {
                http1.handle(limit);
            } else {
                skipHead();
                ctx.dataWriter().writeNow(BufferData.create(refusal));
            }
        } finally {
            owner.ended(this);
        }
    }

    @Override
    public Duration idleTime() {
        return http1 != null ? http1.idleTime() : Duration.ZERO;
    }

    @Override
    public void close(boolean interrupt) {
        if (http1 != null) {
            http1.close(interrupt);
        } else {
            abort();
        }
    }

    @Override
    public boolean canInterrupt() {
        return http1 instanceof InterruptableTask<?> task && task.canInterrupt();
    }

    @Override
    public Void call() {
        throw new UnsupportedOperationException("a connection is run by handle(Limit)");
    }

    /** What this connection is late for at {@code now}, if anything. */
    Overdue overdue(long now, long headerTimeout, long idleTimeout) {
        long head = headSince;
        if (head != NONE && now - head > headerTimeout) {
            return Overdue.HEADER;
        }
        long reading = readingSince;
        if (reading != NONE && now - reading > idleTimeout) {
            return Overdue.IDLE;
        }
        return Overdue.NONE;
    }

    /** Whether a read waits for the client while no request head is pending. */
    boolean waitingOutsideHead() {
        return readingSince != NONE && headSince == NONE;
    }

    /** Closes the socket; the read waiting on it ends with an exception and the connection with it. */
    void abort() {
        try {
            ctx.serverSocket().close();
        } catch (UncheckedIOException | UnsupportedOperationException e) {
            // already closed, or nothing to close
        }
    }

    /** A request line was read; a pipelined head that needed no read of its own starts here. */
    void requestLineRead() {
        if (headSince == NONE) {
            headSince = owner.now();
        }
    }

    /** The request's headers are in: its head is no longer timed. */
    void requestHeadRead(boolean close) {
        headSince = NONE;
        if (close) {
            closeAfterAnswer = true;
        }
    }

    /** The answer says {@code Connection: close}: no request after it is read. */
    void closeAfterAnswer() {
        closeAfterAnswer = true;
    }

    /** What the reader asks for when it needs bytes. */
    private byte[] next() {
        if (firstHead) {
            firstHead = false;
            return Http10Requests.firstHead(this::read, owner.maxHeadBytes(), this::listenerAuthority);
        }
        return read();
    }

    /** This listener's address as a {@code Host} header names it. */
    private String listenerAuthority() {
        String host = localPeer().host();
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + localPeer().port();
    }

    /** One read from the socket, timed; the end of the stream inside a request head ends the connection quietly. */
    private byte[] read() {
        boolean betweenRequests = canInterrupt();
        if (betweenRequests && closeAfterAnswer) {
            throw new CloseConnectionException("The last answer closed the connection");
        }
        boolean inHead = betweenRequests || headSince != NONE;
        readingSince = owner.now();
        byte[] bytes;
        try {
            bytes = ctx.serverSocket().get();
        } catch (UncheckedIOException e) {
            throw new ServerConnectionException("Failed to get data from socket", e);
        } finally {
            readingSince = NONE;
        }
        if (bytes == null) {
            if (inHead) {
                throw new CloseConnectionException("The client closed the connection");
            }
            return null;
        }
        if (betweenRequests && headSince == NONE) {
            headSince = owner.now();
        }
        return bytes;
    }

    /** Whether a refused connection's request line asks for {@code /health} or {@code /metrics}; nothing is consumed. */
    private boolean asksForHealthOrMetrics() {
        try {
            int end = reader.findNewLine(PROBE_LINE_MAX);
            return end < PROBE_LINE_MAX
                    && PROBE.matcher(reader.getBuffer(end).readString(end, StandardCharsets.US_ASCII)).matches();
        } catch (DataReader.IncorrectNewLineException e) {
            return false;
        }
    }

    /** Reads a refused connection's request head, so that closing it does not reset unread data. */
    private void skipHead() {
        int matched = 0;
        int total = 0;
        while (matched < 4 && total <= owner.maxHeadBytes()) {
            byte[] bytes = reader.readBytes(Math.max(1, readAvailable()));
            total += bytes.length;
            for (int i = 0; i < bytes.length && matched < 4; i++) {
                byte b = bytes[i];
                matched = (b == '\r' && (matched == 0 || matched == 2)) || (b == '\n' && (matched == 1 || matched == 3))
                        ? matched + 1 : b == '\r' ? 1 : 0;
            }
        }
    }

    private int readAvailable() {
        reader.ensureAvailable();
        return reader.available();
    }

    @Override
    public ListenerContext listenerContext() {
        return ctx.listenerContext();
    }

    @Override
    public ExecutorService executor() {
        return ctx.executor();
    }

    @Override
    public DataWriter dataWriter() {
        return ctx.dataWriter();
    }

    @Override
    public DataReader dataReader() {
        return reader;
    }

    @Override
    public Router router() {
        return ctx.router();
    }

    @Override
    public Optional<ProxyProtocolData> proxyProtocolData() {
        return ctx.proxyProtocolData();
    }

    @Override
    public HelidonSocket serverSocket() {
        return ctx.serverSocket();
    }

    @Override
    public PeerInfo remotePeer() {
        return ctx.remotePeer();
    }

    @Override
    public PeerInfo localPeer() {
        return ctx.localPeer();
    }

    @Override
    public boolean isSecure() {
        return ctx.isSecure();
    }

    @Override
    public String socketId() {
        return ctx.socketId();
    }

    @Override
    public String childSocketId() {
        return ctx.childSocketId();
    }
}
