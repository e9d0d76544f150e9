package dev.keypool.config;

/**
 * The one way a key is shown anywhere: its first and last four characters around an ellipsis
 * ({@code sk-p…key1}). Shorter keys show less; real provider keys are 30 to 160 characters, so
 * the mask shows a small, recognisable fraction of them.
 */
public final class KeyMask {

    private static final char ELLIPSIS = '\u2026';

    private KeyMask() {
    }

    public static String mask(String secret) {
        if (secret == null || secret.isEmpty()) {
            return "";
        }
        int length = secret.length();
        if (length >= 12) {
            return secret.substring(0, 4) + ELLIPSIS + secret.substring(length - 4);
        }
        if (length >= 8) {
            return secret.substring(0, 2) + ELLIPSIS + secret.substring(length - 2);
        }
        return String.valueOf(ELLIPSIS);
    }

    /** Replaces every occurrence of {@code secret} in {@code text} with its mask. */
    public static String scrub(String text, String secret) {
        if (text == null || secret == null || secret.isEmpty() || !text.contains(secret)) {
            return text;
        }
        return text.replace(secret, mask(secret));
    }
}
