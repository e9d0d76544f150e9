package dev.keypool.testing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keypool.config.WindowLimits;
import dev.keypool.usage.DayWindow;
import dev.keypool.usage.UsageStore;
import java.time.Instant;
import java.time.ZoneId;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * What a provider received, per key, with when it arrived: the checker of keypool's promise as a
 * provider sees it. In any 60-second span of arrivals, and in any day (of arrivals), a key gets no
 * more tokens than its limit, and no more requests (each arrival is one) than its request limit.
 * A provider counts by arrival, not by when a gateway admitted the
 * request, so the times must be the provider's: a fake upstream's log (its requests with their
 * arrival on the test's clock), or, for a store alone, a moment between a reservation and its
 * settlement ({@link AdmissionLedger}).
 *
 * @param <K> how the test names a key (the key itself for a fake upstream, its id for a store)
 */
public final class ArrivalLedger<K> {

    /** One request that reached the provider, and the tokens the provider counted for it. */
    public record Arrival<K>(K key, long arrivedMillis, long tokens) {
    }

    private final Queue<Arrival<K>> arrivals = new ConcurrentLinkedQueue<>();

    public void arrived(K key, long arrivedMillis, long tokens) {
        arrivals.add(new Arrival<>(key, arrivedMillis, tokens));
    }

    public List<Arrival<K>> arrivals() {
        return List.copyOf(arrivals);
    }

    /** The most tokens {@code key} received in any 60-second span of arrivals. */
    public long mostInAMinute(K key) {
        long[] most = {0};
        forEachMinute(key, (spanStart, tokens, requests) -> most[0] = Math.max(most[0], tokens));
        return most[0];
    }

    /** The most requests {@code key} received in any 60-second span of arrivals. */
    public long mostRequestsInAMinute(K key) {
        long[] most = {0};
        forEachMinute(key, (spanStart, tokens, requests) -> most[0] = Math.max(most[0], requests));
        return most[0];
    }

    /** The most tokens {@code key} received in one day of arrivals (days in {@code zone}). */
    public long mostInADay(K key, ZoneId zone) {
        return perDay(key, zone).values().stream().mapToLong(Long::longValue).max().orElse(0);
    }

    /**
     * For every key in {@code limits}: no 60-second span of arrivals and no day holds more than its
     * limits, of tokens and of requests.
     */
    public void assertNoKeyExceeds(Map<K, WindowLimits> limits, ZoneId zone) {
        limits.forEach((key, limit) -> {
            forEachMinute(key, (spanStart, tokens, requests) -> {
                assertThat(tokens)
                        .as("tokens %s received in the 60 s of arrivals from %s", key, Instant.ofEpochMilli(spanStart))
                        .isLessThanOrEqualTo(limit.perMinute());
                assertThat(requests)
                        .as("requests %s received in the 60 s of arrivals from %s", key, Instant.ofEpochMilli(spanStart))
                        .isLessThanOrEqualTo(limit.requestsPerMinute());
            });
            perDay(key, zone).forEach((day, tokens) -> assertThat(tokens).as("tokens %s received on day %s", key, day)
                    .isLessThanOrEqualTo(limit.perDay()));
            requestsPerDay(key, zone).forEach((day, requests) -> assertThat(requests)
                    .as("requests %s received on day %s", key, day).isLessThanOrEqualTo(limit.requestsPerDay()));
        });
    }

    private Map<Long, Long> requestsPerDay(K key, ZoneId zone) {
        Map<Long, Long> perDay = new TreeMap<>();
        sorted(key).forEach(arrival -> perDay.merge(DayWindow.at(arrival.arrivedMillis(), zone).epochDay(), 1L,
                Long::sum));
        return perDay;
    }

    /** What one 60-second span of arrivals held. */
    @FunctionalInterface
    private interface Span {
        void accept(long spanStart, long tokens, long requests);
    }

    private Map<Long, Long> perDay(K key, ZoneId zone) {
        Map<Long, Long> perDay = new TreeMap<>();
        sorted(key).forEach(arrival -> perDay.merge(DayWindow.at(arrival.arrivedMillis(), zone).epochDay(),
                arrival.tokens(), Long::sum));
        return perDay;
    }

    /** Every 60-second span of {@code key}'s arrivals that starts at an arrival, with its tokens and requests. */
    private void forEachMinute(K key, Span span) {
        List<Arrival<K>> sorted = sorted(key);
        long sum = 0;
        int end = 0;
        for (int start = 0; start < sorted.size(); start++) {
            long spanStart = sorted.get(start).arrivedMillis();
            while (end < sorted.size() && sorted.get(end).arrivedMillis() < spanStart + UsageStore.MINUTE_MILLIS) {
                sum += sorted.get(end).tokens();
                end++;
            }
            span.accept(spanStart, sum, end - start);
            sum -= sorted.get(start).tokens();
        }
    }

    private List<Arrival<K>> sorted(K key) {
        return arrivals.stream().filter(arrival -> arrival.key().equals(key))
                .sorted(Comparator.comparingLong(Arrival::arrivedMillis)).toList();
    }
}
