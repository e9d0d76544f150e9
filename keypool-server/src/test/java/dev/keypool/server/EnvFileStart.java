package dev.keypool.server;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** Starts the gateway as {@code main} would, from an {@code --env-file} written for the test. */
final class EnvFileStart {

    private EnvFileStart() {
    }

    /** @param err receives what the gateway prints to standard error */
    static Main.Started start(Path dir, ByteArrayOutputStream err, Map<String, String> environment,
            String... envLines) throws IOException {
        Path env = dir.resolve("test.env");
        Files.write(env, List.of(envLines));
        return Main.start(new String[] {"--env-file", env.toString()}, environment,
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }
}
