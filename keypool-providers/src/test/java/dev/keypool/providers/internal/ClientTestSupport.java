package dev.keypool.providers.internal;

import dev.keypool.providers.ChatMessage;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The HTTP plumbing a client test needs: generous timeouts for ordinary calls (two busy cores must
 * not turn a fast answer into a timeout), and {@link #impatient} for the tests of the timeouts.
 */
final class ClientTestSupport implements AutoCloseable {

    final Upstream upstream = new Upstream(Duration.ofSeconds(10), Duration.ofSeconds(10));
    /** Gives up after 300 ms without an answer, or 300 ms of silence in a stream. */
    final Upstream impatient = new Upstream(Duration.ofMillis(300), Duration.ofMillis(300));
    final List<RateLimitSnapshot> observed = new CopyOnWriteArrayList<>();

    UpstreamCall call(String key, String model, int maxTokens, Map<String, Object> extra) {
        return new UpstreamCall(key, model, List.of(ChatMessage.system("You are terse."),
                ChatMessage.user("Say this is a test!")), 0.7, maxTokens, extra, observed::add);
    }

    @Override
    public void close() {
        upstream.close();
        impatient.close();
    }
}
