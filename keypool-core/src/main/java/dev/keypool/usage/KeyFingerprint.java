package dev.keypool.usage;

import dev.keypool.config.Provider;
import java.util.Objects;

/**
 * Who a key is, as a store keeps it: its provider and a keyed hash of its secret
 * ({@link KeyFingerprinter}), which cannot be turned back into the key. Safe to log and to show
 * (the status's {@code key_id}); usage and state are stored under it, not under the key's index.
 *
 * @param value 32 lower-case hex digits
 */
public record KeyFingerprint(Provider provider, String value) {

    public KeyFingerprint {
        Objects.requireNonNull(provider, "provider");
        if (value == null || value.length() != KeyFingerprinter.HEX_LENGTH
                || !value.chars().allMatch(c -> (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            throw new IllegalArgumentException("a key fingerprint is " + KeyFingerprinter.HEX_LENGTH
                    + " lower-case hex digits, was '" + value + "'");
        }
    }

    /** {@code openai:3f9a…}: the form files and Redis keep. */
    @Override
    public String toString() {
        return provider.id() + ":" + value;
    }

    /** Reads back {@link #toString()}. */
    public static KeyFingerprint parse(String text) {
        int colon = text == null ? -1 : text.indexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException("not a key fingerprint: '" + text + "'");
        }
        return new KeyFingerprint(Provider.of(text.substring(0, colon)), text.substring(colon + 1));
    }
}
