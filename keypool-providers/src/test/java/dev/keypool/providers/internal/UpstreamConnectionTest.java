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
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Kept-alive connections against a server whose sockets the test controls: one the server closed
 * while it sat in the pool is replaced without failing the call, and nothing else is retried.
 */
class UpstreamConnectionTest {

    /** What the server does with each request on one connection, in order. */
    private enum Step { ANSWER, ANSWER_THEN_CLOSE, CLOSE_WITHOUT_ANSWER, STALL }

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

        int requests() {
            return requests.get();
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
                    if (!readRequest(in)) {
                        return;
                    }
                    int number = requests.incrementAndGet();
                    switch (step) {
                        case CLOSE_WITHOUT_ANSWER -> {
                            return;
                        }
                        case STALL -> {
                            in.read();
                            return;
                        }
                        case ANSWER, ANSWER_THEN_CLOSE -> {
                            byte[] body = ("answer " + number).getBytes(StandardCharsets.UTF_8);
                            out.write(("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + body.length
                                    + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                            out.write(body);
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

        /** Reads one request's head and body; false at the end of the connection. */
        private static boolean readRequest(InputStream in) throws IOException {
            ByteArrayOutputStream head = new ByteArrayOutputStream();
            int matched = 0;
            while (matched < 4) {
                int b = in.read();
                if (b < 0) {
                    return false;
                }
                head.write(b);
                matched = (b == '\r' && (matched == 0 || matched == 2)) || (b == '\n' && (matched == 1 || matched == 3))
                        ? matched + 1 : 0;
            }
            for (String line : head.toString(StandardCharsets.US_ASCII).split("\r\n")) {
                if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                    in.readNBytes(Integer.parseInt(line.substring("content-length:".length()).trim()));
                }
            }
            return true;
        }

        @Override
        public void close() throws IOException {
            socket.close();
            acceptor.interrupt();
        }
    }
}
