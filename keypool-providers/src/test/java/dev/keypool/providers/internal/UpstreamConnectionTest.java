package dev.keypool.providers.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.keypool.failure.FailureKind;
import dev.keypool.failure.UpstreamException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Kept-alive connections against a server whose sockets the test controls: one the server closed
 * while it sat in the pool is replaced without failing the call, and nothing else is retried.
 */
class UpstreamConnectionTest {

    /**
     * What the server does with each request on one connection, in order. {@code CLOSE_UNHANDLED}
     * reads the request's head and closes without handing it to the handler: a server that closed an
     * idle connection as the request arrived, which the client cannot have noticed before sending.
     */
    private enum Step { ANSWER, ANSWER_THEN_CLOSE, CLOSE_WITHOUT_ANSWER, CLOSE_UNHANDLED, STALL }

    private final ScriptedServer server = new ScriptedServer();
    private final Upstream upstream = new Upstream(Duration.ofSeconds(10), Duration.ofSeconds(10));
    /**
     * Short enough that the stalled request ends soon, long enough that the first, answered one
     * never meets it on a loaded machine (at 300 ms it did, with the load at 10 on 2 cores).
     */
    private final Upstream impatient = new Upstream(Duration.ofSeconds(2), Duration.ofSeconds(2));

    @AfterEach
    void close() throws IOException {
        upstream.close();
        impatient.close();
        server.close();
    }

    @Test
    void aKeptAliveConnectionTheServerClosed_isReplaced_andTheCallSucceeds() {
        server.script(List.of(Step.ANSWER_THEN_CLOSE), List.of(Step.ANSWER));

        assertThat(upstream.send(server.get(), null).body()).isEqualTo("answer 1");
        assertThat(upstream.send(server.get(), null).body()).isEqualTo("answer 2");

        assertThat(server.connections()).isEqualTo(2);
        assertThat(server.requests()).as("the request on the closed connection never reached the server's handler")
                .isEqualTo(2);
    }

    @Test
    void staleKeptAliveConnection_closedAfterTheRequestWasSent_isRetriedOnANewConnection() {
        server.script(List.of(Step.ANSWER, Step.CLOSE_UNHANDLED), List.of(Step.ANSWER));

        assertThat(upstream.send(server.get(), null).body()).isEqualTo("answer 1");
        assertThat(upstream.send(server.get(), null).body()).isEqualTo("answer 2");

        assertThat(server.connections()).as("the stale one, then one for the retry").isEqualTo(2);
        assertThat(server.requests()).isEqualTo(2);
        assertThat(server.heads()).as("request 2 went out on the stale connection, then once more")
                .isEqualTo(3);
    }

    @Test
    void aPostOnAStaleConnection_isSentAgainWithItsWholeBody() {
        server.script(List.of(Step.ANSWER, Step.CLOSE_UNHANDLED), List.of(Step.ANSWER));
        upstream.send(server.get(), null);
        byte[] body = "{\"model\":\"m\",\"input\":\"once more\"}".getBytes(StandardCharsets.UTF_8);

        Upstream.Response response = upstream.send(UpstreamRequest.of("POST", server.get().uri(), body), null);

        assertThat(response.body()).isEqualTo("answer 2");
        assertThat(server.bodies()).containsExactly("", "{\"model\":\"m\",\"input\":\"once more\"}");
    }

