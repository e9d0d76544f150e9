package dev.keypool.rotation;

import dev.keypool.event.LoggingKeyEventListener;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one holder of keypool's process-wide instances, behind the seed's
 * {@code get_api_key_rotator()} ({@link ApiKeyRotator#getApiKeyRotator()}) and
 * {@code get_llm_service()} ({@code LlmService.getLlmService()}): the rotator, and every instance
 * built on it. Installing another rotator, or {@link #reset()}, drops (and closes) what was built on
 * the old one, so the process-wide services always run on the process-wide rotator; three
 * singletons that each kept their own could disagree after {@link ApiKeyRotator#setApiKeyRotator}.
 *
 * <p>Reads are one volatile read of an immutable snapshot; changes are serialised.
 */
public final class ProcessWide {

    private static final Logger LOG = LoggerFactory.getLogger(ProcessWide.class);

    private record State(ApiKeyRotator rotator, Map<Class<?>, Object> built) {
    }

    private static volatile State state = new State(null, Map.of());

    private ProcessWide() {
    }

    /**
     * The process-wide rotator: the one installed, else one built on first use from the
     * environment and {@code ./.env}, on the in-memory store, logging its events and maintaining
     * its keys every second.
     */
    static ApiKeyRotator rotator() {
        ApiKeyRotator rotator = state.rotator();
        if (rotator != null) {
            return rotator;
        }
        synchronized (ProcessWide.class) {
            return ensureRotator();
        }
    }

    /** Holding the lock. */
    private static ApiKeyRotator ensureRotator() {
        if (state.rotator() == null) {
            ApiKeyManager manager = ApiKeyManager.fromEnvironment();
            manager.events().addListener(new LoggingKeyEventListener());
            manager.startMaintenance(Duration.ofSeconds(1));
            state = new State(new ApiKeyRotator(manager), Map.of());
        }
        return state.rotator();
    }

    /** Installs {@code rotator} (or, {@code null}, none), closing what was built on the previous one. */
    static void install(ApiKeyRotator rotator) {
        State before;
        synchronized (ProcessWide.class) {
            before = state;
            if (before.rotator() == rotator) {
                return;
            }
            state = new State(rotator, Map.of());
        }
        before.built().values().forEach(ProcessWide::close);
    }

    /** Drops the process-wide rotator and everything built on it; the next use builds them afresh. */
    public static void reset() {
        install(null);
    }

    /**
     * The process-wide instance of {@code type}, built once on the process-wide rotator by
     * {@code build}, and again after another rotator is installed.
     */
    public static <T> T get(Class<T> type, Function<ApiKeyRotator, T> build) {
        Object existing = state.built().get(type);
        if (existing != null) {
            return type.cast(existing);
        }
        synchronized (ProcessWide.class) {
            ApiKeyRotator rotator = ensureRotator();
            Object built = state.built().get(type);
            if (built == null) {
                built = build.apply(rotator);
                Map<Class<?>, Object> next = new HashMap<>(state.built());
                next.put(type, built);
                state = new State(rotator, Map.copyOf(next));
            }
            return type.cast(built);
        }
    }

    private static void close(Object instance) {
        if (instance instanceof AutoCloseable closeable) {
            try {
                closeable.close();
            } catch (Exception e) {
                LOG.warn("Could not close the process-wide {}", instance.getClass().getSimpleName(), e);
            }
        }
    }
}
