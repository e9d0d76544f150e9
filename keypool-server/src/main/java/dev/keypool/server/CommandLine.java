package dev.keypool.server;

import dev.keypool.config.ConfigException;
import dev.keypool.config.Settings;
import java.nio.file.Path;

/**
 * The gateway's command-line flags. Each overrides its variable: {@code --host} over
 * {@code KEYPOOL_HOST}, {@code --port} over {@code KEYPOOL_PORT}, {@code --allow-public} over
 * {@code KEYPOOL_ALLOW_PUBLIC}.
 *
 * @param envFile     {@code --env-file PATH}, or {@code null} for {@code ./.env} when present
 * @param host        {@code --host}, or {@code null}
 * @param port        {@code --port}, or {@code null}
 * @param demo        {@code --demo}: simulated upstreams and traffic, no real provider called
 * @param allowPublic {@code --allow-public}: listen on a non-loopback address without client tokens
 * @param help        {@code --help}
 * @param version     {@code --version}
 */
record CommandLine(Path envFile, String host, Integer port, boolean demo, boolean allowPublic, boolean help,
        boolean version) {

    static final String USAGE = """
            Usage: java -jar keypool-server.jar [options]

              --env-file PATH   read variables from PATH instead of ./.env
              --host HOST       listen address (KEYPOOL_HOST, default 127.0.0.1)
              --port PORT       listen port (KEYPOOL_PORT, default 8080; 0 picks a free one)
              --demo            simulated upstreams and traffic: watch keys fill up, cool down and fail over
              --allow-public    listen on a non-loopback address without KEYPOOL_CLIENT_TOKENS
              --version         print the version and exit
              --help            print this help and exit

            Keys and limits come from the environment and .env (OPENAI_API_KEYS, GEMINI_API_KEYS,
            SERP_API_KEYS, {P}_MODEL_i, {P}_MAX_TOKENS_PER_MINUTE_i, {P}_MAX_TOKENS_PER_DAY_i, ...).
            """;

    /** @throws ConfigException naming the flag when one is unknown or lacks its value */
    static CommandLine parse(String... args) {
        Path envFile = null;
        String host = null;
        Integer port = null;
        boolean demo = false;
        boolean allowPublic = false;
        boolean help = false;
        boolean version = false;
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            String name = arg;
            String inline = null;
            int equals = arg.indexOf('=');
            if (arg.startsWith("--") && equals > 0) {
                name = arg.substring(0, equals);
                inline = arg.substring(equals + 1);
            }
            switch (name) {
                case "--env-file" -> {
                    String value = inline != null ? inline : value(args, ++i, name);
                    envFile = Path.of(value);
                }
                case "--host" -> host = inline != null ? inline : value(args, ++i, name);
                case "--port" -> port = Settings.port("--port", inline != null ? inline : value(args, ++i, name));
                case "--demo" -> demo = true;
                case "--allow-public" -> allowPublic = true;
                case "--help", "-h" -> help = true;
                case "--version" -> version = true;
                default -> throw new ConfigException(arg, "unknown option (see --help)");
            }
        }
        return new CommandLine(envFile, host, port, demo, allowPublic, help, version);
    }

    private static String value(String[] args, int index, String flag) {
        if (index >= args.length || args[index].startsWith("--")) {
            throw new ConfigException(flag, "needs a value");
        }
        return args[index];
    }

}
