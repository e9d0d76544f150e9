package dev.keypool.adapter;

import dev.keypool.config.Provider;
import dev.keypool.providers.Relay;
import dev.keypool.providers.relay.Head;
import dev.keypool.providers.relay.Header;
import dev.keypool.providers.relay.Inbound;
import dev.keypool.providers.relay.Sink;
import dev.keypool.failure.UpstreamException;
import dev.keypool.rotation.ApiKeyRotator;
import dev.keypool.usage.InMemoryAffinityStore;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.net.URI;
import java.time.Clock;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * A framework's HTTP exchange carried by keypool's {@link Relay}: the request the framework built
 * for a provider (its URL's path and query, its headers, its body) goes to a pooled key of that
 * provider, and the answer comes back as the framework's client would have read it from the
 * provider. The relay does everything else, as it does for the gateway: the key's choice, the
 * reservation of the request's tokens, failover to the next key on a rate limit, spent quota, an
 * invalid key or a server error, the usage read from the answer (plain or streamed) and committed
 * on the key that served, and the settlement when a stream ends, fails or is abandoned.
 *
 * <p>The framework's own credential (its {@code Authorization} or {@code x-goog-api-key} header)
 * never reaches the provider: the pooled key replaces it. The framework's host is ignored: the
 * request goes to the provider's configured base URL ({@code OPENAI_BASE_URL}, …).
 *
 * <p>Each exchange runs the relay on a virtual thread of its own, which writes the answer into a
 * bounded pipe that the framework's thread reads; {@link #exchange} returns as soon as the answer's
 * status and headers are known. When the pool refuses (spent, no key, a request no key can take),
 * the answer is keypool's refusal in the provider's shape, 429 with {@code Retry-After} when a key
 * frees up later, so that the framework raises its own rate-limit error ({@link PoolRefusal}).
 */
public final class RelayClient implements AutoCloseable {

    private final Relay relay;
    private final boolean ownsRelay;
    private final Provider protocol;
    private final String basePath;
    private final Clock clock;

    private RelayClient(Relay relay, boolean ownsRelay, Provider protocol, String basePath, Clock clock) {
        this.relay = relay;
        this.ownsRelay = ownsRelay;
        this.protocol = protocol;
        this.basePath = basePath;
        this.clock = clock;
    }

    /** A client on a relay of its own over {@code rotator}'s pool ({@link #close()} closes it). */
    public static RelayClient create(ApiKeyRotator rotator) {
        Objects.requireNonNull(rotator, "rotator");
        return new RelayClient(Relay.create(rotator, new InMemoryAffinityStore()), true, null, "",
                rotator.manager().clock());
    }

    /** A client on a relay the caller owns (and closes); {@code clock} is the pool's. */
    public static RelayClient on(Relay relay, Clock clock) {
        return new RelayClient(Objects.requireNonNull(relay, "relay"), false, null, "", Objects.requireNonNull(clock));
    }

    /**
     * The same client, for requests in {@code protocol}'s protocol; by default it is told by the
     * path ({@code /v1beta/…} Gemini, {@code /api/…} Ollama, {@code /search…} SerpApi, else OpenAI).
     */
    public RelayClient protocol(Provider protocol) {
        return new RelayClient(relay, ownsRelay, protocol, basePath, clock);
    }

    /**
     * The same client, with {@code prefix} taken off the front of each request's path: for a
     * framework whose base URL has a path before the provider's own ({@code http://proxy/openai/v1}
     * → {@code /openai}).
     */
    public RelayClient basePath(String prefix) {
        String trimmed = prefix == null ? "" : prefix.endsWith("/") ? prefix.substring(0, prefix.length() - 1) : prefix;
        return new RelayClient(relay, ownsRelay, protocol, trimmed, clock);
    }

    /** The relay under this client. */
    public Relay relay() {
        return relay;
    }

    /**
     * Carries one request and returns the answer as soon as its head is known.
     *
     * @param url the URL the framework would have called; only its path and query are used
     * @throws IOException when the relay failed for a reason that is no refusal (a bug), or the
     *                     calling thread was interrupted while waiting
     */
    public RelayedResponse exchange(String method, URI url, List<Header> headers, byte[] body) throws IOException {
        Inbound inbound = inbound(method, url, headers, body);
        Provider speaks = protocol != null ? protocol : protocolOf(inbound.path());
        CompletableFuture<RelayedResponse> answer = new CompletableFuture<>();
        PipeSink sink = new PipeSink(answer);
        Thread worker = Thread.ofVirtual().name("keypool-relay").start(() -> {
            try {
                relay.relay(speaks, inbound, sink);
            } catch (RuntimeException e) {
                if (!answer.isDone()) {
                    PoolRefusal refusal = PoolRefusal.of(speaks, e, clock.millis());
                    if (refusal == null) {
                        answer.completeExceptionally(e);
                    } else {
                        answer.complete(new RelayedResponse(refusal.status(), refusal.headers(),
                                new ByteArrayInputStream(refusal.body()), null, refusal));
                    }
                }
                sink.broken(e);
            } catch (Error e) {
                answer.completeExceptionally(e);
                sink.broken(e);
                throw e;
            }
        });
        try {
            return answer.get();
        } catch (InterruptedException e) {
            worker.interrupt();
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for the provider");
        } catch (ExecutionException e) {
            throw new IOException("keypool could not relay " + inbound + ": " + e.getCause().getMessage(), e.getCause());
        }
    }

    /** The relay's request for the framework's: its path (less {@link #basePath}), raw query, headers and body. */
    Inbound inbound(String method, URI url, List<Header> headers, byte[] body) {
        String path = url.getRawPath() == null || url.getRawPath().isEmpty() ? "/" : url.getRawPath();
        if (!basePath.isEmpty() && path.startsWith(basePath)) {
            path = path.substring(basePath.length());
            path = path.startsWith("/") ? path : "/" + path;
        }
        return new Inbound(method, path, url.getRawQuery(), headers, body);
    }

    /** The protocol a path belongs to, as the gateway tells it. */
    static Provider protocolOf(String path) {
        if (path.startsWith("/v1beta/") || (path.startsWith("/v1/") && path.indexOf(':') > 0)) {
            return Provider.GEMINI;
        }
        if (path.startsWith("/api/")) {
            return Provider.OLLAMA;
        }
        if (path.startsWith("/search")) {
            return Provider.SERP;
        }
        return Provider.OPENAI;
    }

    @Override
    public void close() {
        if (ownsRelay) {
            relay.close();
        }
    }

    /** Hands the answer's head to the waiting framework thread, and its body through a pipe. */
    private static final class PipeSink implements Sink {

        private final CompletableFuture<RelayedResponse> answer;
        private volatile ChunkPipe pipe;

        PipeSink(CompletableFuture<RelayedResponse> answer) {
            this.answer = answer;
        }

        @Override
        public OutputStream begin(Head head) {
            ChunkPipe opened = new ChunkPipe();
            pipe = opened;
            answer.complete(new RelayedResponse(head.status(), headers(head), opened.input(), head.served(), null));
            return opened.output();
        }

        @Override
        public void whole(Head head, byte[] body) {
            answer.complete(new RelayedResponse(head.status(), headers(head), new ByteArrayInputStream(body),
                    head.served(), null));
        }

        @Override
        public void refused(Head head, byte[] body, UpstreamException failure) {
            // the provider's own refusal (a client error): the framework reads it as it came
            whole(head, body);
        }

        void broken(Throwable cause) {
            ChunkPipe opened = pipe;
            if (opened != null) {
                opened.fail(cause);
            }
        }

        private static List<Header> headers(Head head) {
            if (head.contentLength() < 0 || Header.first(head.headers(), "Content-Length") != null) {
                return head.headers();
            }
            List<Header> headers = new java.util.ArrayList<>(head.headers());
            headers.add(new Header("Content-Length", Long.toString(head.contentLength())));
            return headers;
        }
    }
}
