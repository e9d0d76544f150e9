package dev.keypool.providers.internal;

import dev.keypool.config.KeyMask;
import dev.keypool.failure.Failure;
import dev.keypool.failure.FailureKind;
import dev.keypool.failure.UpstreamException;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.channels.UnresolvedAddressException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Sends requests to providers over the JDK {@link HttpClient} with keypool's timeouts, and turns
 * transport trouble into classified failures.
 *
 * <h2>Timeouts</h2>
 * A buffered call ({@link #send}) is bounded as a whole by the upstream timeout: headers and body.
 * {@link HttpRequest#timeout} alone would stop at the headers, and a provider that trickles a body
 * would hold the caller, its reservation and a connection for ever. A stream ({@link #open}) waits
 * for its headers up to the same timeout, then each read up to the idle timeout: a watchdog closes
 * a stream that has been silent that long, which wakes the blocked reader.
 *
 * <h2>Failures</h2>
 * A refused connection, unknown host or connect timeout is {@link FailureKind#UNREACHABLE}; a
 * response timeout or a connection dropped mid-answer is {@link FailureKind#SERVER_ERROR}. An
 * interrupted caller is not the provider's fault: it gets a {@link CancellationException}, with its
 * interrupt status kept, and no key is blamed.
 */
public final class Upstream implements AutoCloseable {

    private static final int MAX_ERROR_BODY_BYTES = 64 * 1024;

    private final HttpClient http;
    private final Duration timeout;
    private final Duration idleTimeout;
    private volatile ScheduledThreadPoolExecutor watchdog;

    public Upstream(HttpClient http, Duration timeout, Duration idleTimeout) {
        this.http = http;
        this.timeout = timeout;
        this.idleTimeout = idleTimeout;
    }

    public Duration timeout() {
        return timeout;
    }

    /** A buffered answer. */
    public record Response(int status, HttpHeaders headers, String body) {
    }

    /**
     * Sends a request and reads the whole answer within {@code limit}.
     *
     * @param secret the key the request carries, scrubbed from every message; may be {@code null}
     * @throws UpstreamException    when there was no complete answer
     * @throws CancellationException when the calling thread was interrupted
     */
    public Response send(HttpRequest.Builder request, String secret, Duration limit) {
        CompletableFuture<HttpResponse<String>> future =
                http.sendAsync(request.timeout(limit).build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        try {
            HttpResponse<String> response = future.get(limit.toMillis(), TimeUnit.MILLISECONDS);
            return new Response(response.statusCode(), response.headers(), response.body());
        } catch (InterruptedException e) {
            future.cancel(true);
            Thread.currentThread().interrupt();
            throw new CancellationException("interrupted while waiting for the provider");
        } catch (TimeoutException e) {
            future.cancel(true);
            throw transportFailure(new HttpTimeoutException("no complete answer within " + describe(limit)), secret);
        } catch (ExecutionException e) {
            throw transportFailure(e.getCause() == null ? e : e.getCause(), secret);
        }
    }

    /** {@link #send(HttpRequest.Builder, String, Duration)} within the upstream timeout. */
    public Response send(HttpRequest.Builder request, String secret) {
        return send(request, secret, timeout);
    }

    /**
     * Opens a streamed answer. The caller must close it; closing before the end cancels the
     * upstream request.
     */
    public StreamingResponse open(HttpRequest.Builder request, String secret) {
        HttpResponse<InputStream> response;
        try {
            response = http.send(request.timeout(timeout).build(), HttpResponse.BodyHandlers.ofInputStream());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CancellationException("interrupted while waiting for the provider");
        } catch (IOException e) {
            throw transportFailure(e, secret);
        }
        return new StreamingResponse(response, secret, this);
    }

    /** The answer of a stream: its status and headers now, its body line by line. */
    public static final class StreamingResponse implements AutoCloseable {

        private final HttpResponse<InputStream> response;
        private final String secret;
        private final Upstream upstream;
        private LineSource lines;

        private StreamingResponse(HttpResponse<InputStream> response, String secret, Upstream upstream) {
            this.response = response;
            this.secret = secret;
            this.upstream = upstream;
        }

        public int status() {
            return response.statusCode();
        }

        public HttpHeaders headers() {
            return response.headers();
        }

        /** The body of an error answer, read whole (up to 64 KiB). */
        public String errorBody() {
            try (InputStream in = response.body()) {
                return new String(in.readNBytes(MAX_ERROR_BODY_BYTES), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw upstream.failureWhileReading(e, secret, false);
            }
        }

        /** The body line by line, guarded by the idle timeout. */
        public LineSource lines() {
            if (lines == null) {
                lines = new LineSource(response.body(), upstream, secret);
            }
            return lines;
        }

        @Override
        public void close() {
            if (lines != null) {
                lines.close();
            } else {
                try {
                    response.body().close();
                } catch (IOException ignored) {
                    // closing is how we cancel; a failure to close has nothing left to tell
                }
            }
        }
    }

    Duration idleTimeout() {
        return idleTimeout;
    }

    ScheduledExecutorService watchdog() {
        ScheduledThreadPoolExecutor executor = watchdog;
        if (executor == null) {
            synchronized (this) {
                executor = watchdog;
                if (executor == null) {
                    executor = new ScheduledThreadPoolExecutor(1, runnable -> {
                        Thread thread = new Thread(runnable, "keypool-stream-watchdog");
                        thread.setDaemon(true);
                        return thread;
                    });
                    executor.setRemoveOnCancelPolicy(true);
                    watchdog = executor;
                }
            }
        }
        return executor;
    }

    /** Maps an I/O failure while reading a body; {@code idle} when our watchdog closed it. */
    RuntimeException failureWhileReading(IOException error, String secret, boolean idle) {
        if (Thread.currentThread().isInterrupted()) {
            return new CancellationException("interrupted while reading from the provider");
        }
        if (idle) {
            return transportFailure(new HttpTimeoutException("the stream was silent for " + describe(idleTimeout)),
                    secret);
        }
        return transportFailure(error, secret);
    }

    /** Classifies a transport failure; the message never holds {@code secret}. */
    public static UpstreamException transportFailure(Throwable error, String secret) {
        FailureKind kind;
        String what;
        if (error instanceof HttpConnectTimeoutException) {
            kind = FailureKind.UNREACHABLE;
            what = "connect timed out";
        } else if (error instanceof HttpTimeoutException) {
            kind = FailureKind.SERVER_ERROR;
            what = "timed out: " + error.getMessage();
        } else if (unreachable(error)) {
            kind = FailureKind.UNREACHABLE;
            what = "unreachable (" + error.getClass().getSimpleName()
                    + (error.getMessage() == null ? "" : ": " + error.getMessage()) + ")";
        } else {
            kind = FailureKind.SERVER_ERROR;
            what = "connection failed (" + error.getClass().getSimpleName()
                    + (error.getMessage() == null ? "" : ": " + error.getMessage()) + ")";
        }
        return new UpstreamException(Failure.of(kind, KeyMask.scrub(what, secret)), 0, error);
    }

    private static boolean unreachable(Throwable error) {
        for (Throwable cause = error; cause != null; cause = cause.getCause()) {
            if (cause instanceof ConnectException || cause instanceof UnresolvedAddressException
                    || cause instanceof UnknownHostException || cause instanceof NoRouteToHostException) {
                return true;
            }
        }
        return false;
    }

    static String describe(Duration duration) {
        long millis = duration.toMillis();
        return millis % 1000 == 0 ? millis / 1000 + " s" : millis + " ms";
    }

    @Override
    public void close() {
        ScheduledThreadPoolExecutor executor = watchdog;
        if (executor != null) {
            executor.shutdownNow();
        }
    }
}
