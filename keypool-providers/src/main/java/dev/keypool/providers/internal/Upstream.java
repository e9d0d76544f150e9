package dev.keypool.providers.internal;

import dev.keypool.config.KeyMask;
import dev.keypool.failure.Failure;
import dev.keypool.failure.FailureKind;
import dev.keypool.failure.UpstreamException;
import io.helidon.http.Header;
import io.helidon.http.HttpLogConfig;
import io.helidon.webclient.api.ClientConnection;
import io.helidon.webclient.api.ConnectedSocketChannelInfo;
import io.helidon.webclient.api.ConnectedSocketInfo;
import io.helidon.webclient.api.ConnectionListener;
import io.helidon.webclient.api.HttpClientResponse;
import io.helidon.webclient.api.RuntimeUnknownHostException;
import io.helidon.webclient.api.WebClientServiceResponse;
import io.helidon.webclient.http1.Http1Client;
import io.helidon.webclient.http1.Http1ClientRequest;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.channels.UnresolvedAddressException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.function.Supplier;

/**
 * Sends requests to providers over Helidon's blocking HTTP/1.1 client ({@link Http1Client}, kept-alive
 * connections) with keypool's timeouts, and turns transport trouble into classified failures.
 *
 * <p>The I/O runs on the calling thread. On the gateway's virtual threads a call is a blocking read
 * that parks the virtual thread, with no hand-off to another thread and back; that is why this is not
 * the JDK's {@code HttpClient}, whose selector and worker threads took half the gateway's CPU and most
 * of its added latency in the load harness (docs/DECISIONS.md).
 *
 * <h2>Timeouts</h2>
 * A buffered call ({@link #send}) is bounded as a whole by the upstream timeout: the answer's headers
 * must arrive within it, and every read of the body may wait only for what is left of it, so a
 * provider that trickles a body cannot hold the caller, its reservation and a connection for ever.
 * A stream ({@link #open}) waits for its headers up to the same timeout, then each read up to the
 * idle timeout. Both are the socket's read timeout, set on the connection before each wait; no
 * watchdog thread is involved.
 *
 * <h2>Failures</h2>
 * A refused connection, unknown host or connect timeout is {@link FailureKind#UNREACHABLE}; a
 * response timeout or a connection dropped mid-answer is {@link FailureKind#SERVER_ERROR}. An
 * interrupted caller is not the provider's fault: it gets a {@link CancellationException}, with its
 * interrupt status kept, and no key is blamed. A virtual thread's blocking read ends at once when it
 * is interrupted; a platform thread's would not, so its I/O runs on a virtual thread instead.
 *
 * <h2>Connections</h2>
 * Kept alive in Helidon's pool, up to {@value #CONNECTIONS_KEPT} idle per provider address. It
 * watches each idle connection with a blocking read, so one the server closed is mostly not reused;
 * but a server (or a load balancer) may close an idle connection just as a request goes out on it,
 * before the watcher sees the close. So a request that fails on a <em>reused</em> connection before
 * its answer's headers arrived, for any reason but a timeout, is sent once more on a new connection
 * (OkHttp's, the JDK client's and Apache's remedy), and no key is blamed for the stale connection.
 * A failure on a connection opened for the request is not retried: that server may have received
 * and processed it. Neither is a timeout: the server may be processing it still.
 */
public final class Upstream implements AutoCloseable {

    /** Bodies up to this size are read into a buffer of their declared length. */
    private static final int MAX_PRESIZED_BODY = 1 << 20;
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
    /** Idle connections kept per provider address; the JDK client kept any number. */
    private static final int CONNECTIONS_KEPT = 1024;

    /**
     * What the current call on this thread learned from Helidon: the connection its response arrived
     * on, handed from the client service below, and whether a connection was opened for it, from the
     * connection listener. Both run on the thread that made the call (the chain is synchronous, and
     * a connection is opened while the request is being sent).
     */
    private static final ThreadLocal<Call> CALL = ThreadLocal.withInitial(Call::new);

    private static final class Call {
        ClientConnection connection;
        boolean opened;
    }

    /** Marks the current call as one on a connection opened for it, not taken from the pool. */
    private static final ConnectionListener OPENED = new ConnectionListener() {
        @Override
        public void socketConnected(ConnectedSocketInfo socket) {
            CALL.get().opened = true;
        }

        @Override
        public void socketChannelConnected(ConnectedSocketChannelInfo channel) {
            CALL.get().opened = true;
        }
    };

