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
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
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
import java.util.function.ToLongFunction;

/**
 * The scripting and recording every fake shares: a JDK {@link HttpServer} on 127.0.0.1 and a free
 * port, one virtual thread per request (so a slow or stalled reply holds up nothing else).
 *
 * <p>Every request is recorded with its raw body and its arrival time on the fake's {@link Clock}
 * (the system clock unless a test {@linkplain #setClock sets one}), and every answer byte for byte
 * ({@link RecordedResponse}), so that what a provider received and sent can be checked from the
 * fake's own log.
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
    private final List<Answered> log = new CopyOnWriteArrayList<>();
    private final Map<String, Deque<Reply>> queued = new ConcurrentHashMap<>();
    private final Map<String, Reply> standing = new ConcurrentHashMap<>();
    private volatile Reply fallback;
    private volatile Clock clock = Clock.systemUTC();

    /** A request and what the fake answered it with. */
    private record Answered(RecordedRequest request, RecordedResponse response) {
    }

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
        return log.stream().map(Answered::request).toList();
    }

    /** The requests to one path. */
    public List<RecordedRequest> requests(String path) {
        return log.stream().map(Answered::request).filter(request -> request.path().equals(path)).toList();
    }

    /** The key of each request, in order ({@code null} for none). */
    public List<String> keys() {
        List<String> keys = new ArrayList<>();
        log.forEach(answered -> keys.add(answered.request().key()));
        return keys;
    }

    /** What the fake sent for each request, in the order of {@link #requests()}. */
    public List<RecordedResponse> responses() {
        return log.stream().map(Answered::response).toList();
    }

    /** What the fake sent for {@code request} (one of {@link #requests()}), or {@code null} if it is not one. */
    public RecordedResponse responseTo(RecordedRequest request) {
        for (Answered answered : log) {
            if (answered.request() == request) {
                return answered.response();
            }
        }
        return null;
    }

    /** What the fake sent for the last request it received, or {@code null} before any. */
    public RecordedResponse lastResponse() {
        List<Answered> all = List.copyOf(log);
        return all.isEmpty() ? null : all.get(all.size() - 1).response();
    }

    /**
     * The most weight that arrived with {@code key} ({@code null}: keyless) within any span of
     * {@code window}, spans half-open ({@code [t, t + window)}), as stamped by the fake's clock: what a
     * per-minute limit is checked against from the provider's side ({@code weight} gives each
     * request's tokens, or {@code r -> 1} for requests).
     */
    public long maxInAnyWindow(String key, Duration window, ToLongFunction<RecordedRequest> weight) {
        List<RecordedRequest> arrivals = requests().stream().filter(request -> Objects.equals(request.key(), key))
                .sorted(Comparator.comparing(RecordedRequest::arrivedAt)).toList();
        long best = 0;
        long sum = 0;
        int start = 0;
        for (RecordedRequest arrival : arrivals) {
            sum += weight.applyAsLong(arrival);
            Instant earliest = arrival.arrivedAt().minus(window);
            while (!arrivals.get(start).arrivedAt().isAfter(earliest)) {
                sum -= weight.applyAsLong(arrivals.get(start));
                start++;
            }
            best = Math.max(best, sum);
        }
        return best;
    }

    /** Stamps arrivals and the answers' timestamps with {@code clock} from now on. */
    public void setClock(Clock clock) {
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** The clock arrivals and answers are stamped with. */
    public Clock clock() {
        return clock;
    }

    /** Forgets the requests received, every script and every object the provider stored. */
    public void reset() {
        log.clear();
        queued.clear();
        standing.clear();
        fallback = null;
        forget();
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

    /**
     * Headers the provider puts on every answer ({@code "name", "value", …}); each is added unless the
     * reply set a header of that name itself.
     */
    protected String[] defaultHeaders(RecordedRequest request) {
        return new String[0];
    }

    /** Forgets the objects the provider stored (responses, files, caches, archived searches). */
    protected void forget() {
    }

    private void handle(HttpExchange http) throws IOException {
        boolean dropped = false;
        try (InputStream in = http.getRequestBody()) {
            Instant arrived = clock.instant();
            byte[] bytes = in.readAllBytes();
            Map<String, List<String>> headers = new LinkedHashMap<>();
            http.getRequestHeaders().forEach((name, values) -> headers.put(name.toLowerCase(Locale.ROOT), List.copyOf(values)));
            RecordedRequest unkeyed = new RecordedRequest(http.getRequestMethod(), http.getRequestURI().getPath(),
                    http.getRequestURI().getRawQuery(), Map.copyOf(headers), new String(bytes, StandardCharsets.UTF_8),
                    null, http.getRemoteAddress().getPort(), bytes, arrived);
            RecordedRequest request = unkeyed.withKey(keyOf(http, unkeyed));
            RecordedResponse response = new RecordedResponse();
            log.add(new Answered(request, response));
            Reply reply = check(request);
            if (reply == null) {
                reply = next(request.key());
            }
            reply.send(new Exchange(http, request, closing, this, response));
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
