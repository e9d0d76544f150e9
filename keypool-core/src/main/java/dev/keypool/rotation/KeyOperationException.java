package dev.keypool.rotation;

/** Wraps a checked exception thrown by a user's operation that keypool did not fail over on. */
public class KeyOperationException extends RuntimeException {

    public KeyOperationException(String message, Throwable cause) {
        super(message, cause);
    }
}
