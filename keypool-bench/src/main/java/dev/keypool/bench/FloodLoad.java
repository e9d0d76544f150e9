package dev.keypool.bench;

import com.sun.net.httpserver.HttpServer;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The gateway under a bounded flood, measured from outside: how much memory an idle connection and
 * a request in flight cost it, how fast the excess is refused, and whether it survives. JDK only, so
 * {@code bench/run-flood-bench.sh} compiles and runs it without the Maven build.
 *
 * <p>It starts its own slow upstream (an OpenAI-shaped chat completion that waits on a gate), then
 * the gateway jar as a child process with the given JVM flags, pointed at that upstream, and runs
 * these phases in turn, each bounded in count and time:
 * <ol>
 *   <li>{@code idle}: {@code --idle} connections that send half a request head and then nothing (slowloris).
 *       Heap after a full collection and RSS are sampled while they are held.</li>
 *   <li>{@code inflight}: {@code --inflight} chat requests at once; the upstream holds every one it
 *       receives until the memory is sampled, then answers. Then, with the flood still held, probes:
 *       chat requests and health checks one at a time, whose latency is the shedding latency (or
 *       the health check's) at full capacity.</li>
 *   <li>{@code alive}: whether the process is still running and answers {@code /health} and a chat request.</li>
 * </ol>
 * Memory per connection or request is (heap used with them − heap used before) / their count, both
 * after a full collection ({@code jcmd GC.run}).
 *
 * <p>Output: {@code key=value} lines, prefixed by {@code --tag}.
 */
public final class FloodLoad {

    private static final Pattern LISTENING = Pattern.compile("listening on http://127\\.0\\.0\\.1:(\\d+)");
    /** Requests sent one by one while a flood is held. */
    private static final int PROBES = 200;
    private static final int PROBE_TIMEOUT_MILLIS = 5000;
    private static final Pattern HEAP_USED = Pattern.compile("total (?:reserved )?(\\d+)K, (?:committed \\d+K, )?used (\\d+)K");

    private FloodLoad() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> options = options(args);
        if (!options.containsKey("jar")) {
            System.err.println("""
                    usage: FloodLoad --jar=keypool-server.jar --java-opts='-Xmx96m ...' [--idle=N] [--inflight=N] \
                    [--env=NAME=VALUE,...] [--hold-seconds=S] [--tag=TEXT]""");
            System.exit(2);
        }
        String tag = options.getOrDefault("tag", "flood");
        int idle = Integer.parseInt(options.getOrDefault("idle", "2000"));
        int inflight = Integer.parseInt(options.getOrDefault("inflight", "1000"));
        long holdSeconds = Long.parseLong(options.getOrDefault("hold-seconds", "60"));
        List<String> lines = new ArrayList<>();
        try (SlowUpstream upstream = SlowUpstream.start(holdSeconds);
                Child gateway = Child.launch(options.get("jar"), options.getOrDefault("java-opts", ""),
                        upstream.baseUrl(), options.getOrDefault("env", ""))) {
            int port = gateway.port();
            // Warm the paths we measure, so their classes and JIT code are in the baseline.
            upstream.open();
            for (int i = 0; i < 50; i++) {
                Exchange.send(port, Exchange.chat(port), 10_000);
                Exchange.send(port, Exchange.get(port, "/health"), 10_000);
            }
            upstream.hold();
            Memory base = Memory.sample(gateway.pid());
            lines.add(tag + " phase=baseline heap_used_kib=" + base.heapUsedKib + " heap_total_kib=" + base.heapTotalKib
                    + " rss_kib=" + base.rssKib);

            IdleConnections held = null;
            if (idle > 0) {
                held = IdleConnections.open(port, gateway, idle, options.getOrDefault("idle-kind", "keepalive"));
                lines.add(tag + " " + held.report(gateway, base));
                if (!Boolean.parseBoolean(options.getOrDefault("keep-idle", "false"))) {
                    lines.add(tag + " " + held.close());
                    held = null;
                }
            }
            if (inflight > 0 && gateway.alive()) {
                lines.add(tag + " " + inflightPhase(port, gateway, upstream, inflight, base, holdSeconds));
            }
            if (held != null) {
                lines.add(tag + " " + held.close());
            }
            upstream.open();
            boolean alive = gateway.alive();
            int health = alive ? statusOf(port, Exchange.get(port, "/health")) : -1;
            int chat = alive ? statusOf(port, Exchange.chat(port)) : -1;
            // What the flood leaves behind: chiefly the upstream connections the client keeps idle.
            Memory after = gateway.alive() ? Memory.sample(gateway.pid()) : Memory.NONE;
            lines.add(tag + " phase=alive alive=" + alive + " health_status=" + health + " chat_status=" + chat
                    + " heap_used_kib=" + after.heapUsedKib + " rss_kib=" + after.rssKib
                    + " idle_upstream_connections=" + upstream.openConnections()
                    + (alive ? "" : " exit_code=" + gateway.exitCode() + " last_log=\"" + gateway.lastLines(3) + "\""));
        }
        lines.forEach(System.out::println);
    }

    /** The status of one exchange; -1 when the connection failed (the gateway may be dying). */
    private static int statusOf(int port, byte[] request) {
        try {
            return Exchange.send(port, request, 10_000).status;
        } catch (IOException e) {
            return -1;
        }
    }

    /**
     * Connections held open: {@code keepalive} ones that made one request and stay idle, or
     * {@code slowloris} ones that send part of a request head and then nothing.
     */
    static final class IdleConnections {

        private final List<SocketChannel> channels;
        private final Map<Integer, Integer> statuses;
        private final int asked;
        private final int failed;
        private final double openSeconds;
        private final String kind;

        private IdleConnections(List<SocketChannel> channels, Map<Integer, Integer> statuses, int asked, int failed,
                double openSeconds, String kind) {
            this.channels = channels;
            this.statuses = statuses;
            this.asked = asked;
            this.failed = failed;
            this.openSeconds = openSeconds;
            this.kind = kind;
        }

        static IdleConnections open(int port, Child gateway, int count, String kind) {
            boolean slowloris = kind.equals("slowloris");
            byte[] request = (slowloris ? "GET /health HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nX-Slow: "
                    : "GET /health/live HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
            List<SocketChannel> channels = new ArrayList<>();
            Map<Integer, Integer> statuses = new LinkedHashMap<>();
            int failed = 0;
            long start = System.nanoTime();
            for (int i = 0; i < count && gateway.alive(); i++) {
                try {
                    SocketChannel channel = SocketChannel.open();
                    channel.socket().connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 3000);
                    channel.socket().setSoTimeout(10_000);
                    channel.write(ByteBuffer.wrap(request));
                    if (!slowloris) {
                        int status = Exchange.readAnswer(channel.socket().getInputStream()).status;
                        statuses.merge(status, 1, Integer::sum);
                    }
                    channel.configureBlocking(false);
                    channels.add(channel);
                } catch (IOException | RuntimeException e) {
                    failed++;
                }
            }
            double openSeconds = (System.nanoTime() - start) / 1e9;
            return new IdleConnections(channels, statuses, count, failed, openSeconds, kind);
        }

        /** Samples the gateway's memory while the connections are held. */
        String report(Child gateway, Memory base) {
            // Give the gateway time to accept and read what was sent before sampling.
            sleep(2000);
            Memory held = gateway.alive() ? Memory.sample(gateway.pid()) : Memory.NONE;
            int[] state = state();
            long perConnection = channels.isEmpty() || held == Memory.NONE ? -1
                    : (held.heapUsedKib - base.heapUsedKib) * 1024 / channels.size();
            long rssPerConnection = channels.isEmpty() || held == Memory.NONE ? -1
                    : (held.rssKib - base.rssKib) * 1024 / channels.size();
            StringBuilder line = new StringBuilder("phase=idle kind=" + kind + " asked=" + asked + " opened="
                    + channels.size() + " failed=" + failed
                    + " open_seconds=" + String.format(Locale.ROOT, "%.2f", openSeconds));
            statuses.forEach((status, n) -> line.append(" status_").append(status).append('=').append(n));
            return line.append(" open_at_sample=").append(state[0]).append(" closed_at_sample=").append(state[1])
                    .append(" heap_used_kib=").append(held.heapUsedKib).append(" rss_kib=").append(held.rssKib)
                    .append(" heap_bytes_per_connection=").append(perConnection)
                    .append(" rss_bytes_per_connection=").append(rssPerConnection)
                    .append(" alive=").append(gateway.alive()).toString();
        }

        /** Says how many the server closed meanwhile, and closes the rest. */
        String close() {
            int[] state = state();
            for (SocketChannel channel : channels) {
                try {
                    channel.close();
                } catch (IOException e) {
                    // closing anyway
                }
            }
            return "phase=idle_end kind=" + kind + " still_open=" + state[0] + " closed_by_server=" + state[1];
        }

        /** {open, closed by the server}. */
        private int[] state() {
            ByteBuffer buffer = ByteBuffer.allocate(4096);
            int open = 0;
            int closed = 0;
            for (SocketChannel channel : channels) {
                buffer.clear();
                int read;
                try {
                    read = channel.read(buffer);
                } catch (IOException e) {
                    read = -1;
                }
                if (read < 0) {
                    closed++;
                } else {
                    open++;
                }
            }
            return new int[] {open, closed};
        }
    }

    /** Requests at once on the gated upstream; the refused ones come back while the rest are held. */
    private static String inflightPhase(int port, Child gateway, SlowUpstream upstream, int count, Memory base,
            long holdSeconds) throws InterruptedException {
        Map<Integer, List<Long>> latencies = new ConcurrentHashMap<>();
        AtomicInteger retryAfter503 = new AtomicInteger();
        AtomicInteger errors = new AtomicInteger();
        CountDownLatch done = new CountDownLatch(count);
        byte[] request = Exchange.chat(port);
        long start = System.nanoTime();
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < count; i++) {
                threads.submit(() -> {
                    try {
                        Exchange answer = Exchange.send(port, request, (holdSeconds + 30) * 1000);
                        latencies.computeIfAbsent(answer.status, s -> Collections.synchronizedList(new ArrayList<>()))
                                .add(answer.nanos);
                        if (answer.status == 503 && answer.retryAfter != null) {
                            retryAfter503.incrementAndGet();
                        }
                    } catch (IOException | RuntimeException e) {
                        errors.incrementAndGet();
                    } finally {
                        done.countDown();
                    }
                });
            }
            // Held at the upstream, or answered by the gateway: every request is one or the other.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(holdSeconds);
            while (System.nanoTime() < deadline && gateway.alive()
                    && upstream.held() + (count - done.getCount()) < count) {
                sleep(100);
            }
            double settleSeconds = (System.nanoTime() - start) / 1e9;
            int held = upstream.held();
            Memory sample = gateway.alive() ? Memory.sample(gateway.pid()) : Memory.NONE;
            int upstreamConnections = upstream.connections();
            String probes = gateway.alive() ? " " + probe(port, request, "probe_chat") + " "
                    + probe(port, Exchange.get(port, "/health"), "probe_health") : "";
            upstream.open();
            done.await(holdSeconds + 60, TimeUnit.SECONDS);
            long perRequest = held == 0 || sample == Memory.NONE ? -1
                    : (sample.heapUsedKib - base.heapUsedKib) * 1024 / held;
            long rssPerRequest = held == 0 || sample == Memory.NONE ? -1 : (sample.rssKib - base.rssKib) * 1024 / held;
            StringBuilder line = new StringBuilder("phase=inflight asked=" + count + " held_upstream=" + held
                    + " upstream_connections=" + upstreamConnections
                    + " settle_seconds=" + String.format(Locale.ROOT, "%.2f", settleSeconds)
                    + " heap_used_kib=" + sample.heapUsedKib + " rss_kib=" + sample.rssKib
                    + " heap_bytes_per_request=" + perRequest + " rss_bytes_per_request=" + rssPerRequest
                    + " transport_errors=" + errors.get() + " retry_after_on_503=" + retryAfter503.get() + probes);
            latencies.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(entry -> {
                List<Long> values = new ArrayList<>(entry.getValue());
                Collections.sort(values);
                line.append(" status_").append(entry.getKey()).append('=').append(values.size())
                        .append(" status_").append(entry.getKey()).append("_p50_ms=").append(millis(values, 0.50))
                        .append(" status_").append(entry.getKey()).append("_p99_ms=").append(millis(values, 0.99))
                        .append(" status_").append(entry.getKey()).append("_max_ms=").append(millis(values, 1.0));
            });
            line.append(" alive=").append(gateway.alive());
            return line.toString();
        }
    }

    /**
     * With the flood held: {@value #PROBES} requests one after the other, each on its own connection,
     * their statuses and latencies. A probe that gets no answer within {@value #PROBE_TIMEOUT_MILLIS}
     * ms (held with the rest) ends the probing.
     */
    private static String probe(int port, byte[] request, String name) {
        List<Long> latencies = new ArrayList<>();
        Map<Integer, Integer> statuses = new LinkedHashMap<>();
        int unanswered = 0;
        for (int i = 0; i < PROBES; i++) {
            try {
                Exchange answer = Exchange.send(port, request, PROBE_TIMEOUT_MILLIS);
                latencies.add(answer.nanos);
                statuses.merge(answer.status, 1, Integer::sum);
            } catch (IOException e) {
                unanswered++;
                break;
            }
        }
        Collections.sort(latencies);
        StringBuilder line = new StringBuilder(name + "_sent=" + (latencies.size() + unanswered) + " " + name
                + "_unanswered_within_" + PROBE_TIMEOUT_MILLIS + "ms=" + unanswered);
        statuses.forEach((status, n) -> line.append(' ').append(name).append("_status_").append(status).append('=').append(n));
        if (!latencies.isEmpty()) {
            line.append(' ').append(name).append("_p50_ms=").append(millis(latencies, 0.50))
                    .append(' ').append(name).append("_p99_ms=").append(millis(latencies, 0.99))
                    .append(' ').append(name).append("_max_ms=").append(millis(latencies, 1.0));
        }
        return line.toString();
    }

    private static String millis(List<Long> sorted, double quantile) {
        int index = (int) Math.min(sorted.size() - 1, Math.ceil(quantile * sorted.size()) - 1);
        return String.format(Locale.ROOT, "%.1f", sorted.get(Math.max(0, index)) / 1e6);
    }

    private static Map<String, String> options(String[] args) {
        Map<String, String> options = new LinkedHashMap<>();
        for (String arg : args) {
            int equals = arg.indexOf('=');
            if (!arg.startsWith("--") || equals < 0) {
                throw new IllegalArgumentException("expected --name=value, got " + arg);
            }
            options.put(arg.substring(2, equals), arg.substring(equals + 1));
        }
        return options;
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** One HTTP/1.1 exchange on its own connection ({@code Connection: close}). */
    record Exchange(int status, String retryAfter, long nanos) {

        static byte[] chat(int port) {
            String body = "{\"model\":\"gpt-4o-mini\",\"max_tokens\":16,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";
            return ("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:" + port
                    + "\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " + body.length()
                    + "\r\n\r\n" + body).getBytes(StandardCharsets.US_ASCII);
        }

        static byte[] get(int port, String path) {
            return ("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII);
        }

        static Exchange send(int port, byte[] request, long timeoutMillis) throws IOException {
            long start = System.nanoTime();
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 5000);
                socket.setSoTimeout((int) Math.min(Integer.MAX_VALUE, timeoutMillis));
                OutputStream out = socket.getOutputStream();
                out.write(request);
                out.flush();
                Exchange answer = readAnswer(socket.getInputStream());
                return new Exchange(answer.status, answer.retryAfter, System.nanoTime() - start);
            }
        }

        /** One answer's head and body (by its length: a gateway that ignores Connection: close never ends it). */
        static Exchange readAnswer(InputStream in) throws IOException {
            String head = head(in);
            int status = Integer.parseInt(head.substring(9, 12));
            String retryAfter = null;
            long length = -1;
            for (String line : head.split("\r\n")) {
                if (line.regionMatches(true, 0, "Retry-After:", 0, 12)) {
                    retryAfter = line.substring(12).trim();
                } else if (line.regionMatches(true, 0, "Content-Length:", 0, 15)) {
                    length = Long.parseLong(line.substring(15).trim());
                }
            }
            if (length >= 0) {
                in.readNBytes((int) length);
            } else {
                in.readAllBytes();
            }
            return new Exchange(status, retryAfter, 0);
        }

        private static String head(InputStream in) throws IOException {
            ByteArrayOutputStream head = new ByteArrayOutputStream();
            int matched = 0;
            while (matched < 4) {
                int b = in.read();
                if (b < 0) {
                    throw new IOException("connection closed before the response head ended: " + head);
                }
                head.write(b);
                matched = (b == '\r' && (matched == 0 || matched == 2)) || (b == '\n' && (matched == 1 || matched == 3))
                        ? matched + 1 : 0;
            }
            return head.toString(StandardCharsets.US_ASCII);
        }
    }

    /** Heap after a full collection, and resident memory, of a process. */
    record Memory(long heapUsedKib, long heapTotalKib, long rssKib) {

        static final Memory NONE = new Memory(-1, -1, -1);

        /** When set ({@code -Dflood.histogram=N}), each sample prints the top N classes of the heap to stderr. */
        private static final int HISTOGRAM = Integer.getInteger("flood.histogram", 0);

        static Memory sample(long pid) {
            jcmd(pid, "GC.run");
            if (HISTOGRAM > 0) {
                String[] rows = jcmd(pid, "GC.class_histogram").split("\n");
                System.err.println(String.join("\n", Arrays.copyOf(rows, Math.min(rows.length, HISTOGRAM + 3))));
            }
            Matcher heap = HEAP_USED.matcher(jcmd(pid, "GC.heap_info"));
            long used = -1;
            long total = -1;
            if (heap.find()) {
                total = Long.parseLong(heap.group(1));
                used = Long.parseLong(heap.group(2));
            }
            long rss = -1;
            try {
                for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                    if (line.startsWith("VmRSS:")) {
                        rss = Long.parseLong(line.replaceAll("[^0-9]", ""));
                    }
                }
            } catch (IOException e) {
                // the process is gone
            }
            return new Memory(used, total, rss);
        }

        private static String jcmd(long pid, String command) {
            try {
                Process jcmd = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                        Long.toString(pid), command).redirectErrorStream(true).start();
                String out = new String(jcmd.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                jcmd.waitFor(30, TimeUnit.SECONDS);
                return out;
            } catch (IOException e) {
                return "";
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return "";
            }
        }
    }

    /**
     * An OpenAI-shaped upstream that holds every chat request until {@link #open()} (or the hold
     * limit), counting the requests it holds and the connections they came on.
     */
    static final class SlowUpstream implements AutoCloseable {

        private static final byte[] ANSWER = ("{\"id\":\"chatcmpl-flood\",\"object\":\"chat.completion\",\"created\":0,"
                + "\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"ok\"},"
                + "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1,\"total_tokens\":6}}")
                .getBytes(StandardCharsets.UTF_8);

        private final HttpServer server;
        private final long holdSeconds;
        private final AtomicInteger held = new AtomicInteger();
        private final Map<Integer, Boolean> clientPorts = new ConcurrentHashMap<>();
        private volatile CountDownLatch gate = new CountDownLatch(1);

        private SlowUpstream(HttpServer server, long holdSeconds) {
            this.server = server;
            this.holdSeconds = holdSeconds;
        }

        static SlowUpstream start(long holdSeconds) throws IOException {
            System.setProperty("sun.net.httpserver.nodelay", "true");
            HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 4096);
            server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
            SlowUpstream upstream = new SlowUpstream(server, holdSeconds);
            server.createContext("/", exchange -> {
                try (exchange) {
                    exchange.getRequestBody().readAllBytes();
                    upstream.clientPorts.put(exchange.getRemoteAddress().getPort(), Boolean.TRUE);
                    upstream.held.incrementAndGet();
                    try {
                        upstream.gate.await(upstream.holdSeconds, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    } finally {
                        upstream.held.decrementAndGet();
                    }
                    exchange.getResponseHeaders().set("Content-Type", "application/json");
                    exchange.sendResponseHeaders(200, ANSWER.length);
                    exchange.getResponseBody().write(ANSWER);
                }
            });
            server.start();
            return upstream;
        }

        String baseUrl() {
            return "http://127.0.0.1:" + server.getAddress().getPort() + "/v1";
        }

        int held() {
            return held.get();
        }

        int connections() {
            return clientPorts.size();
        }

        /** Connections open to this upstream now, from the kernel's tables (Java's sockets are often IPv6 ones). */
        int openConnections() {
            String port = String.format(Locale.ROOT, ":%04X", server.getAddress().getPort());
            int open = 0;
            for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
                try {
                    // Local address first: the upstream's end of each established (01) connection.
                    open += (int) Files.readAllLines(Path.of(table)).stream()
                            .map(line -> line.trim().split("\\s+"))
                            .filter(fields -> fields.length > 3 && fields[1].endsWith(port) && fields[3].equals("01"))
                            .count();
                } catch (IOException e) {
                    return -1;
                }
            }
            return open;
        }

        /** Answers everything held and everything to come, until {@link #hold()}. */
        void open() {
            gate.countDown();
        }

        /** Holds the requests to come. */
        void hold() {
            gate = new CountDownLatch(1);
        }

        @Override
        public void close() {
            open();
            server.stop(0);
        }
    }

    /** The gateway jar in a child JVM, with its port read from its log. */
    static final class Child implements AutoCloseable {

        private final Process process;
        private final List<String> output = Collections.synchronizedList(new ArrayList<>());
        private final CountDownLatch listening = new CountDownLatch(1);
        private volatile int port = -1;

        private Child(Process process) {
            this.process = process;
            Thread reader = new Thread(() -> {
                try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = in.readLine()) != null) {
                        if (output.size() < 10_000) {
                            output.add(line);
                        }
                        Matcher matcher = LISTENING.matcher(line);
                        if (matcher.find()) {
                            port = Integer.parseInt(matcher.group(1));
                            listening.countDown();
                        }
                    }
                } catch (IOException e) {
                    // the process is gone
                }
            }, "gateway-output");
            reader.setDaemon(true);
            reader.start();
        }

        static Child launch(String jar, String javaOpts, String upstream, String env) throws IOException {
            List<String> command = new ArrayList<>();
            command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            command.addAll(Arrays.stream(javaOpts.trim().split("\\s+")).filter(s -> !s.isEmpty()).toList());
            command.addAll(List.of("-jar", jar, "--port", "0"));
            Path work = Files.createTempDirectory("keypool-flood");
            ProcessBuilder builder = new ProcessBuilder(command).directory(work.toFile()).redirectErrorStream(true);
            builder.environment().keySet().removeIf(name -> name.startsWith("KEYPOOL_") || name.endsWith("_API_KEYS"));
            builder.environment().put("OPENAI_API_KEYS", "sk-proj-TEST.flood-key1");
            builder.environment().put("OPENAI_BASE_URL", upstream);
            builder.environment().put("OLLAMA_HOST", "http://127.0.0.1:9");
            builder.environment().put("KEYPOOL_DATA_DIR", work.resolve("data").toString());
            for (String pair : env.split(",")) {
                int equals = pair.indexOf('=');
                if (equals > 0) {
                    builder.environment().put(pair.substring(0, equals).trim(), pair.substring(equals + 1).trim());
                }
            }
            return new Child(builder.start());
        }

        int port() throws InterruptedException {
            if (!listening.await(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException("the gateway did not start:\n" + lastLines(40));
            }
            return port;
        }

        long pid() {
            return process.pid();
        }

        boolean alive() {
            return process.isAlive();
        }

        int exitCode() {
            return process.isAlive() ? -1 : process.exitValue();
        }

        String lastLines(int count) {
            synchronized (output) {
                return String.join(" | ", output.subList(Math.max(0, output.size() - count), output.size()))
                        .replace('"', '\'');
            }
        }

        @Override
        public void close() {
            process.destroy();
            try {
                if (!process.waitFor(30, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }
}
