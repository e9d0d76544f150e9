package dev.keypool.bench;

import java.io.BufferedInputStream;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * The two measurements of the gateway benchmark that wrk cannot make: an open-loop fixed rate, and
 * the time to the first streamed token. JDK only, so {@code bench/run-gateway-bench.sh} compiles and
 * runs it without the Maven build.
 *
 * <h2>{@code rate}: open loop at a fixed rate (what wrk2 does; wrk2 is not packaged in Debian)</h2>
 * Request {@code i} is due at {@code start + i / rate}, whether or not earlier ones have been
 * answered. One thread per keep-alive connection takes the next due request when it is free,
 * waits for its due time and sends it. Latency is counted from the due time when the request was
 * already overdue when a connection took it (every connection was busy: the server is behind, and
 * the wait is part of what a caller would see, so coordinated omission is corrected), and from
 * the actual send otherwise (so the timer's own wake-up lateness, tens of microseconds, is not
 * blamed on the server). The first {@code --warmup} seconds are sent at the same rate and not
 * counted. At most {@code --connections} requests are in flight.
 *
 * <h2>{@code ttft}: time to first token, one request at a time</h2>
 * For a streamed ({@code text/event-stream}) answer: the time from sending the request to the first
 * byte of the response (TTFB), and to the first appearance of {@code --marker} (the first token's
 * text) in the body, as a client rendering the stream would see it.
 *
 * <p>Output: one line of {@code key=value} fields, latencies in microseconds, prefixed by
 * {@code --tag}. Non-2xx answers and transport errors are counted and left out of the latencies.
 */
public final class GatewayLoad {

