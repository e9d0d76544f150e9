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
 */
public record KeyConfig(KeyId id, String secret, String model, WindowLimits limits) {

    public KeyConfig {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(limits, "limits");
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
        return "KeyConfig[" + id + ", key=" + maskedKey() + ", model=" + model + ", " + limits + "]";
    }
}
