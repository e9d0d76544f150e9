package dev.keypool.server;

import dev.keypool.config.ConfigException;
import dev.keypool.config.KeypoolConfig;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Locale;

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
 */
public record ServerSettings(String host, int port, String adminToken, boolean adminTokenGenerated,
        List<String> clientTokens, long maxBodyBytes, boolean allowPublic, boolean demo, Path dataDir,
        Duration drainTimeout, int instances) {

    /** Two: the smallest cluster, so that a lone instance that loses Redis errs towards too little. */
    public static final int DEFAULT_INSTANCES = 2;

    /** The settings of {@code drainTimeout} with {@link #DEFAULT_INSTANCES}. */
    public ServerSettings(String host, int port, String adminToken, boolean adminTokenGenerated,
            List<String> clientTokens, long maxBodyBytes, boolean allowPublic, boolean demo, Path dataDir,
            Duration drainTimeout) {
        this(host, port, adminToken, adminTokenGenerated, clientTokens, maxBodyBytes, allowPublic, demo, dataDir,
                drainTimeout, DEFAULT_INSTANCES);
    }

    /** 4 MiB: room for long chat histories, small enough to refuse a runaway upload early. */
    public static final long DEFAULT_MAX_BODY_BYTES = 4L * 1024 * 1024;

    /** Long enough for a streamed completion to finish, short of a supervisor's kill timeout. */
    public static final Duration DEFAULT_DRAIN = Duration.ofSeconds(30);

    public ServerSettings {
        clientTokens = List.copyOf(clientTokens);
    }

    static ServerSettings resolve(KeypoolConfig config, CommandLine commandLine) {
        String configured = config.adminToken();
        String adminToken = configured != null ? configured : generateToken();
        boolean allowPublic = commandLine.allowPublic() || flag(config, "KEYPOOL_ALLOW_PUBLIC");
        return new ServerSettings(
                commandLine.host() != null ? commandLine.host().trim() : config.host(),
                commandLine.port() != null ? commandLine.port() : config.port(),
                adminToken, configured == null, config.clientTokens(),
                positive(config, "KEYPOOL_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES),
                allowPublic, commandLine.demo(),
                config.dataDir() != null ? config.dataDir() : Path.of("data"),
                Duration.ofSeconds(positive(config, "KEYPOOL_DRAIN_SECONDS", DEFAULT_DRAIN.toSeconds())),
                (int) Math.min(Integer.MAX_VALUE, positive(config, "KEYPOOL_INSTANCES", DEFAULT_INSTANCES)));
    }

    public ServerSettings withMaxBodyBytes(long maxBodyBytes) {
        return new ServerSettings(host, port, adminToken, adminTokenGenerated, clientTokens, maxBodyBytes, allowPublic,
                demo, dataDir, drainTimeout, instances);
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

    private static boolean flag(KeypoolConfig config, String name) {
        String value = config.setting(name);
        if (value == null || value.isBlank()) {
            return false;
        }
        return switch (value.trim().toLowerCase(Locale.ROOT)) {
            case "true", "1", "yes" -> true;
            case "false", "0", "no" -> false;
            default -> throw new ConfigException(name, "must be true or false, was '" + value.trim() + "'");
        };
    }

    private static long positive(KeypoolConfig config, String name, long fallback) {
        String value = config.setting(name);
        if (value == null || value.isBlank()) {
            return fallback;
        }
        try {
            long parsed = Long.parseLong(value.trim());
            if (parsed > 0) {
                return parsed;
            }
        } catch (NumberFormatException e) {
            // reported below, with the variable's name
        }
        throw new ConfigException(name, "must be a positive integer, was '" + value.trim() + "'");
    }
}
