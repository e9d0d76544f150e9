package dev.keypool.providers.fake;

import java.util.concurrent.ThreadLocalRandom;

/** Random identifiers in the alphabets the providers use for theirs. */
final class Ids {

    private static final String ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    private static final String LOWER = "abcdefghijklmnopqrstuvwxyz0123456789";
    private static final String HEX = "0123456789abcdef";

    private Ids() {
    }

    /** Letters of both cases and digits ({@code chatcmpl-…}, {@code call_…}). */
    static String alnum(int length) {
        return pick(ALNUM, length);
    }

    /** Lower-case letters and digits (Ollama's {@code call_…}, Gemini's cache names). */
    static String lower(int length) {
        return pick(LOWER, length);
    }

    /** Lower-case hexadecimal ({@code resp_…}, {@code req_…}, SerpApi's search ids). */
    static String hex(int length) {
        return pick(HEX, length);
    }

    private static String pick(String alphabet, int length) {
        StringBuilder id = new StringBuilder(length);
        for (int i = 0; i < length; i++) {
            id.append(alphabet.charAt(ThreadLocalRandom.current().nextInt(alphabet.length())));
        }
        return id.toString();
    }
}
