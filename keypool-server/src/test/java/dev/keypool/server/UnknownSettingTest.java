package dev.keypool.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An unknown {@code KEYPOOL_*} variable stops start-up; every module's settings are declared where they are read. */
class UnknownSettingTest {

    private static final Pattern LITERAL = Pattern.compile("\"(KEYPOOL_[A-Z0-9_]+)\"");
    private static final Pattern MENTIONED = Pattern.compile("`(KEYPOOL_[A-Z0-9_]+)`");
    /** Names in the sources that are no variables: a log marker. */
    private static final Set<String> NOT_SETTINGS = Set.of("KEYPOOL_REPEATED");

    @TempDir
    Path dir;

    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private Main.Started start(Map<String, String> environment, String... envLines) throws IOException {
        return EnvFileStart.start(dir, err, environment, envLines);
    }

    @Test
    void issue13_aTypoInTheEnvFile_stopsStartUp_namingItAndTheNearestKnownName() throws IOException {
        Main.Started started = start(Map.of(), "KEYPOOL_PORT=0", "KEYPOOL_MAX_INFLIGHT=10");

        assertThat(started.gateway()).isNull();
        assertThat(started.exitCode()).isEqualTo(Main.EXIT_CONFIG);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("KEYPOOL_MAX_INFLIGHT")
                .contains("did you mean KEYPOOL_MAX_IN_FLIGHT?");
    }

    @Test
    void issue13_aTypoInTheEnvironment_stopsStartUpToo() throws IOException {
        Main.Started started = start(Map.of("KEYPOOL_RESERVATON_TIMEOUT_SECONDS", "30"), "KEYPOOL_PORT=0");

        assertThat(started.exitCode()).isEqualTo(Main.EXIT_CONFIG);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("KEYPOOL_RESERVATON_TIMEOUT_SECONDS")
                .contains("did you mean KEYPOOL_RESERVATION_TIMEOUT_SECONDS?");
    }

    @Test
    void everySettingTheModulesReadOrTheDocsName_isDeclared() {
        Set<String> declared = new HashSet<>();
        ServerSettings.ALL_SETTINGS.forEach(declared::addAll);
        Path root = Path.of("").toAbsolutePath().getParent();
        Set<String> used = new TreeSet<>();
        for (String module : List.of("keypool-core", "keypool-providers", "keypool-redis", "keypool-server")) {
            try (Stream<Path> files = Files.walk(root.resolve(module).resolve("src/main/java"))) {
                files.filter(file -> file.toString().endsWith(".java")).forEach(file -> collect(file, LITERAL, used));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        collect(root.resolve("README.md"), MENTIONED, used);
        collect(root.resolve("keypool-server/README.md"), MENTIONED, used);
        used.removeAll(NOT_SETTINGS);

        assertThat(used).hasSizeGreaterThan(20);
        assertThat(declared).containsAll(used);
    }

    private static void collect(Path file, Pattern pattern, Set<String> into) {
        try {
            Matcher matcher = pattern.matcher(Files.readString(file));
            while (matcher.find()) {
                into.add(matcher.group(1));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
