package dev.keypool.providers.fake;

/**
 * The token count a fake reports where the test scripted none (embeddings, token counts, cache sizes):
 * about four characters a token, as the providers' own rules of thumb say. Deterministic, so a test
 * can predict it; never meant to match a real tokenizer.
 */
final class Tokens {

    private Tokens() {
    }

    static int estimate(String text) {
        return text == null || text.isEmpty() ? 0 : Math.max(1, (text.length() + 3) / 4);
    }
}
