package dev.keypool.faults;

import dev.keypool.testing.ChildProcess;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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

    private static final ScheduledExecutorService SAMPLER = Executors.newSingleThreadScheduledExecutor(runnable -> {
        Thread thread = new Thread(runnable, "gateway-rss-sampler");
        thread.setDaemon(true);
        return thread;
    });

    private final ChildProcess process;
    private final AtomicLong peakRssKib = new AtomicLong();
    private final ScheduledFuture<?> sampling;
    private volatile boolean killedOnPurpose;

    private GatewayProcess(ChildProcess process) {
        this.process = process;
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
        ProcessBuilder builder = new ProcessBuilder(command).directory(workDir.toFile());
        builder.environment().clear();
        builder.environment().putAll(environment);
        return new GatewayProcess(ChildProcess.start(name, builder));
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
        return ChildProcess.launcherJavaOptions(root().resolve("keypool"));
    }

    String name() {
        return process.name();
    }

    long pid() {
        return process.pid();
    }

    boolean alive() {
        return process.alive();
    }

    /** Whether it ended without being killed by the test: what the report counts as a death. */
    boolean died() {
        return !process.alive() && !killedOnPurpose;
    }

    int port() {
        return process.port();
    }

    String url(String path) {
        return process.url(path);
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
        process.jcmd("GC.run");
        Matcher used = Pattern.compile("used (\\d+)K").matcher(process.jcmd("GC.heap_info"));
        if (!used.find()) {
            throw new IllegalStateException("no heap figures from jcmd for " + name());
        }
        return Long.parseLong(used.group(1));
    }

    /** {@code kill -9}: no shutdown hook, no last snapshot, no clean-stop mark. */
    void kill() {
        killedOnPurpose = true;
        process.kill();
        sampling.cancel(false);
    }

    String output() {
        return process.output();
    }

    private void sampleRss() {
        long rss = rssKib();
        peakRssKib.accumulateAndGet(rss, Math::max);
        if (!process.alive()) {
            sampling.cancel(false);
        }
    }

    @Override
    public void close() {
        if (process.alive()) {
            kill();
        }
        sampling.cancel(false);
    }
}
