package dev.keypool.server;

import dev.keypool.config.ConfigException;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.rotation.ApiKeyRotator;
import dev.keypool.server.demo.DemoConfig;
import dev.keypool.server.demo.DemoTraffic;
import dev.keypool.server.demo.DemoUpstream;
import dev.keypool.server.logging.RootLogLevel;
import dev.keypool.usage.StoreCorruptedException;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code java -jar keypool-server.jar [--env-file PATH] [--host HOST] [--port PORT] [--demo]
 * [--allow-public]}: loads the configuration, refuses what cannot be right (exit code 2, naming the
 * variable), starts the gateway, reads the configuration's keys again on SIGHUP ({@link SighupReload}), and
 * drains it on SIGTERM.
 */
public final class Main {

    /** Exit code for a configuration keypool cannot start with. */
    static final int EXIT_CONFIG = 2;

    /** Exit code for a start-up failure that is not the configuration's (a port in use). */
    static final int EXIT_FAILURE = 1;

    /** Exit code after an {@link OutOfMemoryError}: the JVM's own with {@code -XX:+ExitOnOutOfMemoryError}. */
    static final int EXIT_OUT_OF_MEMORY = 3;

    private static final Logger LOG = LoggerFactory.getLogger(Main.class);

    private Main() {
    }

    public static void main(String[] args) {
        run(args, Clock.systemUTC());
    }

    /** {@code main} on {@code clock}: a test's child process runs the real gateway on a clock of its own. */
    static void run(String[] args, Clock clock) {
        Thread.setDefaultUncaughtExceptionHandler(Main::uncaught);
        Started started = start(args, System.getenv(), System.out, System.err, clock, true);
        if (started.gateway() == null) {
            System.exit(started.exitCode());
        }
        Gateway gateway = started.gateway();
        // A listener that failed leaves a process that is up but never answers: end it, so that a
        // supervisor starts a new one.
        gateway.onServerFailure(() -> Runtime.getRuntime().halt(EXIT_FAILURE));
        Runtime.getRuntime().addShutdownHook(new Thread(gateway::close, "keypool-shutdown"));
    }

    /**
     * The process's last word on an exception no code caught. An {@link OutOfMemoryError} ends it
     * at once, as {@code -XX:+ExitOnOutOfMemoryError} (which {@code ./keypool} passes) would: a
     * JVM out of memory may have lost any thread, the listener's included, and a half-dead gateway
     * is worse than a restarted one. {@code halt}, not {@code exit}: shutdown hooks would need memory
     * and threads that may be gone. Anything else is logged, as the JVM would print it.
     */
    static void uncaught(Thread thread, Throwable error) {
        if (!(error instanceof OutOfMemoryError)) {
            LOG.error("Uncaught exception in thread {}", thread.getName(), error);
            return;
        }
        try {
            System.err.println("keypool: out of memory in thread " + thread.getName() + "; exiting");
        } finally {
            Runtime.getRuntime().halt(EXIT_OUT_OF_MEMORY);
        }
    }

    /** What {@link #start} ended with: a running gateway, or the exit code to leave with. */
    record Started(Gateway gateway, int exitCode) {
    }

    /**
     * Starts the gateway as {@code main} does, without exiting: tests call it with their own
     * environment and streams.
     */
    static Started start(String[] args, Map<String, String> environment, PrintStream out, PrintStream err) {
        return start(args, environment, out, err, Clock.systemUTC());
    }

    static Started start(String[] args, Map<String, String> environment, PrintStream out, PrintStream err, Clock clock) {
        return start(args, environment, out, err, clock, false);
    }

