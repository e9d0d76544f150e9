package dev.keypool.server;

import dev.keypool.config.ConfigException;
import dev.keypool.config.EnvConfigLoader;
import dev.keypool.config.KeyChanges;
import dev.keypool.config.KeyConfig;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.event.KeyEvent;
import dev.keypool.event.KeyEventListener;
import dev.keypool.providers.internal.ProviderSettings;
import dev.keypool.rotation.ApiKeyManager;
import dev.keypool.server.feed.EventJson;
import dev.keypool.server.logging.SecretScrubber;
import dev.keypool.server.status.StatusReport;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * Reads the configuration again, from where start-up read it and with its checks, and puts the
 * keys it names in service ({@link ApiKeyManager#reload}): on SIGHUP and on
 * {@code POST /api/admin/reload}. A configuration start-up would refuse is refused whole, with
 * start-up's message, and the pool stays as it was. Only the keys and their per-key settings are
 * applied; any other setting that changed is named in the answer's {@code restart_required} and
 * takes effect at the next start.
 *
 * <p>It keeps the last reload's outcome for the status and the admin info, from the
 * {@link KeyEvent.KeysReloaded} event, so a reload made in-process is shown as well.
 */
final class ConfigReload implements KeyEventListener {

    /**
     * Where start-up read its configuration: the process environment and the {@code .env} file
     * (a real environment variable wins over the file, on a reload too), and the command line,
     * whose flags win over both.
     *
     * @param required whether the file must exist ({@code --env-file}), else {@code ./.env} when present
     */
    record Source(Map<String, String> environment, Path envFile, boolean required, CommandLine commandLine) {

        Source {
            environment = Map.copyOf(environment);
            Objects.requireNonNull(envFile, "envFile");
            Objects.requireNonNull(commandLine, "commandLine");
        }

        /** What {@link Main} reads: {@code --env-file PATH}, or {@code ./.env}. */
        static Source of(Map<String, String> environment, CommandLine commandLine) {
            return commandLine.envFile() != null
                    ? new Source(environment, commandLine.envFile(), true, commandLine)
                    : new Source(environment, Path.of(".env"), false, commandLine);
        }

        /** The configuration, as the loader reads it; @throws ConfigException naming the variable */
        KeypoolConfig load() {
            return required ? EnvConfigLoader.loadRequired(environment, envFile)
                    : EnvConfigLoader.load(environment, envFile);
        }

        /**
         * The configuration with every check start-up makes before it serves: the loader's, unknown
         * {@code KEYPOOL_*} variables, the server's and the providers' settings, the exposure rule.
         */
        KeypoolConfig loadChecked() {
            KeypoolConfig config = load();
            ServerSettings settings = ServerSettings.resolve(config, commandLine);
            settings.checkExposure();
            ServerSettings.logLevel(config);
            ProviderSettings.from(config);
            return config;
        }
    }

    private final ApiKeyManager manager;
    private final Source source;
    private final String unavailable;
    private volatile StatusReport.LastReload last;

    /**
     * @param source      where to read from, or {@code null} when the gateway was built without one
     * @param unavailable why reloads are refused here (demo mode), or {@code null}
     */
    ConfigReload(ApiKeyManager manager, Source source, String unavailable) {
        this.manager = manager;
        this.source = source;
        this.unavailable = source == null && unavailable == null
                ? "this gateway was started without a configuration file to read again" : unavailable;
    }

    /** Why reloading is not possible in this gateway, or {@code null} when it is. */
    String unavailable() {
        return unavailable;
    }

    /**
     * Reads and applies the configuration.
     *
     * @throws ConfigException when it is refused (nothing changed)
     * @throws IllegalStateException when this gateway cannot reload ({@link #unavailable()})
     */
    synchronized KeyChanges reload() {
        if (unavailable != null) {
            throw new IllegalStateException(unavailable);
        }
        return manager.reload(() -> {
            KeypoolConfig next = source.loadChecked();
            // Before any request can carry them: a new key is scrubbed from every log line from now on.
            SecretScrubber.register(next.allKeys().stream().map(KeyConfig::secret).toList());
            return next;
        });
    }

    /** The last reload, or {@code null} when none happened since start-up. */
    StatusReport.LastReload last() {
        return last;
    }

    @Override
    public void onEvent(KeyEvent event) {
        if (event instanceof KeyEvent.KeysReloaded reloaded) {
            last = new StatusReport.LastReload(Instant.ofEpochMilli(reloaded.timeMillis()).toString(),
                    reloaded.applied() ? "applied" : "refused",
                    reloaded.applied() ? EventJson.changes(reloaded.changes()) : null, reloaded.errors());
        }
    }
}
