package dev.keypool.server;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The real gateway ({@link Main}) in a child JVM on this test's classpath, so that a test can
 * {@code kill -9} it. It listens on a port of its choosing, read from its start-up log line; its
 * environment is only what the test gives it, and its working directory one without a {@code .env}.
 */
final class ChildGateway implements AutoCloseable {

    private static final Pattern LISTENING = Pattern.compile("listening on http://127\\.0\\.0\\.1:(\\d+)");
    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);

    private final Process process;
    private final List<String> output = new CopyOnWriteArrayList<>();
    private final CompletableFuture<Integer> port = new CompletableFuture<>();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private ChildGateway(Process process) {
        this.process = process;
        Thread reader = new Thread(this::readOutput, "child-gateway-output");
        reader.setDaemon(true);
        reader.start();
        process.onExit().thenRun(() -> port.completeExceptionally(
                new IllegalStateException("the child gateway exited with " + process.exitValue() + ":\n" + output())));
    }

    /**
     * Launches {@code Main} with {@code environment} in {@code workDir}, on the run's shifted clock
     * ({@link ClockedMain}); does not wait for it to listen.
     */
    static ChildGateway launch(Map<String, String> environment, Path workDir) {
        return launch(environment, workDir, List.of("-Xshare:auto", "-XX:TieredStopAtLevel=1",
                "-D" + ClockedMain.OFFSET_PROPERTY + "=" + ClockedMain.OFFSET), ClockedMain.class);
    }

    /**
     * Launches {@code main} (the gateway's {@code Main}, or a test's own entry point that starts it)
     * with these JVM flags, for instance the launcher's ({@link #launcherJavaOptions()}).
     */
    static ChildGateway launch(Map<String, String> environment, Path workDir, List<String> jvmFlags, Class<?> main) {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> command = new ArrayList<>(List.of(java.toString()));
        command.addAll(jvmFlags);
        // The gateway's own logging, not a test jar's logback-test.xml: the port is read from its log.
        command.addAll(List.of("-Dlogback.configurationFile=logback.xml", "-cp", System.getProperty("java.class.path"),
                main.getName()));
        ProcessBuilder builder = new ProcessBuilder(command)
                .directory(workDir.toFile())
                .redirectErrorStream(true);
        builder.environment().clear();
        builder.environment().putAll(environment);
        try {
            return new ChildGateway(builder.start());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start a child JVM", e);
        }
    }

    /** Launches the gateway and waits until it listens. */
    static ChildGateway start(Map<String, String> environment, Path workDir) {
        ChildGateway child = launch(environment, workDir);
        child.port();
        return child;
    }

    /** The JVM flags {@code ./keypool} runs the gateway with ({@code ./keypool --print-java-opts}). */
    static List<String> launcherJavaOptions() {
        Path launcher = Path.of("..", "keypool").toAbsolutePath().normalize();
        try {
            ProcessBuilder builder = new ProcessBuilder("sh", launcher.toString(), "--print-java-opts").redirectErrorStream(true);
            builder.environment().remove("KEYPOOL_JAVA_OPTS");
            builder.environment().put("JAVA_HOME", System.getProperty("java.home"));
            Process process = builder.start();
            String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!process.waitFor(30, TimeUnit.SECONDS) || process.exitValue() != 0) {
                throw new IllegalStateException(launcher + " --print-java-opts failed: " + out);
            }
            return List.of(out.split("\\s+"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    long pid() {
        return process.pid();
    }

    boolean alive() {
        return process.isAlive();
    }

    int port() {
        try {
            return port.get(START_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        } catch (Exception e) {
            String threads = threadDump();
            process.destroyForcibly();
            throw new IllegalStateException("the child gateway did not start:\n" + output() + "\n" + threads, e);
        }
    }

    String url(String path) {
        return "http://127.0.0.1:" + port() + path;
    }

    /** Waits for the process to end (it is expected to end by itself) and returns its exit code. */
    int awaitExit() {
        try {
            if (!process.waitFor(START_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException("the child gateway did not exit:\n" + output());
            }
            return process.exitValue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** {@code kill -9}: no shutdown hook, no last snapshot. */
    void kill() {
        process.destroyForcibly();
        try {
            process.waitFor(START_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The child's threads, to tell a slow start from a stuck one. */
    private String threadDump() {
        if (!process.isAlive()) {
            return "";
        }
        try {
            Process jcmd = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                    Long.toString(process.pid()), "Thread.print").redirectErrorStream(true).start();
            String dump = new String(jcmd.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            jcmd.waitFor(10, TimeUnit.SECONDS);
            return dump;
        } catch (IOException e) {
            return "(no thread dump: " + e.getMessage() + ")";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "(no thread dump)";
        }
    }

    String output() {
        return String.join("\n", output);
    }

    HttpResponse<String> chat(String model, int maxTokens) {
        return send(HttpRequest.newBuilder(URI.create(url("/v1/chat/completions")))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"" + model + "\",\"max_tokens\":" + maxTokens
                        + ",\"messages\":[{\"role\":\"user\",\"content\":\"Say this is a test!\"}]}")));
    }

    HttpResponse<String> adminGet(String path) {
        return send(HttpRequest.newBuilder(URI.create(url(path)))
                .header("Authorization", "Bearer " + TestGateway.ADMIN_TOKEN).GET());
    }

    private HttpResponse<String> send(HttpRequest.Builder request) {
        return TestGateway.send(http, request);
    }

    private void readOutput() {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                output.add(line);
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
        http.close();
    }
}
