package dev.keypool.config;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Objects;

/**
 * A SHA-256 digest of one provider's API key, which stores turn into the key's fingerprint with a
 * secret of their own ({@code dev.keypool.usage.KeyFingerprinter}). It lets a store name a key by
 * its identity without ever being handed the key; it is kept in memory only, never written, and
 * its {@link #toString()} shows no byte of it.
 */
public final class SecretDigest {

    private final Provider provider;
    private final byte[] bytes;

    private SecretDigest(Provider provider, byte[] bytes) {
        this.provider = provider;
        this.bytes = bytes;
    }

    /** The digest of {@code secret} as a key of {@code provider}: the same key of two providers differs. */
    public static SecretDigest of(Provider provider, String secret) {
        Objects.requireNonNull(provider, "provider");
        if (secret == null || secret.isEmpty()) {
            throw new IllegalArgumentException("secret must not be empty");
        }
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(provider.id().getBytes(StandardCharsets.UTF_8));
            sha.update((byte) '\n');
            return new SecretDigest(provider, sha.digest(secret.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("The JDK has no SHA-256", e);
        }
    }

    public Provider provider() {
        return provider;
    }

    /** A copy of the 32 bytes. */
    public byte[] toBytes() {
        return bytes.clone();
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof SecretDigest that && provider == that.provider && Arrays.equals(bytes, that.bytes);
    }

    @Override
    public int hashCode() {
        return 31 * provider.hashCode() + Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        return "SecretDigest[" + provider.id() + "]";
    }
}
