package dev.keypool.config;

import java.util.Objects;

/**
 * Names one key of one provider by its position in {@code {P}_API_KEYS}, the index its
 * {@code {P}_MODEL_i} and limit variables use. Safe to log: it carries no secret.
 *
 * <p>It is this process's handle on a key and what is shown (the status's {@code index}, metrics
 * labels, {@code x-keypool-key-index}); stores keep usage and state under the key's fingerprint
 * instead ({@code UsageStore#register}), so that reordering {@code .env} changes nothing.
 */
public record KeyId(Provider provider, int index) implements Comparable<KeyId> {

    public KeyId {
        Objects.requireNonNull(provider, "provider");
        if (index < 0) {
            throw new IllegalArgumentException("index must be >= 0, was " + index);
        }
    }

    public static KeyId of(Provider provider, int index) {
        return new KeyId(provider, index);
    }

    @Override
    public int compareTo(KeyId other) {
        int byProvider = provider.compareTo(other.provider);
        return byProvider != 0 ? byProvider : Integer.compare(index, other.index);
    }

    @Override
    public String toString() {
        return provider.id() + "#" + index;
    }
}
