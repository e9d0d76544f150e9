package dev.keypool.config;

import java.util.Objects;

/**
 * One configured API key: the secret, its default model and its two limits.
 *
 * <p>{@link #toString()} masks the secret; {@link #secret()} is the only way to the full key and
 * is meant for the line of code that puts it on the wire.
 *
 * @param id             which key this is
 * @param secret         the full API key; never logged
 * @param model          the model configured for this key ({@code {P}_MODEL_i}), or {@code null}
 * @param limits         the per-minute and per-day token limits
 * @param maxConcurrent  the most requests in flight on this key at once in this process
 *                       ({@code {P}_MAX_CONCURRENT_i}), or {@link #UNCAPPED}
 * @param weight         its share under the weighted strategy ({@code {P}_WEIGHT_i}), default 1
 */
public record KeyConfig(KeyId id, String secret, String model, WindowLimits limits, int maxConcurrent, int weight) {

    /** {@link #maxConcurrent()} of a key with no cap on requests in flight. */
    public static final int UNCAPPED = 0;

    /** A key with no cap on requests in flight and weight 1. */
    public KeyConfig(KeyId id, String secret, String model, WindowLimits limits) {
        this(id, secret, model, limits, UNCAPPED, 1);
    }

    public KeyConfig {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(limits, "limits");
        if (maxConcurrent < 0) {
            throw new IllegalArgumentException("maxConcurrent of " + id + " must be positive (or 0 for no cap), was "
                    + maxConcurrent);
        }
        if (weight <= 0) {
            throw new IllegalArgumentException("weight of " + id + " must be positive, was " + weight);
        }
        if (secret == null || secret.isBlank()) {
            throw new IllegalArgumentException("secret of " + id + " must not be blank");
        }
        if (model != null && model.isBlank()) {
            model = null;
        }
    }

    public Provider provider() {
        return id.provider();
    }

    public int index() {
        return id.index();
    }

    /** Whether requests in flight on this key are capped ({@link #maxConcurrent()}). */
    public boolean capped() {
        return maxConcurrent != UNCAPPED;
    }

    /** The digest a store turns into the key's fingerprint: usage and state belong to it, not to the index. */
    public SecretDigest secretDigest() {
        return SecretDigest.of(id.provider(), secret);
    }

    /** The key as it may be shown: {@code sk-p…key1}. */
    public String maskedKey() {
        return KeyMask.mask(secret);
    }

    @Override
    public String toString() {
        return "KeyConfig[" + id + ", key=" + maskedKey() + ", model=" + model + ", " + limits
                + (capped() ? ", maxConcurrent=" + maxConcurrent : "") + (weight != 1 ? ", weight=" + weight : "") + "]";
    }
}
