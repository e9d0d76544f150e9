package dev.keypool.redis.testing;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A {@code redis-server} of the test's own, on a free loopback port, with persistence off (or an
 * append-only file, {@link #startAppendOnly()}), in a temporary directory. {@link #stop()},
 * {@link #kill()} and {@link #restart()} (same port, same directory: empty data, or what the
 * append-only file kept) let a test take Redis away in the middle of traffic. Never skips: without
 * the binary, starting fails and says how to install it.
 */
public final class RedisServer implements AutoCloseable {

    /** Overrides where the binary is looked for. */
    public static final String BINARY_VARIABLE = "REDIS_SERVER";

    private static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(10);
    private static final int PORT_ATTEMPTS = 3;

    private final Path binary;
    private final Path directory;
    private final int port;
    private final boolean appendOnly;
    private Process process;

    private RedisServer(Path binary, Path directory, int port, boolean appendOnly) {
        this.binary = binary;
        this.directory = directory;
        this.port = port;
        this.appendOnly = appendOnly;
    }

    /** Starts a server on a free port, trying another one if the port was taken meanwhile. */
    public static RedisServer start() {
        return start(false);
    }

    /**
     * Starts a server that keeps its data in an append-only file ({@code appendfsync everysec}, the
     * default): a restart, even after {@link #kill()}, comes back with every write it acknowledged.
     */
    public static RedisServer startAppendOnly() {
        return start(true);
    }

    private static RedisServer start(boolean appendOnly) {
        Path binary = findBinary();
        IllegalStateException last = null;
        for (int attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
            RedisServer server;
            try {
                server = new RedisServer(binary, Files.createTempDirectory("keypool-redis-test"), freePort(), appendOnly);
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot prepare a directory for redis-server", e);
            }
            try {
                server.launch();
                return server;
            } catch (IllegalStateException e) {
                server.close();
                last = e;
            }
        }
        throw last;
    }

    public int port() {
        return port;
    }

    /** {@code redis://127.0.0.1:port}. */
    public String url() {
        return "redis://127.0.0.1:" + port;
    }

    /** The server's process id, while it runs. */
    public synchronized long pid() {
        if (process == null) {
            throw new IllegalStateException("redis-server is not running");
        }
        return process.pid();
    }

    public synchronized boolean isRunning() {
        return process != null && process.isAlive();
    }

    /** Stops the server; its data is gone (nothing is saved). */
    public synchronized void stop() {
        if (process == null) {
            return;
        }
        // A paused server would not act on SIGTERM.
        new ProcessBuilderQuietly(process.pid()).resume();
        process.destroy();
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        process = null;
    }

    /** {@code kill -9}: the server ends at once, saving nothing; {@link #restart()} starts it again. */
    public synchronized void kill() {
        if (process == null) {
            return;
        }
        process.destroyForcibly();
        try {
            process.waitFor(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        process = null;
    }

    /**
     * Stops the process without ending it ({@code SIGSTOP}): Redis hangs, its connections stay
     * open and every command waits, as with a frozen host or a full network path.
     */
    public synchronized void pause() {
        signal("-STOP");
    }

    /** Lets a paused server run again ({@code SIGCONT}); it answers what was queued meanwhile. */
    public synchronized void resume() {
        signal("-CONT");
    }

    private void signal(String signal) {
        if (process == null) {
            throw new IllegalStateException("redis-server is not running");
        }
        try {
            Process kill = new ProcessBuilder("kill", signal, Long.toString(process.pid())).redirectErrorStream(true)
                    .start();
            if (!kill.waitFor(5, TimeUnit.SECONDS) || kill.exitValue() != 0) {
                throw new IllegalStateException("kill " + signal + " " + process.pid() + " failed");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot signal redis-server", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Starts the server again on the same port: empty, or with what its append-only file kept. */
    public synchronized void restart() {
        stop();
        launch();
    }

    @Override
    public void close() {
        stop();
        try (Stream<Path> files = Files.walk(directory)) {
            files.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
        } catch (IOException e) {
            // a leftover temporary directory is harmless
        }
    }

    /** Sends SIGCONT without failing, for a server that may or may not be paused. */
    private record ProcessBuilderQuietly(long pid) {
        void resume() {
            try {
                new ProcessBuilder("kill", "-CONT", Long.toString(pid)).start().waitFor(5, TimeUnit.SECONDS);
            } catch (IOException e) {
                // not paused, or gone
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private synchronized void launch() {
        Path log = directory.resolve("redis.log");
        ProcessBuilder builder = new ProcessBuilder(List.of(binary.toString(),
                "--port", Integer.toString(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                appendOnly ? "yes" : "no",
                "--dir", directory.toString(), "--daemonize", "no"))
                .redirectErrorStream(true)
                .redirectOutput(log.toFile());
        try {
            process = builder.start();
        } catch (IOException e) {
            throw new IllegalStateException("Cannot run " + binary + ": " + e.getMessage(), e);
        }
        Process started = process;
        Runtime.getRuntime().addShutdownHook(new Thread(started::destroyForcibly));
        long deadline = System.nanoTime() + STARTUP_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            if (!started.isAlive()) {
                process = null;
                throw new IllegalStateException("redis-server exited at start on port " + port + ":\n" + tail(log));
            }
            if (answersPing()) {
                return;
            }
            sleepBriefly();
        }
        stop();
        throw new IllegalStateException("redis-server did not answer PING within " + STARTUP_TIMEOUT + ":\n" + tail(log));
    }

    private boolean answersPing() {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 200);
            socket.setSoTimeout(500);
            OutputStream out = socket.getOutputStream();
            out.write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII));
            return "+PONG".equals(in.readLine());
        } catch (IOException e) {
            return false;
        }
    }

    private static Path findBinary() {
        String configured = System.getenv(BINARY_VARIABLE);
        if (configured != null && !configured.isBlank()) {
            Path path = Path.of(configured);
            if (Files.isExecutable(path)) {
                return path;
            }
            throw new IllegalStateException(BINARY_VARIABLE + "=" + configured + " is not an executable redis-server");
        }
        String pathVariable = Optional.ofNullable(System.getenv("PATH")).orElse("");
        return Stream.concat(Stream.of(pathVariable.split(File.pathSeparator)),
                        Stream.of("/usr/bin", "/usr/local/bin", "/usr/sbin", "/opt/homebrew/bin"))
                .filter(dir -> !dir.isBlank())
                .map(dir -> Path.of(dir, "redis-server"))
                .filter(Files::isExecutable)
                .findFirst()
                .orElseThrow(() -> new IllegalStateException(
                        "redis-server is not installed, and the keypool-redis tests need one: they start their own "
                                + "on a free port. Install it (Debian/Ubuntu: apt-get install -y redis-server; .ci/run "
                                + "does this) or set " + BINARY_VARIABLE + " to the binary's path."));
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
        } catch (IOException e) {
            return "(no log)";
        }
    }

    private static void sleepBriefly() {
        try {
            Thread.sleep(20);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while waiting for redis-server", e);
        }
    }
}
