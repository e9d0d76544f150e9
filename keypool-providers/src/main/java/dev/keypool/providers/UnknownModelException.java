package dev.keypool.providers;

/** No configured provider serves the requested model (a gateway answers 404 {@code model_not_found}). */
public class UnknownModelException extends RuntimeException {

    private final String model;

    public UnknownModelException(String model, String message) {
        super(message);
        this.model = model;
    }

    /** The model as the caller wrote it. */
    public String model() {
        return model;
    }
}
