package dev.keypool.server;

import dev.keypool.testing.ChildProcess;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The real gateway ({@link Main}) in a child JVM on this test's classpath, so that a test can
 * {@code kill -9} it. It listens on a port of its choosing, read from its start-up log line; its
 * environment is only what the test gives it, and its working directory one without a {@code .env}.
 */
final class ChildGateway implements AutoCloseable {

    private final ChildProcess process;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private ChildGateway(ChildProcess process) {
        this.process = process;
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
        ProcessBuilder builder = new ProcessBuilder(command).directory(workDir.toFile());
        builder.environment().clear();
        builder.environment().putAll(environment);
        return new ChildGateway(ChildProcess.start("the child gateway", builder));
    }

    /** Launches the gateway and waits until it listens. */
    static ChildGateway start(Map<String, String> environment, Path workDir) {
        ChildGateway child = launch(environment, workDir);
        child.port();
        return child;
    }

    /** The JVM flags {@code ./keypool} runs the gateway with ({@code ./keypool --print-java-opts}). */
    static List<String> launcherJavaOptions() {
        return ChildProcess.launcherJavaOptions(Path.of("..", "keypool"));
    }

    long pid() {
        return process.pid();
    }

    boolean alive() {
        return process.alive();
    }

    int port() {
        return process.port();
    }

    String url(String path) {
        return process.url(path);
    }

    /** Waits for the process to end (it is expected to end by itself) and returns its exit code. */
    int awaitExit() {
        return process.awaitExit();
    }

    /** {@code kill -9}: no shutdown hook, no last snapshot. */
    void kill() {
        process.kill();
    }

    String output() {
        return process.output();
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

    @Override
    public void close() {
        process.close();
        http.close();
    }
}
