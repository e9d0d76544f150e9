package dev.keypool.failure;

import java.util.Objects;

/**
 * A call to a provider failed in a way keypool has already classified. Provider clients throw it;
 * {@link FailureClassifier} takes its kind as given instead of guessing from text.
 */
public class UpstreamException extends RuntimeException {

    private final Failure failure;
    private final int status;

    /**
     * @param failure the classified failure; its message becomes this exception's message
     * @param status  the HTTP status the provider answered, or 0 when there was no answer
     */
    public UpstreamException(Failure failure, int status) {
        this(failure, status, null);
    }

    public UpstreamException(Failure failure, int status, Throwable cause) {
        super(Objects.requireNonNull(failure, "failure").message(), cause);
        this.failure = failure;
        this.status = status;
    }

    public Failure failure() {
        return failure;
    }

    public FailureKind kind() {
        return failure.kind();
    }

    /** The provider's HTTP status, or 0 when it never answered. */
    public int status() {
        return status;
    }
}
