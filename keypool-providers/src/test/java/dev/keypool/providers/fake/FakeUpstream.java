package dev.keypool.providers.fake;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.keypool.config.Provider;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The scripting and recording every fake shares: a JDK {@link HttpServer} on 127.0.0.1 and a free
 * port, one virtual thread per request (so a slow or stalled reply holds up nothing else).
 */
public abstract class FakeUpstream implements AutoCloseable {

    private static final String ANY_KEY = "\u0000any";

    static {
        // The JDK server leaves Nagle's algorithm on: each streamed chunk after the first then waits
        // for the client's delayed ACK, some 40 ms, which no real provider does. Read once per JVM.
        if (System.getProperty("sun.net.httpserver.nodelay") == null) {
            System.setProperty("sun.net.httpserver.nodelay", "true");
        }
    }

    private final HttpServer server;
    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
    private final CountDownLatch closing = new CountDownLatch(1);
    private final List<RecordedRequest> requests = new CopyOnWriteArrayList<>();
    private final Map<String, Deque<Reply>> queued = new ConcurrentHashMap<>();
    private final Map<String, Reply> standing = new ConcurrentHashMap<>();
    private volatile Reply fallback;
    private volatile Clock clock = Clock.systemUTC();

    protected FakeUpstream() {
        try {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 0);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start a fake " + getClass().getSimpleName(), e);
        }
        server.setExecutor(executor);
    }

    /** Starts answering; the factories call it once the fake is fully built. */
    protected final void listen() {
        server.createContext("/", this::handle);
        server.start();
    }

    /** Which provider this fake stands in for. */
    public abstract Provider provider();

    /** What to configure as the provider's base URL ({@code OPENAI_BASE_URL}, …, {@code OLLAMA_HOST}). */
    public String baseUrl() {
        return root();
    }

    /** {@code http://127.0.0.1:PORT}, without any API prefix. */
    public String root() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    /**
     * {@code http://127.0.0.1:PORT} with nothing listening on the port: connections are refused, as
     * to a provider that is not running (an Ollama that was never started).
     */
    public static String unreachableUrl() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return "http://127.0.0.1:" + socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot find a free port", e);
        }
    }

    /**
     * Records arrivals on {@code clock} (the system clock unless told): a test that drives the
     * pool's clock by hand gives the fake the same one, so that arrivals and the pool's windows
     * are on one time line.
     */
    public void useClock(Clock clock) {
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** Queues replies for the next requests that carry {@code key} ({@code null}: any key). */
    public void enqueue(String key, Reply... replies) {
        Deque<Reply> queue = queued.computeIfAbsent(key == null ? ANY_KEY : key, k -> new ConcurrentLinkedDeque<>());
        for (Reply reply : replies) {
            queue.addLast(Objects.requireNonNull(reply, "reply"));
        }
    }

    /** Queues replies for the next requests, whatever key they carry. */
    public void enqueue(Reply... replies) {
        enqueue(null, replies);
    }

    /** Answers every request that carries {@code key} with {@code reply}, once its queue is empty. */
    public void reply(String key, Reply reply) {
        standing.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(reply, "reply"));
    }

    /** Answers every request nothing else answers with {@code reply}, instead of the default success. */
    public void replyByDefault(Reply reply) {
        fallback = Objects.requireNonNull(reply, "reply");
    }

    /** Every request received, in order (the fake's own probes such as Ollama's tags included). */
    public List<RecordedRequest> requests() {
        return List.copyOf(requests);
    }

    /** The requests to one path. */
    public List<RecordedRequest> requests(String path) {
        return requests.stream().filter(request -> request.path().equals(path)).toList();
    }

    /** The key of each request, in order ({@code null} for none). */
    public List<String> keys() {
        List<String> keys = new ArrayList<>();
        requests.forEach(request -> keys.add(request.key()));
        return keys;
    }

    /** Forgets the requests received and every script. */
    public void reset() {
        requests.clear();
        queued.clear();
        standing.clear();
        fallback = null;
    }

    @Override
    public void close() {
        closing.countDown();
        server.stop(0);
        executor.shutdownNow();
    }

    /** The key a request carries where this provider expects it, or {@code null}. */
    protected abstract String keyOf(HttpExchange exchange, RecordedRequest withoutKey);

    /**
     * The answer the real provider gives before any script could matter (no key, an unknown path),
     * or {@code null} to let the scripts answer.
     */
    protected abstract Reply check(RecordedRequest request);

    /** The success the fake gives when nothing is scripted. */
    protected abstract Reply success();

    private void handle(HttpExchange http) throws IOException {
        boolean dropped = false;
        long arrived = clock.millis();
        try (InputStream in = http.getRequestBody()) {
            String body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            Map<String, List<String>> headers = new LinkedHashMap<>();
            http.getRequestHeaders().forEach((name, values) -> headers.put(name.toLowerCase(Locale.ROOT), List.copyOf(values)));
            RecordedRequest unkeyed = new RecordedRequest(http.getRequestMethod(), http.getRequestURI().getPath(),
                    http.getRequestURI().getRawQuery(), Map.copyOf(headers), body, null,
                    http.getRemoteAddress().getPort(), arrived);
            String key = keyOf(http, unkeyed);
            RecordedRequest request = new RecordedRequest(unkeyed.method(), unkeyed.path(), unkeyed.query(),
                    unkeyed.headers(), body, key, unkeyed.clientPort(), arrived);
            requests.add(request);
            Reply reply = check(request);
            if (reply == null) {
                reply = next(key);
            }
            reply.send(new Exchange(http, request, closing));
        } catch (Exchange.DroppedConnection e) {
            // Escaping the handler unclosed makes the JDK server cut the socket: no proper end.
            dropped = true;
            throw e;
        } catch (IOException e) {
            // The client went away while we answered: as on the real service, nothing more to do.
        } finally {
            if (!dropped) {
                http.close();
            }
        }
    }

    private Reply next(String key) {
        if (key != null) {
            Reply reply = poll(key);
            if (reply != null) {
                return reply;
            }
        }
        Reply reply = poll(ANY_KEY);
        if (reply != null) {
            return reply;
        }
        if (key != null && standing.containsKey(key)) {
            return standing.get(key);
        }
        Reply chosen = fallback;
        return chosen != null ? chosen : success();
    }

    private Reply poll(String key) {
        Deque<Reply> queue = queued.get(key);
        return queue == null ? null : queue.pollFirst();
    }
}
