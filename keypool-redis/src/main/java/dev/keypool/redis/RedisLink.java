package dev.keypool.redis;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.Delay;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * The connection a store talks to Redis on, and what was opened for it (and so is closed with it).
 *
 * <p>A Redis that cannot be reached when the store is built is not an error: the store is built
 * without a connection, every call throws {@link RedisUnavailableException} at once, and the
 * connection is tried again at most once per {@link #RECONNECT_DELAY_CAP}, on the call that finds
 * it due, waiting at most the command timeout. Once connected, Lettuce reconnects by itself and,
 * while it does, rejects commands at once instead of queueing them.
 */
final class RedisLink implements AutoCloseable {

    /**
     * The longest wait between connection attempts, so that a store is back on Redis within about
     * this long of its return.
     */
    static final Duration RECONNECT_DELAY_CAP = Duration.ofSeconds(1);

    private final ClientResources ownedResources;
    private final RedisClient client;
    private final boolean ownsClient;
    private final boolean ownsConnection;
    private final String where;
    private volatile StatefulRedisConnection<String, String> connection;
    private long nextAttemptNanos;
    private boolean closed;
    private volatile Runnable onConnect = () -> { };

    private RedisLink(ClientResources ownedResources, RedisClient client, boolean ownsClient,
            StatefulRedisConnection<String, String> connection, boolean ownsConnection, String where) {
        this.ownedResources = ownedResources;
        this.client = client;
        this.ownsClient = ownsClient;
        this.connection = connection;
        this.ownsConnection = ownsConnection;
        this.where = where;
    }

    /** A client of its own on {@code redisUrl}; connects now if it can. */
    static RedisLink open(String redisUrl, RedisStoreConfig config) {
        Objects.requireNonNull(config, "config");
        RedisURI uri = parse(redisUrl);
        uri.setTimeout(config.commandTimeout());
        ClientResources resources = ClientResources.builder()
                .reconnectDelay(Delay.exponential(Duration.ofMillis(10), RECONNECT_DELAY_CAP, 2, TimeUnit.MILLISECONDS))
                .build();
        RedisClient client = RedisClient.create(resources, uri);
        client.setOptions(ClientOptions.builder()
                .autoReconnect(true)
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .socketOptions(SocketOptions.builder().connectTimeout(config.commandTimeout()).build())
                .build());
        RedisLink link = new RedisLink(resources, client, true, null, true, uri.getHost() + ":" + uri.getPort());
        link.tryConnect();
        return link;
    }

    /** Its own connection on the caller's {@code client}, which the caller closes; connects now if it can. */
    static RedisLink on(RedisClient client) {
        RedisLink link = new RedisLink(null, Objects.requireNonNull(client, "client"), false, null, true, "Redis");
        link.tryConnect();
        return link;
    }

    /** The caller's connection, which the caller closes. */
    static RedisLink using(StatefulRedisConnection<String, String> connection) {
        return new RedisLink(null, null, false, Objects.requireNonNull(connection, "connection"), false, "Redis");
    }

    /** Runs {@code action} after each connection this link makes (loading scripts). */
    void onConnect(Runnable action) {
        this.onConnect = Objects.requireNonNull(action, "action");
    }

    /** The commands of the connection, connecting first if it is time to try. */
    RedisAsyncCommands<String, String> commands() {
        StatefulRedisConnection<String, String> current = connection;
        if (current == null) {
            current = connect();
        }
        return current.async();
    }

    /** Whether the connection is up now (calls may still time out). */
    boolean isConnected() {
        StatefulRedisConnection<String, String> current = connection;
        return current != null && current.isOpen();
    }

    private void tryConnect() {
        try {
            connect();
        } catch (RedisUnavailableException e) {
            // Not an error: the store serves without Redis (or says it cannot) and tries again.
        }
    }

    private StatefulRedisConnection<String, String> connect() {
        StatefulRedisConnection<String, String> made;
        synchronized (this) {
            if (connection != null) {
                return connection;
            }
            if (client == null || closed) {
                throw new RedisUnavailableException("The connection to Redis was closed", null);
            }
            long now = System.nanoTime();
            if (nextAttemptNanos != 0 && now - nextAttemptNanos < 0) {
                throw new RedisUnavailableException("Cannot connect to " + where + "; trying again within "
                        + RECONNECT_DELAY_CAP.toMillis() + " ms", null);
            }
            nextAttemptNanos = now + RECONNECT_DELAY_CAP.toNanos();
            try {
                made = client.connect();
            } catch (RedisException e) {
                throw new RedisUnavailableException("Cannot connect to " + where + ": " + e.getMessage(), e);
            }
            connection = made;
        }
        onConnect.run();
        return made;
    }

    @Override
    public void close() {
        StatefulRedisConnection<String, String> current;
        synchronized (this) {
            current = connection;
            connection = null;
            closed = true;
        }
        if (current != null && ownsConnection) {
            current.close();
        }
        if (ownsClient) {
            client.shutdown();
        }
        if (ownedResources != null) {
            ownedResources.shutdown();
        }
    }

    /** Never echoes the URL: it may hold a password. */
    private static RedisURI parse(String redisUrl) {
        if (redisUrl == null || redisUrl.isBlank()) {
            throw new IllegalArgumentException("redisUrl must not be blank");
        }
        try {
            return RedisURI.create(redisUrl.trim());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "redisUrl is not a Redis URL (redis://[[user]:password@]host[:port][/database])");
        }
    }
}
