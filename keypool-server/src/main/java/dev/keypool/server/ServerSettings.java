package dev.keypool.server;

import dev.keypool.config.ConfigException;
import dev.keypool.config.EnvConfigLoader;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.server.alerts.WebhookDelivery;
import dev.keypool.config.KnownSettings;
import dev.keypool.config.Settings;
import dev.keypool.providers.internal.ProviderSettings;
import dev.keypool.redis.RedisStoreConfig;
import dev.keypool.redis.ResilientRedisUsageStore;
import dev.keypool.server.connection.ConnectionLimits;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * What the gateway process is run with, beyond the pool's own configuration: where it listens,
 * its tokens, its limits. Resolved once at start-up from {@link KeypoolConfig} and the
 * {@link CommandLine}; every refused value names its variable.
 *
 * @param adminToken          {@code KEYPOOL_ADMIN_TOKEN}, or a random one when unset
 * @param adminTokenGenerated whether {@code adminToken} was generated (it is then printed once)
 * @param clientTokens        {@code KEYPOOL_CLIENT_TOKENS}; empty means gateway callers need none
 * @param maxBodyBytes        {@code KEYPOOL_MAX_BODY_BYTES}: larger request bodies get 413
 * @param allowPublic         {@code --allow-public} or {@code KEYPOOL_ALLOW_PUBLIC=true}
 * @param demo                {@code --demo}
 * @param dataDir             {@code KEYPOOL_DATA_DIR}, default {@code ./data}
 * @param drainTimeout        {@code KEYPOOL_DRAIN_SECONDS}: how long SIGTERM waits for requests in flight
 * @param instances           {@code KEYPOOL_INSTANCES}: how many gateway instances share the Redis; while
 *                            Redis is unreachable each accounts locally with 1/instances of every limit
 * @param edge                what guards the network edge: caps, timeouts, the Hosts and Origins answered
 * @param alertWebhooks       {@code KEYPOOL_ALERT_WEBHOOK_URL}: where alerts are posted (none by default)
 */
