package dev.keypool.redis.testing;

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
 * Tests keep apart by giving each store its own key prefix, not by flushing.
 */
public final class RedisServerExtension implements BeforeAllCallback {

    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(RedisServerExtension.class);

    private volatile RedisServer server;

    @Override
    public void beforeAll(ExtensionContext context) {
        server = context.getRoot().getStore(NAMESPACE)
                .getOrComputeIfAbsent(RedisServer.class, type -> RedisServer.start(), RedisServer.class);
    }

    public RedisServer server() {
        if (server == null) {
            throw new IllegalStateException("RedisServerExtension must be registered on a static field");
        }
        return server;
    }
}
