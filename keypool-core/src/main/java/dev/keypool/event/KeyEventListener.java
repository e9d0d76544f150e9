package dev.keypool.event;

/** Receives key events, on the thread that caused them: it must be quick and must not block. */
@FunctionalInterface
public interface KeyEventListener {

    void onEvent(KeyEvent event);
}