    private GatewayLoad() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 0 || !(args[0].equals("rate") || args[0].equals("ttft"))) {
            System.err.println("""
                    usage: GatewayLoad rate --url=URL --body=FILE --rate=PER_SECOND --connections=N --seconds=S \
                    [--warmup=S] [--header='Name: value']... [--tag=TEXT]
                           GatewayLoad ttft --url=URL --body=FILE --count=N [--warmup=N] --marker=TEXT \
                    [--header='Name: value']... [--tag=TEXT]""");
            System.exit(2);
        }
        Options options = Options.parse(Arrays.copyOfRange(args, 1, args.length));
        String line = args[0].equals("rate") ? rate(options) : ttft(options);
        System.out.println(line);
    }

    /** Runs the open-loop load and returns its summary line. */
    static String rate(Options options) throws InterruptedException {
        double perSecond = Double.parseDouble(options.require("rate"));
        int connections = Integer.parseInt(options.require("connections"));
        double seconds = Double.parseDouble(options.require("seconds"));
        double warmup = Double.parseDouble(options.get("warmup", "1"));
        Target target = Target.of(options);

        long period = Math.max(1, Math.round(1e9 / perSecond));
        long start = System.nanoTime() + 200_000_000L;
        long measureFrom = start + (long) (warmup * 1e9);
        long stopAt = measureFrom + (long) (seconds * 1e9);
        AtomicLong next = new AtomicLong();
        Worker[] workers = new Worker[connections];
        Thread[] threads = new Thread[connections];
        for (int i = 0; i < connections; i++) {
            Worker worker = new Worker(target, next, start, period, measureFrom, stopAt);
            workers[i] = worker;
            threads[i] = Thread.ofPlatform().name("load-" + i).daemon().start(worker);
        }
        for (Thread thread : threads) {
            thread.join();
        }
        Samples latency = new Samples();
        Samples service = new Samples();
        long non2xx = 0;
        long errors = 0;
        long overdue = 0;
        for (Worker worker : workers) {
            latency.addAll(worker.latency);
            service.addAll(worker.service);
            non2xx += worker.non2xx;
            errors += worker.errors;
            overdue += worker.overdue;
        }
        Map<String, String> fields = new LinkedHashMap<>();
        fields.put("requests", Long.toString(latency.size()));
        fields.put("seconds", format(seconds));
        fields.put("target_rps", format(perSecond));
        fields.put("rps", format(latency.size() / seconds));
        latency.describe(fields, "");
        service.describe(fields, "service_");
        fields.put("overdue_pct", format(latency.size() == 0 ? 0 : 100.0 * overdue / latency.size()));
        fields.put("non2xx", Long.toString(non2xx));
        fields.put("errors", Long.toString(errors));
        return line(options.get("tag", ""), fields);
    }

    /** Sends streamed requests one after the other and returns the TTFB and TTFT summary line. */
    static String ttft(Options options) {
        int count = Integer.parseInt(options.require("count"));
        int warmup = Integer.parseInt(options.get("warmup", "0"));
        byte[] marker = options.require("marker").getBytes(StandardCharsets.UTF_8);
        Target target = Target.of(options);
        Samples firstByte = new Samples();
        Samples firstToken = new Samples();
        Samples complete = new Samples();
        long non2xx = 0;
        long errors = 0;
        long markerMissing = 0;
        try (Connection connection = new Connection(target)) {
            for (int i = 0; i < warmup + count; i++) {
                Exchange exchange = new Exchange(marker);
                try {
                    connection.exchange(exchange);
                } catch (IOException e) {
                    errors++;
                    connection.disconnect();
                    continue;
                }
                if (i < warmup) {
                    continue;
                }
                if (exchange.status / 100 != 2) {
                    non2xx++;
                } else if (exchange.markerAt == 0) {
                    markerMissing++;
                } else {
                    firstByte.add(exchange.firstByteAt - exchange.sentAt);
                    firstToken.add(exchange.markerAt - exchange.sentAt);
                    complete.add(exchange.doneAt - exchange.sentAt);
                }
            }
        }
        Map<String, String> fields = new LinkedHashMap<>();
        fields.put("requests", Long.toString(firstToken.size()));
        firstByte.describe(fields, "ttfb_");
        firstToken.describe(fields, "ttft_");
        complete.describe(fields, "total_");
        fields.put("marker_missing", Long.toString(markerMissing));
        fields.put("non2xx", Long.toString(non2xx));
        fields.put("errors", Long.toString(errors));
        return line(options.get("tag", ""), fields);
    }

    private static String line(String tag, Map<String, String> fields) {
        StringBuilder out = new StringBuilder(tag);
        fields.forEach((key, value) -> out.append(out.isEmpty() ? "" : " ").append(key).append('=').append(value));
        return out.toString();
    }

    static String format(double value) {
        return String.format(Locale.ROOT, "%.1f", value);
    }

    /** One connection's share of the open-loop schedule. */
    private static final class Worker implements Runnable {

        private final Target target;
        private final AtomicLong next;
        private final long start;
        private final long period;
        private final long measureFrom;
        private final long stopAt;
        final Samples latency = new Samples();
        final Samples service = new Samples();
        long non2xx;
        long errors;
        long overdue;

        Worker(Target target, AtomicLong next, long start, long period, long measureFrom, long stopAt) {
            this.target = target;
            this.next = next;
            this.start = start;
            this.period = period;
            this.measureFrom = measureFrom;
            this.stopAt = stopAt;
        }

        @Override
        public void run() {
            try (Connection connection = new Connection(target)) {
                Exchange exchange = new Exchange(null);
                while (true) {
                    long due = start + next.getAndIncrement() * period;
                    if (due >= stopAt) {
                        return;
                    }
                    boolean late = System.nanoTime() > due;
                    if (!late) {
                        long wait;
                        while ((wait = due - System.nanoTime()) > 0) {
                            LockSupport.parkNanos(wait);
                        }
                    }
                    exchange.reset();
                    try {
                        connection.exchange(exchange);
                    } catch (IOException e) {
                        connection.disconnect();
                        if (due >= measureFrom) {
                            errors++;
                        }
                        continue;
                    }
                    if (due < measureFrom) {
                        continue;
                    }
                    if (exchange.status / 100 != 2) {
                        non2xx++;
                        continue;
                    }
                    if (late) {
                        overdue++;
                    }
                    latency.add(exchange.doneAt - (late ? due : exchange.sentAt));
                    service.add(exchange.doneAt - exchange.sentAt);
                }
            }
        }
    }

    /** Where to send, and the request bytes, built once. */
    record Target(InetSocketAddress address, byte[] request) {

        static Target of(Options options) {
            URI uri = URI.create(options.require("url"));
            byte[] body;
            try {
                body = Files.readAllBytes(Path.of(options.require("body")));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            String host = uri.getHost();
            int port = uri.getPort() > 0 ? uri.getPort() : 80;
            if (!host.equals("127.0.0.1") && !host.equals("localhost") && !host.equals("::1")) {
                throw new IllegalArgumentException("loopback targets only, not " + host);
            }
            StringBuilder head = new StringBuilder()
                    .append("POST ").append(uri.getRawPath()).append(" HTTP/1.1\r\n")
                    .append("Host: ").append(host).append(':').append(port).append("\r\n")
                    .append("Content-Type: application/json\r\n")
                    .append("Content-Length: ").append(body.length).append("\r\n");
            for (String header : options.all("header")) {
                head.append(header.strip()).append("\r\n");
            }
            head.append("\r\n");
            byte[] headBytes = head.toString().getBytes(StandardCharsets.ISO_8859_1);
            byte[] request = Arrays.copyOf(headBytes, headBytes.length + body.length);
            System.arraycopy(body, 0, request, headBytes.length, body.length);
            return new Target(new InetSocketAddress(host, port), request);
        }
    }

    /** What one request and its response took, in {@link System#nanoTime()} instants. */
    private static final class Exchange {

        private final byte[] marker;
        private int matched;
        int status;
        long sentAt;
        long firstByteAt;
        long markerAt;
        long doneAt;

        Exchange(byte[] marker) {
            this.marker = marker;
        }

        void reset() {
            matched = 0;
            status = 0;
            sentAt = firstByteAt = markerAt = doneAt = 0;
        }

        /**
         * Looks for the marker in a piece of the body, carrying a partial match across pieces. The
         * markers used (a token's text) do not overlap themselves, so the simple restart is exact.
         */
        void body(byte[] buffer, int offset, int length) {
            if (marker == null || markerAt != 0) {
                return;
            }
            for (int i = offset; i < offset + length; i++) {
                if (buffer[i] == marker[matched]) {
                    if (++matched == marker.length) {
                        markerAt = System.nanoTime();
                        return;
                    }
                } else {
                    matched = buffer[i] == marker[0] ? 1 : 0;
                }
            }
        }
    }

    /** A minimal HTTP/1.1 keep-alive client connection: Content-Length, chunked, or read to close. */
    private static final class Connection implements Closeable {

        private final Target target;
        private final byte[] scratch = new byte[16 * 1024];
        private final StringBuilder line = new StringBuilder();
        private Socket socket;
        private InputStream in;
        private OutputStream out;

        Connection(Target target) {
            this.target = target;
        }

        void exchange(Exchange exchange) throws IOException {
            if (socket == null) {
                socket = new Socket();
                socket.setTcpNoDelay(true);
                socket.connect(target.address(), 5_000);
                socket.setSoTimeout(60_000);
                in = new BufferedInputStream(socket.getInputStream(), 64 * 1024);
                out = socket.getOutputStream();
            }
            exchange.sentAt = System.nanoTime();
            out.write(target.request());
            out.flush();
            int first = in.read();
            if (first < 0) {
                throw new EOFException("connection closed before the response");
            }
            exchange.firstByteAt = System.nanoTime();
            String statusLine = (char) first + readLine();
            exchange.status = Integer.parseInt(statusLine.substring(9, 12));
            long contentLength = -1;
            boolean chunked = false;
            boolean close = false;
            for (String header = readLine(); !header.isEmpty(); header = readLine()) {
                int colon = header.indexOf(':');
                if (colon < 0) {
                    continue;
                }
                String name = header.substring(0, colon).trim().toLowerCase(Locale.ROOT);
                String value = header.substring(colon + 1).trim().toLowerCase(Locale.ROOT);
                switch (name) {
                    case "content-length" -> contentLength = Long.parseLong(value);
                    case "transfer-encoding" -> chunked = value.contains("chunked");
                    case "connection" -> close = value.contains("close");
                    default -> {
                    }
                }
            }
            if (chunked) {
                for (long size = chunkSize(); size > 0; size = chunkSize()) {
                    readBody(exchange, size);
                    readLine();
                }
                while (!readLine().isEmpty()) {
                    // trailers
                }
            } else if (contentLength >= 0) {
                readBody(exchange, contentLength);
            } else {
                readBody(exchange, Long.MAX_VALUE);
                close = true;
            }
            exchange.doneAt = System.nanoTime();
            if (close) {
                disconnect();
            }
        }

        private long chunkSize() throws IOException {
            String size = readLine();
            int extension = size.indexOf(';');
            return Long.parseLong((extension < 0 ? size : size.substring(0, extension)).trim(), 16);
        }

        private void readBody(Exchange exchange, long length) throws IOException {
            long left = length;
            while (left > 0) {
                int read = in.read(scratch, 0, (int) Math.min(scratch.length, left));
                if (read < 0) {
                    if (length == Long.MAX_VALUE) {
                        return;
                    }
                    throw new EOFException("connection closed in the body");
                }
                exchange.body(scratch, 0, read);
                left -= read;
            }
        }

        private String readLine() throws IOException {
            line.setLength(0);
            while (true) {
                int b = in.read();
                if (b < 0) {
                    throw new EOFException("connection closed in the headers");
                }
                if (b == '\n') {
                    int end = line.length();
                    if (end > 0 && line.charAt(end - 1) == '\r') {
                        line.setLength(end - 1);
                    }
                    return line.toString();
                }
                line.append((char) b);
            }
        }

        @Override
        public void close() {
            disconnect();
        }

        /** Drops the connection; the next exchange opens a new one. */
        void disconnect() {
            if (socket != null) {
                try {
                    socket.close();
                } catch (IOException e) {
                    // Closing a benchmark connection; nothing to do.
                }
                socket = null;
            }
        }
    }

    /** Latencies in nanoseconds, kept whole: a run holds at most a few hundred thousand. */
    private static final class Samples {

        private long[] values = new long[1024];
        private int size;

        void add(long nanos) {
            if (size == values.length) {
                values = Arrays.copyOf(values, size * 2);
            }
            values[size++] = nanos;
        }

        void addAll(Samples other) {
            for (int i = 0; i < other.size; i++) {
                add(other.values[i]);
            }
        }

        int size() {
            return size;
        }

        void describe(Map<String, String> fields, String prefix) {
            long[] sorted = Arrays.copyOf(values, size);
            Arrays.sort(sorted);
            double sum = 0;
            for (long value : sorted) {
                sum += value;
            }
            fields.put(prefix + "p50_us", micros(percentile(sorted, 50)));
            fields.put(prefix + "p90_us", micros(percentile(sorted, 90)));
            fields.put(prefix + "p99_us", micros(percentile(sorted, 99)));
            fields.put(prefix + "p999_us", micros(percentile(sorted, 99.9)));
            fields.put(prefix + "max_us", micros(size == 0 ? 0 : sorted[size - 1]));
            fields.put(prefix + "mean_us", micros(size == 0 ? 0 : (long) (sum / size)));
        }

        private static long percentile(long[] sorted, double percent) {
            if (sorted.length == 0) {
                return 0;
            }
            int index = (int) Math.ceil(percent / 100.0 * sorted.length) - 1;
            return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
        }

        private static String micros(long nanos) {
            return format(nanos / 1000.0);
        }
    }

    /** {@code --name=value} options; {@code --header} may repeat. */
    record Options(Map<String, List<String>> values) {

        static Options parse(String[] args) {
            Map<String, List<String>> values = new LinkedHashMap<>();
            for (String arg : args) {
                if (!arg.startsWith("--") || arg.indexOf('=') < 0) {
                    throw new IllegalArgumentException("expected --name=value, not " + arg);
                }
                int equals = arg.indexOf('=');
                values.computeIfAbsent(arg.substring(2, equals), name -> new ArrayList<>()).add(arg.substring(equals + 1));
            }
            return new Options(values);
        }

        String require(String name) {
            String value = get(name, null);
            if (value == null) {
                throw new IllegalArgumentException("missing --" + name);
            }
            return value;
        }

        String get(String name, String fallback) {
            List<String> all = values.get(name);
            return all == null ? fallback : all.getLast();
        }

        List<String> all(String name) {
            return values.getOrDefault(name, List.of());
        }
    }
}
