package dev.keypool.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An {@link OutOfMemoryError} left a half-dead process: it hit the listener's thread, which
 * stopped, and the JVM stayed up answering nothing. Now the launcher's JVM exits on one, the jar
 * itself halts on one that no code caught, and a listener that stops by itself ends the process.
 */
class OutOfMemoryExitTest {

    @TempDir
    Path dir;

    @Test
    void launcher_runsTheJvmSoThatItExitsOnOutOfMemory() {
        List<String> flags = ChildGateway.launcherJavaOptions();

        assertThat(flags).contains("-XX:+ExitOnOutOfMemoryError", "-Xmx512m", "-XX:+UseG1GC");
    }

    @Test
    void outOfMemoryErrorOnAnyThread_endsTheJarsProcess() {
        try (ChildGateway child = ChildGateway.launch(Map.of("KEYPOOL_DATA_DIR", dir.resolve("data").toString(),
                "OLLAMA_HOST", "http://127.0.0.1:9"), dir, List.of("-XX:TieredStopAtLevel=1"), OutOfMemoryProbe.class)) {

            int exitCode = child.awaitExit();

            assertThat(exitCode).as(child.output()).isEqualTo(Main.EXIT_OUT_OF_MEMORY);
            assertThat(child.output()).contains("out of memory in thread probe");
        }
    }

    @Test
    void webServerThatStopsByItself_runsTheFailureAction() throws InterruptedException {
        try (TestGateway server = TestGateway.startWithoutKeys()) {
            CountDownLatch failed = new CountDownLatch(1);
            server.gateway.onServerFailure(failed::countDown);

            // What Helidon does to a listener whose thread met an error it cannot recover from.
            server.gateway.webServer().stop();

            assertThat(failed.await(10, TimeUnit.SECONDS)).isTrue();
        }
    }
}
