package dev.keypool.testing;

import java.util.ArrayDeque;
import java.util.Deque;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * What a test started and must stop (fake providers, pools, gateways), closed after each test, the
 * last added first: a pool before the fakes it calls. Registered as an instance field, declared
 * before the fields it closes:
 *
 * <pre>{@code
 * @RegisterExtension
 * final CloseAfterEach closing = new CloseAfterEach();
 * private final FakeOpenAi openai = closing.add(FakeOpenAi.start());
 * }</pre>
 *
 * Everything added is closed even when closing one fails; the first failure is thrown, the others
 * suppressed in it.
 */
public final class CloseAfterEach implements AfterEachCallback {

    private final Deque<AutoCloseable> open = new ArrayDeque<>();

    /** Closes {@code resource} after the test; returns it. */
    public synchronized <T extends AutoCloseable> T add(T resource) {
        open.push(resource);
        return resource;
    }

    @Override
    public void afterEach(ExtensionContext context) throws Exception {
        Exception failure = null;
        AutoCloseable next;
        while ((next = poll()) != null) {
            try {
                next.close();
            } catch (Exception e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    private synchronized AutoCloseable poll() {
        return open.poll();
    }
}