    @Test
    void aStreamOpenedOnAStaleConnection_isRetriedOnANewConnection() throws IOException {
        server.script(List.of(Step.ANSWER, Step.CLOSE_UNHANDLED), List.of(Step.ANSWER));
        upstream.send(server.get(), null);

        try (Upstream.StreamingResponse stream = upstream.open(server.get(), null)) {
            assertThat(stream.status()).isEqualTo(200);
            assertThat(new String(stream.body().readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("answer 2");
        }
        assertThat(server.connections()).isEqualTo(2);
    }

    @Test
    void aRetryThatFailsToo_failsAsAServerError_afterOneSecondTry() {
        server.script(List.of(Step.ANSWER, Step.CLOSE_UNHANDLED), List.of(Step.CLOSE_WITHOUT_ANSWER), List.of(Step.ANSWER));
        upstream.send(server.get(), null);

        UpstreamException failure = catchThrowableOfType(UpstreamException.class, () -> upstream.send(server.get(), null));

        assertThat(failure.kind()).isEqualTo(FailureKind.SERVER_ERROR);
        assertThat(server.connections()).isEqualTo(2);
    }

    @Test
    void callsInARow_shareOneConnection() {
        server.script(List.of(Step.ANSWER, Step.ANSWER, Step.ANSWER));

        for (int i = 1; i <= 3; i++) {
            assertThat(upstream.send(server.get(), null).body()).isEqualTo("answer " + i);
        }

        assertThat(server.connections()).isEqualTo(1);
    }

    @Test
    void aNewConnectionClosedWithoutAnAnswer_failsAsAServerError_withoutASecondTry() {
        server.script(List.of(Step.CLOSE_WITHOUT_ANSWER), List.of(Step.ANSWER));

        UpstreamException failure = catchThrowableOfType(UpstreamException.class, () -> upstream.send(server.get(), null));

        assertThat(failure.kind()).isEqualTo(FailureKind.SERVER_ERROR);
        assertThat(server.connections()).isEqualTo(1);
    }

    @Test
    void aTimeoutOnAReusedConnection_isNotSentAgain() {
        server.script(List.of(Step.ANSWER, Step.STALL), List.of(Step.ANSWER));
        impatient.send(server.get(), null);

        UpstreamException failure = catchThrowableOfType(UpstreamException.class, () -> impatient.send(server.get(), null));

        assertThat(failure.kind()).isEqualTo(FailureKind.SERVER_ERROR);
        assertThat(failure.getMessage()).contains("timed out");
        assertThat(server.connections()).isEqualTo(1);
        assertThat(server.requests()).isEqualTo(2);
    }

    /** A loopback HTTP/1.1 server that follows one script per accepted connection. */
    private static final class ScriptedServer implements AutoCloseable {
        private final ServerSocket socket;
        private final BlockingQueue<List<Step>> scripts = new LinkedBlockingQueue<>();
        private final AtomicInteger connections = new AtomicInteger();
        private final AtomicInteger requests = new AtomicInteger();
        private final AtomicInteger heads = new AtomicInteger();
        private final List<String> bodies = new CopyOnWriteArrayList<>();
        private final Thread acceptor;

        ScriptedServer() {
            try {
                socket = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            acceptor = Thread.ofVirtual().start(this::accept);
        }

        @SafeVarargs
        final void script(List<Step>... perConnection) {
            scripts.addAll(List.of(perConnection));
        }

        UpstreamRequest get() {
            return UpstreamRequest.get(URI.create("http://127.0.0.1:" + socket.getLocalPort() + "/ping"));
        }

        int connections() {
            return connections.get();
        }

        /** Requests that reached the handler. */
        int requests() {
            return requests.get();
        }

        /** Request heads read, whether the handler got them or not. */
        int heads() {
            return heads.get();
        }

        /** The bodies of the requests that reached the handler, in order. */
        List<String> bodies() {
            return bodies;
        }

        private void accept() {
            while (!socket.isClosed()) {
                try {
                    Socket connection = socket.accept();
                    connections.incrementAndGet();
                    List<Step> script = scripts.poll();
                    Thread.ofVirtual().start(() -> serve(connection, script == null ? List.of() : script));
                } catch (IOException e) {
                    return;
                }
            }
        }

        private void serve(Socket connection, List<Step> script) {
            try (connection; InputStream in = connection.getInputStream(); OutputStream out = connection.getOutputStream()) {
                for (Step step : script) {
                    String body = readRequest(in);
                    if (body == null) {
                        return;
                    }
                    heads.incrementAndGet();
                    if (step == Step.CLOSE_UNHANDLED) {
                        return;
                    }
                    bodies.add(body);
                    int number = requests.incrementAndGet();
                    switch (step) {
                        case CLOSE_WITHOUT_ANSWER, CLOSE_UNHANDLED -> {
                            return;
                        }
                        case STALL -> {
                            in.read();
                            return;
                        }
                        case ANSWER, ANSWER_THEN_CLOSE -> {
                            byte[] answer = ("answer " + number).getBytes(StandardCharsets.UTF_8);
                            out.write(("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + answer.length
                                    + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                            out.write(answer);
                            out.flush();
                            if (step == Step.ANSWER_THEN_CLOSE) {
                                return;
                            }
                        }
                    }
                }
            } catch (IOException e) {
                // the client went away
            }
        }

        /** Reads one request's head and body, and returns the body; null at the end of the connection. */
        private static String readRequest(InputStream in) throws IOException {
            ByteArrayOutputStream head = new ByteArrayOutputStream();
            int matched = 0;
            while (matched < 4) {
                int b = in.read();
                if (b < 0) {
                    return null;
                }
                head.write(b);
                matched = (b == '\r' && (matched == 0 || matched == 2)) || (b == '\n' && (matched == 1 || matched == 3))
                        ? matched + 1 : 0;
            }
            for (String line : head.toString(StandardCharsets.US_ASCII).split("\r\n")) {
                if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                    byte[] body = in.readNBytes(Integer.parseInt(line.substring("content-length:".length()).trim()));
                    return new String(body, StandardCharsets.UTF_8);
                }
            }
            return "";
        }

        @Override
        public void close() throws IOException {
            socket.close();
            acceptor.interrupt();
        }
    }
}