    private final Http1Client client;
    private final Duration timeout;
    private final Duration idleTimeout;

    public Upstream(Duration timeout, Duration idleTimeout) {
        this.timeout = timeout;
        this.idleTimeout = idleTimeout;
        this.client = Http1Client.builder()
                .connectTimeout(CONNECT_TIMEOUT)
                .readTimeout(timeout)
                .followRedirects(false)
                .shareConnectionCache(false)
                .connectionCacheSize(CONNECTIONS_KEPT)
                .connectionListener(OPENED)
                // Our headers are constants, keys checked when the configuration loaded, and ids;
                // the wire log's level checks cost more per call than the rest of the header writing.
                .protocolConfig(protocol -> protocol.validateRequestHeaders(false)
                        .log(HttpLogConfig.builder().receiveLog(false).sendLog(false).build()))
                .addService((chain, request) -> {
                    WebClientServiceResponse response = chain.proceed(request);
                    if (response.connection() instanceof ClientConnection connection) {
                        CALL.get().connection = connection;
                    }
                    return response;
                })
                .build();
    }

    public Duration timeout() {
        return timeout;
    }

    /** The longest silence allowed while a body is read as it arrives. */
    public Duration idleTimeout() {
        return idleTimeout;
    }

    /** A buffered answer. */
    public record Response(int status, ResponseHeaders headers, String body) {
    }

    /**
     * Sends a request and reads the whole answer within {@code limit}.
     *
     * @param secret the key the request carries, scrubbed from every message; may be {@code null}
     * @throws UpstreamException    when there was no complete answer
     * @throws CancellationException when the calling thread was interrupted
     */
    public Response send(UpstreamRequest request, String secret, Duration limit) {
        return interruptibly(() -> sendNow(request, secret, limit));
    }

    private Response sendNow(UpstreamRequest request, String secret, Duration limit) {
        long deadline = System.nanoTime() + limit.toNanos();
        Exchange exchange = exchange(request, limit, secret);
        try (HttpClientResponse response = exchange.response) {
            String body = readBody(response, exchange.connection, deadline, limit, secret);
            return new Response(response.status().code(), headersOf(response), body);
        }
    }

    /** {@link #send(UpstreamRequest, String, Duration)} within the upstream timeout. */
    public Response send(UpstreamRequest request, String secret) {
        return send(request, secret, timeout);
    }

    /**
     * Opens a streamed answer. The caller must close it; closing before the end closes the connection,
     * which cancels the upstream request.
     */
    public StreamingResponse open(UpstreamRequest request, String secret) {
        Exchange exchange = interruptibly(() -> exchange(request, timeout, secret));
        if (exchange.connection != null) {
            exchange.connection.readTimeout(idleTimeout);
        }
        return new StreamingResponse(exchange.response, exchange.connection, headersOf(exchange.response), secret, this);
    }

    private record Exchange(HttpClientResponse response, ClientConnection connection) {
    }

    /**
     * Sends the request and waits for the answer's status and headers, up to {@code limit} (a retry
     * on a new connection gets a limit of its own: the stale connection failed at once, not slowly).
     */
    private Exchange exchange(UpstreamRequest request, Duration limit, String secret) {
        Call call = CALL.get();
        try {
            return exchange(call, request, limit, true);
        } catch (RuntimeException e) {
            if (call.opened || !staleConnection(e)) {
                throw failure(e, secret, limit, true);
            }
        } finally {
            call.connection = null;
        }
        try {
            // keepAlive(false): a connection of its own, never another idle one that may be as stale
            return exchange(call, request, limit, false);
        } catch (RuntimeException e) {
            throw failure(e, secret, limit, true);
        } finally {
            call.connection = null;
        }
    }

    private Exchange exchange(Call call, UpstreamRequest request, Duration limit, boolean keepAlive) {
        Http1ClientRequest http = client.method(request.method()).uri(request.uri()).readTimeout(limit);
        if (!keepAlive) {
            http.keepAlive(false);
        }
        for (Header header : request.headers()) {
            http.header(header);
        }
        call.connection = null;
        call.opened = false;
        HttpClientResponse response = request.body() == null ? http.request() : http.submit(request.body());
        return new Exchange(response, call.connection);
    }

    /**
     * Whether a call that failed before its answer's headers, on a connection taken from the pool,
     * failed because the connection was stale: found closed or reset, as opposed to a timeout (the
     * server may be processing the request), an interrupt, or a connect failure (which a fresh
     * connection's connect reports before the listener marks it opened).
     */
    private static boolean staleConnection(RuntimeException error) {
        return !Thread.currentThread().isInterrupted() && !readTimedOut(error) && !connectTimedOut(error)
                && !unreachable(error);
    }

