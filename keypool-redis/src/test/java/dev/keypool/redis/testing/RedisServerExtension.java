package dev.keypool.redis.testing;

import io.lettuce.core.RedisClient;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Gives a test class the {@link RedisServer} shared by the whole test run: started by the first
 * class that asks, stopped when the run ends. Register it on a static field:
 *
 * <pre>
 * &#64;RegisterExtension
 * static final RedisServerExtension REDIS = new RedisServerExtension();
 * </pre>
 *
 * Tests keep apart by giving each store its own key prefix, not by flushing. {@link #client()} is
 * a Lettuce client for the test class, shut down after it.
 */
public final class RedisServerExtension implements BeforeAllCallback, AfterAllCallback {

    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(RedisServerExtension.class);

    private volatile RedisServer server;
    private volatile RedisClient client;

    @Override
    public void beforeAll(ExtensionContext context) {
        server = context.getRoot().getStore(NAMESPACE)
                .getOrComputeIfAbsent(RedisServer.class, type -> RedisServer.start(), RedisServer.class);
    }

    @Override
    public void afterAll(ExtensionContext context) {
        RedisClient open = client;
        client = null;
        if (open != null) {
            open.shutdown();
        }
    }

    /** A client of the shared server for this test class, created on first use. */
    public synchronized RedisClient client() {
        if (client == null) {
            client = RedisClient.create(server().url());
        }
        return client;
    }

    public RedisServer server() {
        if (server == null) {
            throw new IllegalStateException("RedisServerExtension must be registered on a static field");
        }
        return server;
    }
}
