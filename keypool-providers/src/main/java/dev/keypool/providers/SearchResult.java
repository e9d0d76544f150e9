package dev.keypool.providers;

/**
 * SerpApi's answer to one search.
 *
 * @param status    SerpApi's HTTP status (200)
 * @param body      SerpApi's JSON, verbatim (an empty search is a 200 whose body holds an {@code error})
 * @param keyIndex  the SERP key that paid for it
 * @param maskedKey that key masked
 */
public record SearchResult(int status, String body, int keyIndex, String maskedKey) {
}
