package dev.keypool.usage;

import dev.keypool.config.SecretDigest;
import java.security.InvalidKeyException;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Objects;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Turns the digest of an API key into its {@link KeyFingerprint}: HMAC-SHA-256 under a secret the
 * store keeps beside its state (a file in the data directory, a value in Redis), truncated to 128
 * bits. Without that secret nobody can test a guessed key against a fingerprint; with it, the
 * same key always has the same fingerprint, whatever its position in {@code .env} and whichever
 * instance asks.
 */
public final class KeyFingerprinter {

    /** The length of a store secret, in bytes. */
    public static final int SECRET_BYTES = 32;

    /** The length of a fingerprint, in hex digits (128 bits). */
    public static final int HEX_LENGTH = 32;

    private static final SecureRandom RANDOM = new SecureRandom();

    private final SecretKeySpec secret;

    private KeyFingerprinter(byte[] secret) {
        this.secret = new SecretKeySpec(secret, "HmacSHA256");
    }

    /** A fingerprinter under {@code secret} ({@link #SECRET_BYTES} bytes). */
    public static KeyFingerprinter of(byte[] secret) {
        Objects.requireNonNull(secret, "secret");
        if (secret.length != SECRET_BYTES) {
            throw new IllegalArgumentException("a store secret is " + SECRET_BYTES + " bytes, was " + secret.length);
        }
        return new KeyFingerprinter(secret.clone());
    }

    /** A fingerprinter under a fresh secret, for a store whose state ends with the process. */
    public static KeyFingerprinter random() {
        return new KeyFingerprinter(newSecret());
    }

    /** {@link #SECRET_BYTES} random bytes for a new store secret. */
    public static byte[] newSecret() {
        byte[] bytes = new byte[SECRET_BYTES];
        RANDOM.nextBytes(bytes);
        return bytes;
    }

    public KeyFingerprint fingerprint(SecretDigest digest) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(secret);
            byte[] hash = mac.doFinal(digest.toBytes());
            return new KeyFingerprint(digest.provider(), HexFormat.of().formatHex(hash, 0, HEX_LENGTH / 2));
        } catch (NoSuchAlgorithmException | InvalidKeyException e) {
            throw new IllegalStateException("The JDK has no usable HmacSHA256", e);
        }
    }

    @Override
    public String toString() {
        return "KeyFingerprinter[HMAC-SHA-256]";
    }
}