public record ServerSettings(String host, int port, String adminToken, boolean adminTokenGenerated,
        List<String> clientTokens, long maxBodyBytes, boolean allowPublic, boolean demo, Path dataDir,
        Duration drainTimeout, int instances, Edge edge, List<URI> alertWebhooks) {

    /**
     * What guards the gateway's network edge, so that memory is bounded by settings and not by
     * whoever connects, and a web page cannot spend the keys.
     *
     * @param connections  {@code KEYPOOL_MAX_CONNECTIONS}, {@code KEYPOOL_HEADER_TIMEOUT_SECONDS},
     *                     {@code KEYPOOL_IDLE_TIMEOUT_SECONDS}
     * @param maxInFlight  {@code KEYPOOL_MAX_IN_FLIGHT}: gateway requests served at once; more get 503
     * @param maxBodyBytesInFlight {@code KEYPOOL_MAX_BODY_BYTES_IN_FLIGHT}: request body bytes those
     *                     requests may hold at once (each counted at its {@code Content-Length}, at most
     *                     {@code KEYPOOL_MAX_BODY_BYTES}); a request that would pass it gets 503
     * @param allowedHosts {@code KEYPOOL_ALLOWED_HOSTS}: {@code Host} values answered beside the loopback
     *                     names, each {@code name} (any port) or {@code name:port}, lower case
     * @param corsOrigins  {@code KEYPOOL_CORS_ORIGINS}: origins ({@code scheme://host[:port]}, lower
     *                     case) whose pages may call the gateway, with CORS answered for them
     */
    public record Edge(ConnectionLimits connections, int maxInFlight, long maxBodyBytesInFlight,
            List<String> allowedHosts, List<String> corsOrigins) {

        /** Ten thousand: about 150 MiB of heap for the connections alone, 14-16 KiB each (docs/DECISIONS.md). */
        public static final int DEFAULT_MAX_CONNECTIONS = 10_000;

        /** Five thousand: each holds a virtual thread, buffers and an upstream connection, about 28 KiB more apiece. */
        public static final int DEFAULT_MAX_IN_FLIGHT = 5_000;

        /**
         * 32 MiB of request bodies at once: 8 bodies of the largest size, or 5,000 chat requests of
         * 6 KiB. A held request keeps about three times its body in the heap (docs/DECISIONS.md), so
         * this is about 100 MiB beside what the default caps use, within the launcher's 512 MiB.
         */
        public static final long DEFAULT_MAX_BODY_BYTES_IN_FLIGHT = 32L * 1024 * 1024;

        /** Ten seconds for a request head: a client on loopback or a LAN sends it in milliseconds. */
        public static final Duration DEFAULT_HEADER_TIMEOUT = Duration.ofSeconds(10);

        /** A minute of silence: longer than the official SDKs keep an idle connection (5 s to 60 s). */
        public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(60);

        /** What a refusal's {@code Retry-After} says: a request in flight typically ends within it. */
        public static final Duration RETRY_AFTER = Duration.ofSeconds(1);

        public Edge {
            allowedHosts = List.copyOf(allowedHosts);
            corsOrigins = List.copyOf(corsOrigins);
        }

        public static Edge defaults() {
            return new Edge(new ConnectionLimits(DEFAULT_MAX_CONNECTIONS, DEFAULT_HEADER_TIMEOUT, DEFAULT_IDLE_TIMEOUT,
                    RETRY_AFTER), DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_BODY_BYTES_IN_FLIGHT, List.of(), List.of());
        }

        public Edge withConnections(ConnectionLimits connections) {
            return new Edge(connections, maxInFlight, maxBodyBytesInFlight, allowedHosts, corsOrigins);
        }

        public Edge withMaxBodyBytesInFlight(long maxBodyBytesInFlight) {
            return new Edge(connections, maxInFlight, maxBodyBytesInFlight, allowedHosts, corsOrigins);
        }

        public Edge withMaxInFlight(int maxInFlight) {
            return new Edge(connections, maxInFlight, maxBodyBytesInFlight, allowedHosts, corsOrigins);
        }

        public Edge withAllowedHosts(List<String> allowedHosts) {
            return new Edge(connections, maxInFlight, maxBodyBytesInFlight, allowedHosts, corsOrigins);
        }

        public Edge withCorsOrigins(List<String> corsOrigins) {
            return new Edge(connections, maxInFlight, maxBodyBytesInFlight, allowedHosts, corsOrigins);
        }

        /** Files the gateway opens beside its connections: jars, logs, the data directory, Redis, the JVM's own. */
        static final int RESERVED_FILE_DESCRIPTORS = 256;

        /**
         * The caps this process can hold with {@code maxFileDescriptors} open files ({@code -1}:
         * unknown, this edge as it is). Each connection is a file, and each request in flight one more
         * for its upstream connection; a listener that runs out of them stops accepting for good, so
         * caps the limit cannot hold are lowered: a third of what is left to requests in flight, the
         * rest to connections and those being refused.
         */
        public Edge fitToFileDescriptors(long maxFileDescriptors) {
            long needed = (long) connections.hardLimit() + maxInFlight + RESERVED_FILE_DESCRIPTORS;
            if (maxFileDescriptors < 0 || maxFileDescriptors >= needed) {
                return this;
            }
            long available = Math.max(3, maxFileDescriptors - RESERVED_FILE_DESCRIPTORS);
            int inFlight = (int) Math.max(1, Math.min(maxInFlight, available / 3));
            // hardLimit() is the cap plus a tenth (at least 64) for connections being refused.
            int maxConnections = (int) Math.max(1, Math.min(connections.maxConnections(),
                    Math.min((available - inFlight) * 10 / 11, available - inFlight - 64)));
            return withConnections(new ConnectionLimits(maxConnections, connections.headerTimeout(),
                    connections.idleTimeout(), connections.retryAfter())).withMaxInFlight(inFlight);
        }

        static Edge resolve(KeypoolConfig config) {
            ConnectionLimits connections = new ConnectionLimits(
                    Settings.positiveInt(config, "KEYPOOL_MAX_CONNECTIONS", DEFAULT_MAX_CONNECTIONS),
                    Settings.seconds(config, "KEYPOOL_HEADER_TIMEOUT_SECONDS", DEFAULT_HEADER_TIMEOUT),
                    Settings.seconds(config, "KEYPOOL_IDLE_TIMEOUT_SECONDS", DEFAULT_IDLE_TIMEOUT),
                    RETRY_AFTER);
            int maxInFlight = Settings.positiveInt(config, "KEYPOOL_MAX_IN_FLIGHT", DEFAULT_MAX_IN_FLIGHT);
            return new Edge(connections, maxInFlight,
                    Settings.positiveLong(config, "KEYPOOL_MAX_BODY_BYTES_IN_FLIGHT", DEFAULT_MAX_BODY_BYTES_IN_FLIGHT),
                    allowedHosts(config.setting("KEYPOOL_ALLOWED_HOSTS")), corsOrigins(config.setting("KEYPOOL_CORS_ORIGINS")));
        }

        /** {@code name} or {@code name:port}; an IPv6 address in brackets. */
        static List<String> allowedHosts(String value) {
            List<String> hosts = new ArrayList<>();
            for (String entry : items(value)) {
                String host = entry.toLowerCase(Locale.ROOT);
                if (!host.matches("(\\[[0-9a-f:.]+\\]|[a-z0-9._-]+)(:[0-9]{1,5})?")) {
                    throw new ConfigException("KEYPOOL_ALLOWED_HOSTS", "expected host names such as keypool.internal or"
                            + " keypool.internal:8080 (no scheme, path or wildcard), got '" + entry + "'");
                }
                hosts.add(host);
            }
            return hosts;
        }

        /** {@code http://host[:port]} or {@code https://…}, as a browser sends it in {@code Origin}. */
        static List<String> corsOrigins(String value) {
            List<String> origins = new ArrayList<>();
            for (String entry : items(value)) {
                String origin = entry.toLowerCase(Locale.ROOT);
                if (origin.endsWith("/")) {
                    origin = origin.substring(0, origin.length() - 1);
                }
                if (!validOrigin(origin)) {
                    throw new ConfigException("KEYPOOL_CORS_ORIGINS", "expected origins such as https://app.example.com"
                            + " or http://localhost:3000 (a scheme and a host, no path, no wildcard), got '" + entry + "'");
                }
                origins.add(origin);
            }
            return origins;
        }

        private static boolean validOrigin(String origin) {
            try {
                URI uri = new URI(origin);
                return ("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) && uri.getHost() != null
                        && uri.getRawPath().isEmpty() && uri.getRawQuery() == null && uri.getRawFragment() == null
                        && uri.getRawUserInfo() == null;
            } catch (URISyntaxException e) {
                return false;
            }
        }

        private static List<String> items(String value) {
            List<String> items = new ArrayList<>();
            if (value != null) {
                for (String item : value.split(",")) {
                    if (!item.isBlank()) {
                        items.add(item.trim());
                    }
                }
            }
            return items;
        }
    }

    /** The levels {@code KEYPOOL_LOG_LEVEL} may name. */
    static final Set<String> LOG_LEVELS = Set.of("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF");

    /** {@link ResilientRedisUsageStore#DEFAULT_INSTANCES}. */
    public static final int DEFAULT_INSTANCES = ResilientRedisUsageStore.DEFAULT_INSTANCES;

    /** The settings of {@code drainTimeout} with {@link #DEFAULT_INSTANCES} and the default {@link Edge}. */
    public ServerSettings(String host, int port, String adminToken, boolean adminTokenGenerated,
            List<String> clientTokens, long maxBodyBytes, boolean allowPublic, boolean demo, Path dataDir,
            Duration drainTimeout) {
        this(host, port, adminToken, adminTokenGenerated, clientTokens, maxBodyBytes, allowPublic, demo, dataDir,
                drainTimeout, DEFAULT_INSTANCES, Edge.defaults(), List.of());
    }

    /** 4 MiB: room for long chat histories, small enough to refuse a runaway upload early. */
    public static final long DEFAULT_MAX_BODY_BYTES = 4L * 1024 * 1024;

    /** Long enough for a streamed completion to finish, short of a supervisor's kill timeout. */
    public static final Duration DEFAULT_DRAIN = Duration.ofSeconds(30);

    public ServerSettings {
        clientTokens = List.copyOf(clientTokens);
        Objects.requireNonNull(edge, "edge");
        alertWebhooks = List.copyOf(alertWebhooks);
    }

    /**
     * The {@code KEYPOOL_*} variables the gateway process reads (see
     * {@link dev.keypool.config.KnownSettings}); {@code KEYPOOL_JAVA_OPTS} is the {@code ./keypool}
     * launcher's.
     */
    public static final Set<String> SETTINGS = Set.of("KEYPOOL_HOST", "KEYPOOL_PORT", "KEYPOOL_ADMIN_TOKEN",
            "KEYPOOL_CLIENT_TOKENS", "KEYPOOL_MAX_BODY_BYTES", "KEYPOOL_ALLOW_PUBLIC", "KEYPOOL_DRAIN_SECONDS",
            "KEYPOOL_LOG_LEVEL", "KEYPOOL_MAX_CONNECTIONS",
            "KEYPOOL_HEADER_TIMEOUT_SECONDS", "KEYPOOL_IDLE_TIMEOUT_SECONDS", "KEYPOOL_MAX_IN_FLIGHT",
            "KEYPOOL_MAX_BODY_BYTES_IN_FLIGHT", "KEYPOOL_ALLOWED_HOSTS", "KEYPOOL_CORS_ORIGINS", "KEYPOOL_ALERT_WEBHOOK_URL",
            "KEYPOOL_JAVA_OPTS");

    /** Every module's {@code KEYPOOL_*} variables on the gateway's path. */
    static final List<Set<String>> ALL_SETTINGS = List.of(EnvConfigLoader.SETTINGS, ProviderSettings.SETTINGS,
            RedisStoreConfig.SETTINGS, SETTINGS);

    /** Where the gateway listens unless {@code KEYPOOL_HOST} or {@code --host} says otherwise. */
    public static final String DEFAULT_HOST = "127.0.0.1";

    /** The port unless {@code KEYPOOL_PORT} or {@code --port} says otherwise. */
    public static final int DEFAULT_PORT = 8080;

    static ServerSettings resolve(KeypoolConfig config, CommandLine commandLine) {
        KnownSettings.requireKnown(config.settingNames(), ALL_SETTINGS);
        RedisStoreConfig.url(config); // refused here, before anything starts, when it is not a Redis URL
        String configured = Settings.text(config, "KEYPOOL_ADMIN_TOKEN");
        String adminToken = configured != null ? configured : generateToken();
        boolean allowPublic = commandLine.allowPublic() || Settings.flag(config, "KEYPOOL_ALLOW_PUBLIC", false);
        String port = Settings.text(config, "KEYPOOL_PORT");
        return new ServerSettings(
                commandLine.host() != null ? commandLine.host().trim() : Settings.text(config, "KEYPOOL_HOST", DEFAULT_HOST),
                commandLine.port() != null ? commandLine.port()
                        : port == null ? DEFAULT_PORT : Settings.port("KEYPOOL_PORT", port),
                adminToken, configured == null,
                clientTokens(config),
                Settings.positiveLong(config, "KEYPOOL_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES),
                allowPublic, commandLine.demo(),
                config.dataDir() != null ? config.dataDir() : Path.of("data"),
                Settings.seconds(config, "KEYPOOL_DRAIN_SECONDS", DEFAULT_DRAIN),
                ResilientRedisUsageStore.instances(config),
                Edge.resolve(config),
                WebhookDelivery.targets(config.setting("KEYPOOL_ALERT_WEBHOOK_URL")));
    }

    /** {@code KEYPOOL_CLIENT_TOKENS}: comma-separated; none when unset. */
    static List<String> clientTokens(KeypoolConfig config) {
        String tokens = Settings.text(config, "KEYPOOL_CLIENT_TOKENS");
        return tokens == null ? List.of() : Settings.list("KEYPOOL_CLIENT_TOKENS", tokens);
    }

    public ServerSettings withMaxBodyBytes(long maxBodyBytes) {
        return new ServerSettings(host, port, adminToken, adminTokenGenerated, clientTokens, maxBodyBytes, allowPublic,
                demo, dataDir, drainTimeout, instances, edge, alertWebhooks);
    }

    public ServerSettings withAlertWebhooks(List<URI> alertWebhooks) {
        return new ServerSettings(host, port, adminToken, adminTokenGenerated, clientTokens, maxBodyBytes, allowPublic,
                demo, dataDir, drainTimeout, instances, edge, alertWebhooks);
    }

    public ServerSettings withEdge(Edge edge) {
        return new ServerSettings(host, port, adminToken, adminTokenGenerated, clientTokens, maxBodyBytes, allowPublic,
                demo, dataDir, drainTimeout, instances, edge, alertWebhooks);
    }

    /**
     * {@code KEYPOOL_LOG_LEVEL} from the environment or the {@code .env} file, upper case, or
     * {@code null} when unset.
     *
     * @throws ConfigException naming the variable when it is not a level
     */
    static String logLevel(KeypoolConfig config) {
        String value = config.setting("KEYPOOL_LOG_LEVEL");
        if (value == null || value.isBlank()) {
            return null;
        }
        String level = value.trim().toUpperCase(Locale.ROOT);
        if (!LOG_LEVELS.contains(level)) {
            throw new ConfigException("KEYPOOL_LOG_LEVEL", "must be one of TRACE, DEBUG, INFO, WARN, ERROR, OFF, was '"
                    + value.trim() + "'");
        }
        return level;
    }

    /**
     * Refuses to listen beyond this machine while anyone who reaches the port could spend the
     * pooled keys: a non-loopback address needs client tokens or an explicit allowance.
     *
     * @throws ConfigException naming {@code KEYPOOL_HOST}
     */
    void checkExposure() {
        if (!clientTokens.isEmpty() || allowPublic || isLoopback(host)) {
            return;
        }
        throw new ConfigException("KEYPOOL_HOST", "refusing to listen on " + host
                + ", which is reachable from other machines, without KEYPOOL_CLIENT_TOKENS: anyone who can reach"
                + " it could spend your keys. Set KEYPOOL_CLIENT_TOKENS, or pass --allow-public"
                + " (KEYPOOL_ALLOW_PUBLIC=true) if something in front of keypool authenticates callers.");
    }

    static boolean isLoopback(String host) {
        try {
            return InetAddress.getByName(host).isLoopbackAddress();
        } catch (UnknownHostException e) {
            throw new ConfigException("KEYPOOL_HOST", "cannot resolve '" + host + "'");
        }
    }

    private static String generateToken() {
        byte[] bytes = new byte[24];
        new SecureRandom().nextBytes(bytes);
        return "kpa-" + Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

}