    private String readBody(HttpClientResponse response, ClientConnection connection, long deadline, Duration limit,
            String secret) {
        InputStream in = response.inputStream();
        long declared = response.headers().contentLength().orElse(-1);
        // sized by Content-Length when there is one, plus the byte that lets the last read see the end
        byte[] buffer = new byte[declared >= 0 && declared < MAX_PRESIZED_BODY ? (int) declared + 1 : 8192];
        int size = 0;
        try {
            while (true) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw timedOut(limit, secret);
                }
                if (connection != null) {
                    connection.readTimeout(Duration.ofMillis(Math.max(1, left / 1_000_000)));
                }
                if (size == buffer.length) {
                    buffer = Arrays.copyOf(buffer, buffer.length * 2);
                }
                int read = in.read(buffer, size, buffer.length - size);
                if (read < 0) {
                    return new String(buffer, 0, size, StandardCharsets.UTF_8);
                }
                size += read;
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof UpstreamException failure) {
                throw failure;
            }
            throw failure(e, secret, limit, false);
        }
    }

    /**
     * An answer whose status and headers have arrived and whose body is read as it comes
     * ({@link #body()}).
     */
    public static final class StreamingResponse implements AutoCloseable {

        private final HttpClientResponse response;
        private final ClientConnection connection;
        private final ResponseHeaders headers;
        private final String secret;
        private final Upstream upstream;
        private InputStream body;

        private StreamingResponse(HttpClientResponse response, ClientConnection connection, ResponseHeaders headers,
                String secret, Upstream upstream) {
            this.response = response;
            this.connection = connection;
            this.headers = headers;
            this.secret = secret;
            this.upstream = upstream;
        }

        public int status() {
            return response.status().code();
        }

        public ResponseHeaders headers() {
            return headers;
        }

        /** Every header of the answer, in the order received, for a gateway that passes them on. */
        public void forEachHeader(java.util.function.BiConsumer<String, String> action) {
            for (Header header : response.headers()) {
                for (String value : header.allValues()) {
                    action.accept(header.name(), value);
                }
            }
        }

        /** The declared {@code Content-Length}, or -1 when the body is chunked or runs to the close. */
        public long contentLength() {
            return response.headers().contentLength().orElse(-1);
        }

        /** How long each following read of the body may wait (the idle timeout until changed). */
        public void readTimeout(Duration limit) {
            if (connection != null) {
                connection.readTimeout(limit);
            }
        }

        /**
         * The body as bytes. A read fails as a classified {@link UpstreamException}
         * when the connection drops or stays silent past the read timeout, a
         * {@link CancellationException} when the reading thread is interrupted.
         */
        public InputStream body() {
            if (body == null) {
                body = new FailureMappingStream(response.inputStream(), upstream, secret);
            }
            return body;
        }

        @Override
        public void close() {
            try {
                response.close();
            } catch (RuntimeException ignored) {
                // closing is how we cancel; a failure to close has nothing left to tell
            }
        }
    }

    /** A body whose read failures are classified as the provider's, not thrown raw. */
    private static final class FailureMappingStream extends InputStream {

        private final InputStream in;
        private final Upstream upstream;
        private final String secret;

        FailureMappingStream(InputStream in, Upstream upstream, String secret) {
            this.in = in;
            this.upstream = upstream;
            this.secret = secret;
        }

        @Override
        public int read() {
            byte[] one = new byte[1];
            int read = read(one, 0, 1);
            return read < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] buffer, int offset, int length) {
            return interruptibly(() -> {
                try {
                    return in.read(buffer, offset, length);
                } catch (IOException | RuntimeException e) {
                    throw upstream.failureWhileReading(e, secret);
                }
            });
        }
    }

    /**
     * Runs blocking I/O so that interrupting the caller ends it. A virtual thread's socket read ends
     * when the thread is interrupted, so on one (the gateway's) the work runs right here; a platform
     * thread's would not, so its work runs on a virtual thread that the caller's interrupt interrupts.
     */
    static <T> T interruptibly(Supplier<T> work) {
        if (Thread.currentThread().isVirtual()) {
            return work.get();
        }
        CompletableFuture<T> result = new CompletableFuture<>();
        Thread worker = Thread.ofVirtual().name("keypool-upstream").start(() -> {
            try {
                result.complete(work.get());
            } catch (Throwable e) {
                result.completeExceptionally(e);
            }
        });
        try {
            return result.get();
        } catch (InterruptedException e) {
            worker.interrupt();
            try {
                worker.join();
            } catch (InterruptedException again) {
                // interrupted twice: stop waiting for the worker, which is ending anyway
            }
            Thread.currentThread().interrupt();
            throw new CancellationException("interrupted while waiting for the provider");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException failure) {
                throw failure;
            }
            if (e.getCause() instanceof Error error) {
                throw error;
            }
            throw new IllegalStateException(e.getCause());
        }
    }

    /** Maps a failure while reading a stream's body; a read timeout there is the idle timeout. */
    RuntimeException failureWhileReading(Exception error, String secret) {
        if (Thread.currentThread().isInterrupted()) {
            return new CancellationException("interrupted while reading from the provider");
        }
        if (readTimedOut(error)) {
            return classified(FailureKind.SERVER_ERROR, "timed out: the stream was silent for " + describe(idleTimeout),
                    error, secret);
        }
        return transportFailure(error, secret);
    }

    private RuntimeException failure(Exception error, String secret, Duration limit, boolean connecting) {
        if (Thread.currentThread().isInterrupted()) {
            return new CancellationException("interrupted while waiting for the provider");
        }
        if (connecting && connectTimedOut(error)) {
            return classified(FailureKind.UNREACHABLE, "connect timed out", error, secret);
        }
        if (readTimedOut(error)) {
            return timedOut(limit, secret);
        }
        return transportFailure(error, secret);
    }

    private static UpstreamException timedOut(Duration limit, String secret) {
        return classified(FailureKind.SERVER_ERROR, "timed out: no complete answer within " + describe(limit), null, secret);
    }

    /** Classifies a transport failure; the message never holds {@code secret}. */
    public static UpstreamException transportFailure(Throwable error, String secret) {
        if (unreachable(error)) {
            Throwable cause = rootCause(error);
            return classified(FailureKind.UNREACHABLE, "unreachable (" + cause.getClass().getSimpleName()
                    + (cause.getMessage() == null ? "" : ": " + cause.getMessage()) + ")", error, secret);
        }
        Throwable cause = error instanceof UncheckedIOException && error.getCause() != null ? error.getCause() : error;
        return classified(FailureKind.SERVER_ERROR, "connection failed (" + cause.getClass().getSimpleName()
                + (cause.getMessage() == null ? "" : ": " + cause.getMessage()) + ")", error, secret);
    }

    private static UpstreamException classified(FailureKind kind, String what, Throwable error, String secret) {
        return new UpstreamException(Failure.of(kind, KeyMask.scrub(what, secret)), 0, error);
    }

    private static boolean unreachable(Throwable error) {
        for (Throwable cause = error; cause != null; cause = cause.getCause()) {
            if (cause instanceof ConnectException || cause instanceof UnresolvedAddressException
                    || cause instanceof UnknownHostException || cause instanceof NoRouteToHostException
                    || cause instanceof RuntimeUnknownHostException) {
                return true;
            }
        }
        return false;
    }

    private static boolean connectTimedOut(Throwable error) {
        for (Throwable cause = error; cause != null; cause = cause.getCause()) {
            if (cause instanceof SocketTimeoutException timeout && timeout.getMessage() != null
                    && timeout.getMessage().toLowerCase(Locale.ROOT).contains("connect")) {
                return true;
            }
        }
        return false;
    }

    private static boolean readTimedOut(Throwable error) {
        for (Throwable cause = error; cause != null; cause = cause.getCause()) {
            if (cause instanceof SocketTimeoutException) {
                return true;
            }
        }
        return false;
    }

    private static Throwable rootCause(Throwable error) {
        Throwable cause = error;
        while (cause.getCause() != null && cause.getCause() != cause) {
            cause = cause.getCause();
        }
        return cause;
    }

    /** The answer's headers as the classifiers read them. */
    private static ResponseHeaders headersOf(HttpClientResponse response) {
        return ResponseHeaders.of(response.headers());
    }

    /** A duration as keypool's messages write it: {@code 2 s}, {@code 300 ms}. */
    public static String describe(Duration duration) {
        long millis = duration.toMillis();
        return millis % 1000 == 0 ? millis / 1000 + " s" : millis + " ms";
    }

    /** Closes the kept-alive connections. */
    @Override
    public void close() {
        client.closeResource();
    }
}
