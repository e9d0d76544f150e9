package dev.keypool.server;

import dev.keypool.event.KeyEvent;
import dev.keypool.event.KeyEventListener;
import java.util.Optional;

/**
 * Remembers, per thread, the key this thread acquired last. A streamed answer's headers must go out
 * with its first text, before the library returns the result that names the key; the provider
 * clients acquire the key and deliver the text on the caller's thread, so the last key this thread
 * acquired is the one that is streaming. No acquisition since {@link #clear()} means a keyless
 * provider (Ollama) is answering.
 */
final class AcquisitionTracker implements KeyEventListener {

    private final ThreadLocal<KeyEvent.KeyAcquired> last = new ThreadLocal<>();

    @Override
    public void onEvent(KeyEvent event) {
        if (event instanceof KeyEvent.KeyAcquired acquired) {
            last.set(acquired);
        }
    }

    void clear() {
        last.remove();
    }

    Optional<KeyEvent.KeyAcquired> last() {
        return Optional.ofNullable(last.get());
    }
}
