package dev.keypool.faults;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One gateway as an operator runs it: {@code java -jar keypool-server/target/keypool-server.jar}
 * with the launcher's JVM flags ({@code ./keypool --print-java-opts}), in a child process whose
 * environment is only the pool's variables. Its port is read from its start-up line; its resident
 * memory (VmRSS) is sampled every 50 ms while it lives, and the peak kept.
 */
final class GatewayProcess implements AutoCloseable {

    private static final Pattern LISTENING = Pattern.compile("listening on http://127\\.0\\.0\\.1:(\\d+)");
    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);
    private static final ScheduledExecutorService SAMPLER = Executors.newSingleThreadScheduledExecutor(runnable -> {
        Thread thread = new Thread(runnable, "gateway-rss-sampler");
        thread.setDaemon(true);
        return thread;
    });
    private static volatile List<String> javaOptions;

    private final String name;
    private final Process process;
    private final List<String> output = new CopyOnWriteArrayList<>();
    private final CompletableFuture<Integer> port = new CompletableFuture<>();
    private final AtomicLong peakRssKib = new AtomicLong();
    private final ScheduledFuture<?> sampling;
    private volatile boolean killedOnPurpose;

    private GatewayProcess(String name, Process process) {
        this.name = name;
        this.process = process;
        Thread reader = new Thread(this::readOutput, "gateway-output-" + name);
        reader.setDaemon(true);
        reader.start();
        process.onExit().thenRun(() -> port.completeExceptionally(
                new IllegalStateException(name + " exited with " + process.exitValue() + ":\n" + output())));
        sampling = SAMPLER.scheduleAtFixedRate(this::sampleRss, 0, 50, TimeUnit.MILLISECONDS);
    }

    /** Starts a gateway with {@code environment} in {@code workDir} and waits until it listens. */
    static GatewayProcess start(String name, Map<String, String> environment, Path workDir) {
        GatewayProcess gateway = launch(name, environment, workDir);
        gateway.port();
        return gateway;
    }

    /** Starts a gateway without waiting for it. */
    static GatewayProcess launch(String name, Map<String, String> environment, Path workDir) {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        // A process started with SIGHUP ignored (the build run under nohup, say) passes that on, and a
        // JVM never handles a signal it inherited ignored: the gateway starts with SIGHUP's default,
        // as a supervisor would start it (env execs java, so the pid is the gateway's).
        List<String> command = new ArrayList<>(List.of("env", "--default-signal=HUP", java.toString()));
        command.addAll(launcherJavaOptions());
        // C1 only: a dozen gateways start in this suite on two shared cores; the flags that shape
        // memory (heap, collector) stay the launcher's.
        command.add("-XX:TieredStopAtLevel=1");
        command.addAll(List.of("-jar", jar().toString()));
        ProcessBuilder builder = new ProcessBuilder(command).directory(workDir.toFile()).redirectErrorStream(true);
        builder.environment().clear();
        builder.environment().putAll(environment);
        try {
            return new GatewayProcess(name, builder.start());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + command, e);
        }
    }

    /** The packaged gateway, built by keypool-server before this module. */
    static Path jar() {
        Path jar = root().resolve("keypool-server/target/keypool-server.jar");
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException(jar + " is missing: build it first (./mvnw -DskipTests package -pl keypool-server -am)");
        }
        return jar;
    }

    private static Path root() {
        return Path.of(System.getProperty("keypool.root", "..")).toAbsolutePath().normalize();
    }

    /** What {@code ./keypool --print-java-opts} prints, asked once. */
    static List<String> launcherJavaOptions() {
        List<String> options = javaOptions;
        if (options != null) {
            return options;
        }
        try {
            ProcessBuilder builder = new ProcessBuilder("sh", root().resolve("keypool").toString(), "--print-java-opts")
                    .redirectErrorStream(true);
            builder.environment().remove("KEYPOOL_JAVA_OPTS");
            builder.environment().put("JAVA_HOME", System.getProperty("java.home"));
            Process launcher = builder.start();
            String out = new String(launcher.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!launcher.waitFor(30, TimeUnit.SECONDS) || launcher.exitValue() != 0) {
                throw new IllegalStateException("./keypool --print-java-opts failed: " + out);
            }
            options = List.of(out.split("\\s+"));
            javaOptions = options;
            return options;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    String name() {
        return name;
    }

    long pid() {
        return process.pid();
    }

    boolean alive() {
        return process.isAlive();
    }

    /** Whether it ended without being killed by the test: what the report counts as a death. */
    boolean died() {
        return !process.isAlive() && !killedOnPurpose;
    }

    int port() {
        try {
            return port.get(START_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        } catch (Exception e) {
            process.destroyForcibly();
            throw new IllegalStateException(name + " did not start:\n" + output(), e);
        }
    }

    String url(String path) {
        return "http://127.0.0.1:" + port() + path;
    }

    /** {@code /health}'s {@code status} ({@code UP}, {@code DEGRADED}, …), or what went wrong asking. */
    String health() {
        try (java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient()) {
            String body = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(url("/health")))
                    .timeout(Duration.ofSeconds(5)).build(), java.net.http.HttpResponse.BodyHandlers.ofString()).body();
            Matcher status = Pattern.compile("\"status\"\\s*:\\s*\"(\\w+)\"").matcher(body);
            return status.find() ? status.group(1) : body;
        } catch (IOException e) {
            return e.toString();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    /** An admin API answer, parsed. */
    com.fasterxml.jackson.databind.JsonNode admin(String path) {
        try (java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient()) {
            String body = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(url(path)))
                    .header("Authorization", "Bearer " + FaultRun.ADMIN_TOKEN).timeout(Duration.ofSeconds(10)).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString()).body();
            return new com.fasterxml.jackson.databind.ObjectMapper().readTree(body);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The highest VmRSS seen, in KiB. */
    long peakRssKib() {
        return peakRssKib.get();
    }

    /** VmRSS now, in KiB (0 once the process is gone). */
    long rssKib() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(process.pid()), "status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("\\D", ""));
                }
            }
        } catch (IOException | RuntimeException e) {
            // gone, or not Linux
        }
        return 0;
    }

    /**
     * The heap the process still uses after a full collection ({@code jcmd GC.run}, then
     * {@code GC.heap_info}), in KiB: what it holds, not what it has not collected yet.
     */
    long liveHeapKib() {
        jcmd("GC.run");
        Matcher used = Pattern.compile("used (\\d+)K").matcher(jcmd("GC.heap_info"));
        if (!used.find()) {
            throw new IllegalStateException("no heap figures from jcmd for " + name);
        }
        return Long.parseLong(used.group(1));
    }

    private String jcmd(String command) {
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

    /** {@code kill -9}: no shutdown hook, no last snapshot, no clean-stop mark. */
    void kill() {
        killedOnPurpose = true;
        process.destroyForcibly();
        try {
            process.waitFor(START_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        sampling.cancel(false);
    }

    String output() {
        return String.join("\n", output);
    }

    private void sampleRss() {
        long rss = rssKib();
        peakRssKib.accumulateAndGet(rss, Math::max);
        if (!process.isAlive()) {
            sampling.cancel(false);
        }
    }

    private void readOutput() {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                if (output.size() < 5_000) {
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
        sampling.cancel(false);
    }
}