    /**
     * @param process whether this is the process's gateway: SIGHUP then reads the keys again, and is
     *                handled before the gateway says it listens (a supervisor may send it from then on;
     *                before the handler, the JVM would take it for a request to stop)
     */
    private static Started start(String[] args, Map<String, String> environment, PrintStream out, PrintStream err,
            Clock clock, boolean process) {
        KeypoolConfig config;
        ServerSettings settings;
        CommandLine commandLine;
        ConfigReload.Source source;
        try {
            commandLine = CommandLine.parse(args);
            if (commandLine.help()) {
                out.print(CommandLine.USAGE);
                return new Started(null, 0);
            }
            if (commandLine.version()) {
                out.println("keypool-server " + version());
                return new Started(null, 0);
            }
            source = ConfigReload.Source.of(environment, commandLine);
            config = source.load();
            settings = ServerSettings.resolve(config, commandLine);
            settings.checkExposure();
            // logback read only the process environment when it started; .env's value applies from here.
            RootLogLevel.set(ServerSettings.logLevel(config));
        } catch (ConfigException e) {
            err.println("keypool: configuration error: " + e.getMessage());
            return new Started(null, EXIT_CONFIG);
        }
        DemoUpstream demoUpstream = null;
        try {
            if (settings.demo()) {
                if (!config.allKeys().isEmpty()) {
                    LOG.info("DEMO: the {} key(s) configured in the environment are not used in demo mode",
                            config.allKeys().size());
                }
                demoUpstream = DemoUpstream.start();
                config = DemoConfig.of(config, demoUpstream.baseUrl());
            }
            Gateway gateway = Gateway.start(config, settings, clock, System::nanoTime, source);
            ApiKeyRotator.setApiKeyRotator(gateway.rotator());
            if (demoUpstream != null) {
                gateway.closeWith(demoUpstream);
                gateway.closeWith(DemoTraffic.start(gateway.baseUrl(), settings.adminToken(),
                        settings.clientTokens().isEmpty() ? null : settings.clientTokens().getFirst()));
            }
            if (process) {
                SighupReload.install(gateway.reload());
            }
            announce(gateway);
            return new Started(gateway, 0);
        } catch (ConfigException e) {
            if (demoUpstream != null) {
                demoUpstream.close();
            }
            err.println("keypool: configuration error: " + e.getMessage());
            return new Started(null, EXIT_CONFIG);
        } catch (StoreCorruptedException e) {
            if (demoUpstream != null) {
                demoUpstream.close();
            }
            err.println("keypool: cannot start: " + e.getMessage());
            return new Started(null, EXIT_FAILURE);
        } catch (RuntimeException e) {
            if (demoUpstream != null) {
                demoUpstream.close();
            }
            err.println("keypool: could not start on " + settings.host() + ":" + settings.port() + ": " + e.getMessage());
            LOG.debug("Start-up failure", e);
            return new Started(null, EXIT_FAILURE);
        }
    }

    static String version() {
        try (InputStream in = Main.class.getResourceAsStream("/keypool-server.properties")) {
            if (in == null) {
                return "unknown";
            }
            Properties properties = new Properties();
            properties.load(in);
            return properties.getProperty("version", "unknown");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Says once where the gateway and its dashboard are, and the admin token if it made one. */
    private static void announce(Gateway gateway) {
        ServerSettings settings = gateway.settings();
        List<String> keys = new ArrayList<>();
        for (Provider provider : Provider.values()) {
            int count = gateway.config().keys(provider).size();
            if (count > 0) {
                keys.add(provider.id() + " " + count);
            }
        }
        LOG.info("keypool {} listening on {} (OpenAI-compatible API at {}/v1, SerpApi-compatible search at {}/search)",
                version(), gateway.baseUrl(), gateway.baseUrl(), gateway.baseUrl());
        LOG.info("Dashboard: {}/   Data directory: {}", gateway.baseUrl(), settings.dataDir().toAbsolutePath());
        if (settings.demo()) {
            LOG.info("DEMO MODE: simulated upstreams and simulated traffic; no real provider is called");
        }
        if (keys.isEmpty()) {
            LOG.info("No API keys configured. {}", AdminResource.SETUP_HINT);
        } else {
            LOG.info("Keys: {}", String.join(", ", keys));
        }
        if (settings.adminTokenGenerated()) {
            LOG.info("Admin token (generated for this run; set KEYPOOL_ADMIN_TOKEN to choose one): {}",
                    settings.adminToken());
        }
        if (!settings.clientTokens().isEmpty()) {
            LOG.info("Gateway callers must present one of the {} KEYPOOL_CLIENT_TOKENS", settings.clientTokens().size());
        }
    }
}
