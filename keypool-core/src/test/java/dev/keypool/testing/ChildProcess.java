package dev.keypool.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A gateway in a child process, as the tests that {@code kill -9} it or flood it run one: its output
 * kept (the first 5,000 lines), its port read from its start-up line ("listening on
 * http://127.0.0.1:PORT"), its threads dumped when it does not start in time. The server's
 * {@code ChildGateway} (the test class path) and the fault suite's {@code GatewayProcess} (the
 * packaged jar) are both one of these.
 */
public final class ChildProcess implements AutoCloseable {

    private static final Pattern LISTENING = Pattern.compile("listening on http://127\\.0\\.0\\.1:(\\d+)");
    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final int MAX_LINES = 5_000;
    private static final Map<Path, List<String>> LAUNCHER_OPTIONS = new ConcurrentHashMap<>();

    private final String name;
    private final Process process;
    private final List<String> output = new CopyOnWriteArrayList<>();
    private final CompletableFuture<Integer> port = new CompletableFuture<>();

    private ChildProcess(String name, Process process) {
        this.name = name;
        this.process = process;
        Thread reader = new Thread(this::readOutput, name + "-output");
        reader.setDaemon(true);
        reader.start();
        process.onExit().thenRun(() -> port.completeExceptionally(
                new IllegalStateException(name + " exited with " + process.exitValue() + ":\n" + output())));
    }

    /** Starts {@code builder}'s command, its error stream merged into its output; does not wait for it to listen. */
    public static ChildProcess start(String name, ProcessBuilder builder) {
        try {
            return new ChildProcess(name, builder.redirectErrorStream(true).start());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + name + ": " + builder.command(), e);
        }
    }

    /** What {@code launcher --print-java-opts} ({@code ./keypool}) prints, asked once per launcher. */
    public static List<String> launcherJavaOptions(Path launcher) {
        return LAUNCHER_OPTIONS.computeIfAbsent(launcher.toAbsolutePath().normalize(), path -> {
            try {
                ProcessBuilder builder = new ProcessBuilder("sh", path.toString(), "--print-java-opts")
                        .redirectErrorStream(true);
                builder.environment().remove("KEYPOOL_JAVA_OPTS");
                builder.environment().put("JAVA_HOME", System.getProperty("java.home"));
                Process run = builder.start();
                String out = new String(run.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
                if (!run.waitFor(30, TimeUnit.SECONDS) || run.exitValue() != 0) {
                    throw new IllegalStateException(path + " --print-java-opts failed: " + out);
                }
                return List.of(out.split("\\s+"));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        });
    }

    public String name() {
        return name;
    }

    public long pid() {
        return process.pid();
    }

    public boolean alive() {
        return process.isAlive();
    }

    /** The port it listens on, once it says so; a child that does not start in time is killed, its threads shown. */
    public int port() {
        try {
            return port.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        } catch (Exception e) {
            String threads = process.isAlive() ? jcmdOrWhy("Thread.print") : "";
            process.destroyForcibly();
            throw new IllegalStateException(name + " did not start:\n" + output() + "\n" + threads, e);
        }
    }

    public String url(String path) {
        return "http://127.0.0.1:" + port() + path;
    }

    /** Waits for the process to end (it is expected to end by itself) and returns its exit code. */
    public int awaitExit() {
        try {
            if (!process.waitFor(TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException(name + " did not exit:\n" + output());
            }
            return process.exitValue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** {@code kill -9}: no shutdown hook, no last snapshot, no clean-stop mark. */
    public void kill() {
        process.destroyForcibly();
        try {
            process.waitFor(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    public String output() {
        return String.join("\n", output);
    }

    /** {@code jcmd PID command}'s output. */
    public String jcmd(String command) {
        try {
            Process jcmd = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                    Long.toString(process.pid()), command).redirectErrorStream(true).start();
            String out = new String(jcmd.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!jcmd.waitFor(30, TimeUnit.SECONDS)) {
                jcmd.destroyForcibly();
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private String jcmdOrWhy(String command) {
        try {
            return jcmd(command);
        } catch (RuntimeException e) {
            return "(no " + command + ": " + e.getMessage() + ")";
        }
    }

    private void readOutput() {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                if (output.size() < MAX_LINES) {
                    output.add(line);
                }
                Matcher matcher = LISTENING.matcher(line);
                if (matcher.find()) {
                    port.complete(Integer.parseInt(matcher.group(1)));
                }
            }
        } catch (IOException e) {
            // the process is gone; onExit reports it
        }
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            kill();
        }
    }
}
