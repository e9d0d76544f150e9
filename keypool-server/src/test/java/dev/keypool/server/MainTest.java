package dev.keypool.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Start-up: flags, refused configurations (exit code 2 naming the variable), exposure. */
class MainTest {

    @TempDir
    Path dir;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private Main.Started start(Map<String, String> environment, String... args) {
        return Main.start(args, environment, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private String stderr() {
        return err.toString(StandardCharsets.UTF_8);
    }

    private Path envFile(String... lines) throws IOException {
        Path file = dir.resolve("test.env");
        Files.write(file, List.of(lines));
        return file;
    }

    @Test
    void start_limitThatIsNotAPositiveInteger_exits2NamingTheVariable() throws IOException {
        Path env = envFile("OPENAI_API_KEYS=sk-proj-TEST.main-test-aaaa-key1,sk-proj-TEST.main-test-bbbb-key2",
                "OPENAI_MAX_TOKENS_PER_MINUTE_1=lots");

        Main.Started started = start(Map.of(), "--env-file", env.toString());

        assertThat(started.gateway()).isNull();
        assertThat(started.exitCode()).isEqualTo(2);
        assertThat(stderr()).contains("OPENAI_MAX_TOKENS_PER_MINUTE_1").contains("positive integer")
                .doesNotContain("sk-proj-TEST.main-test-aaaa-key1");
    }

    @Test
    void start_perKeyVariableWithoutItsKey_exits2NamingTheVariable() throws IOException {
        Path env = envFile("GEMINI_API_KEYS=AIza-main-test-only-key", "GEMINI_MODEL_3=gemini-2.5-flash");

        Main.Started started = start(Map.of(), "--env-file", env.toString());

        assertThat(started.exitCode()).isEqualTo(2);
        assertThat(stderr()).contains("GEMINI_MODEL_3");
    }

    @Test
    void start_badServerVariable_exits2NamingIt() throws IOException {
        Path env = envFile("KEYPOOL_MAX_BODY_BYTES=-5");

        assertThat(start(Map.of(), "--env-file", env.toString()).exitCode()).isEqualTo(2);
        assertThat(stderr()).contains("KEYPOOL_MAX_BODY_BYTES");
    }

    @Test
    void start_missingEnvFile_exits2() {
        assertThat(start(Map.of(), "--env-file", dir.resolve("absent.env").toString()).exitCode()).isEqualTo(2);
        assertThat(stderr()).contains("--env-file").contains("absent.env");
    }

    @Test
    void start_unknownFlag_exits2() {
        assertThat(start(Map.of(), "--frobnicate").exitCode()).isEqualTo(2);
        assertThat(stderr()).contains("--frobnicate");
    }

    @Test
    void start_nonLoopbackHostWithoutClientTokens_isRefused() throws IOException {
        Path env = envFile("KEYPOOL_HOST=0.0.0.0", "KEYPOOL_PORT=0");

        Main.Started started = start(Map.of(), "--env-file", env.toString());

        assertThat(started.exitCode()).isEqualTo(2);
        assertThat(stderr()).contains("KEYPOOL_HOST").contains("KEYPOOL_CLIENT_TOKENS").contains("--allow-public");
    }

    @Test
    void start_nonLoopbackHostWithAllowPublic_starts() throws IOException {
        Path env = envFile("KEYPOOL_PORT=0", "KEYPOOL_ADMIN_TOKEN=main-test-admin", "KEYPOOL_DATA_DIR=" + dir.resolve("data"));

        Main.Started started = start(Map.of(), "--env-file", env.toString(), "--host", "0.0.0.0", "--allow-public");

        try {
            assertThat(started.gateway()).isNotNull();
            assertThat(started.gateway().port()).isPositive();
            assertThat(Files.isDirectory(dir.resolve("data"))).isTrue();
        } finally {
            started.gateway().close();
        }
    }

    @Test
    void start_withoutAdminToken_generatesOne() throws IOException {
        Path env = envFile("KEYPOOL_PORT=0", "KEYPOOL_DATA_DIR=" + dir.resolve("data"));

        Main.Started started = start(Map.of(), "--env-file", env.toString());

        try {
            assertThat(started.gateway().settings().adminTokenGenerated()).isTrue();
            assertThat(started.gateway().settings().adminToken()).startsWith("kpa-").hasSizeGreaterThan(30);
        } finally {
            started.gateway().close();
        }
    }

    @Test
    void start_environmentWinsOverTheEnvFile() throws IOException {
        Path env = envFile("KEYPOOL_PORT=1", "KEYPOOL_ADMIN_TOKEN=from-file", "KEYPOOL_DATA_DIR=" + dir.resolve("data"));

        Main.Started started = start(Map.of("KEYPOOL_PORT", "0", "KEYPOOL_ADMIN_TOKEN", "from-env"),
                "--env-file", env.toString());

        try {
            assertThat(started.gateway().settings().adminToken()).isEqualTo("from-env");
        } finally {
            started.gateway().close();
        }
    }

    @Test
    void help_printsUsageAndExitsZero() {
        Main.Started started = start(Map.of(), "--help");

        assertThat(started.exitCode()).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("--env-file").contains("--demo");
    }

    /** The real process: {@code java ... Main --env-file bad.env} exits 2 and says which variable. */
    @Test
    void process_badEnvFile_exitsNonZeroNamingTheVariable() throws Exception {
        Path env = envFile("SERP_API_KEYS=serp-main-test-key-0", "SERP_MAX_TOKENS_PER_DAY_0=0");
        Process process = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), Main.class.getName(), "--env-file", env.toString())
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .start();

        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.exitValue()).as(output).isEqualTo(2);
        assertThat(output).contains("SERP_MAX_TOKENS_PER_DAY_0");
    }
}
