package dev.keypool.event;

import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The listeners of one pool. Publishing costs one volatile read when nobody listens: callers pass
 * a supplier, and the event is not built at all then.
 */
public final class KeyEvents {

    private static final Logger LOG = LoggerFactory.getLogger(KeyEvents.class);

    private final List<KeyEventListener> listeners = new CopyOnWriteArrayList<>();
    private volatile boolean hasListeners;

    public void addListener(KeyEventListener listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
        hasListeners = true;
    }

    public void removeListener(KeyEventListener listener) {
        listeners.remove(listener);
        hasListeners = !listeners.isEmpty();
    }

    public boolean hasListeners() {
        return hasListeners;
    }

    /** Builds the event only if someone listens, then hands it to every listener. */
    public void publish(Supplier<? extends KeyEvent> event) {
        if (!hasListeners) {
            return;
        }
        KeyEvent built = event.get();
        for (KeyEventListener listener : listeners) {
            try {
                listener.onEvent(built);
            } catch (RuntimeException e) {
                // A broken consumer (a metrics bug, a full feed) must never fail the request it observes.
                LOG.warn("Key event listener {} failed on {}", listener, built.type(), e);
            }
        }
    }
}
