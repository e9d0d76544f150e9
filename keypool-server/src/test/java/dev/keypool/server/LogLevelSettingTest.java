package dev.keypool.server;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * {@code KEYPOOL_LOG_LEVEL} in {@code .env} was ignored: logback reads only the process environment,
 * before the file is read. The gateway applies the file's value; a real environment variable wins.
 */
class LogLevelSettingTest {

    @TempDir
    Path dir;

    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private Logger root;
    private Level before;

    @BeforeEach
    void rememberLevel() {
        root = ((LoggerContext) LoggerFactory.getILoggerFactory()).getLogger(Logger.ROOT_LOGGER_NAME);
        before = root.getLevel();
    }

    @AfterEach
    void restoreLevel() {
        root.setLevel(before);
    }

    private Main.Started start(Map<String, String> environment, String... envLines) throws IOException {
        return EnvFileStart.start(dir, err, environment, envLines);
    }

    private Level levelWhileRunning(Map<String, String> environment, String... envLines) throws IOException {
        Main.Started started = start(environment, envLines);
        try {
            assertThat(started.gateway()).as(err.toString(StandardCharsets.UTF_8)).isNotNull();
            return root.getLevel();
        } finally {
            if (started.gateway() != null) {
                started.gateway().close();
            }
        }
    }

    @Test
    void logLevelInTheEnvFile_isApplied() throws IOException {
        root.setLevel(Level.INFO);

        Level level = levelWhileRunning(Map.of(), "KEYPOOL_PORT=0", "KEYPOOL_DATA_DIR=" + dir.resolve("data"),
                "KEYPOOL_LOG_LEVEL=debug");

        assertThat(level).isEqualTo(Level.DEBUG);
    }

    @Test
    void realEnvironmentVariable_winsOverTheEnvFile() throws IOException {
        root.setLevel(Level.INFO);

        Level level = levelWhileRunning(Map.of("KEYPOOL_LOG_LEVEL", "WARN"), "KEYPOOL_PORT=0",
                "KEYPOOL_DATA_DIR=" + dir.resolve("data"), "KEYPOOL_LOG_LEVEL=DEBUG");

        assertThat(level).isEqualTo(Level.WARN);
    }

    @Test
    void logLevelThatIsNotALevel_exits2NamingTheVariable() throws IOException {
        Main.Started started = start(Map.of(), "KEYPOOL_PORT=0", "KEYPOOL_LOG_LEVEL=loud");

        assertThat(started.gateway()).isNull();
        assertThat(started.exitCode()).isEqualTo(Main.EXIT_CONFIG);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("KEYPOOL_LOG_LEVEL").contains("loud");
    }
}
