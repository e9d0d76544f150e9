package dev.keypool.testing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keypool.config.KeyId;
import dev.keypool.config.WindowLimits;
import dev.keypool.usage.DayWindow;
import dev.keypool.usage.Ticket;
import dev.keypool.usage.UsageStore;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Every reservation a concurrency test was granted, with the tokens it finally kept (what it
 * committed; 0 when released or failed; its reservation when it expired), and the checks of keypool's invariants over
 * them: no 60-second span and no day admitted more than a key's limits, and the store holds
 * exactly the committed usage still in its windows.
 *
 * <p>Admission times are the store's own ({@link Ticket#admittedMillis()}), not the moment a
 * thread read the clock: a store may place tokens later than the caller's clock (never earlier).
 */
public final class AdmissionLedger {

    /** One granted reservation and the tokens it kept. */
    public record Grant(Ticket ticket, long finalTokens) {
    }

    private final Queue<Grant> grants = new ConcurrentLinkedQueue<>();

    public void record(Ticket ticket, long finalTokens) {
        grants.add(new Grant(ticket, finalTokens));
    }

    public List<Grant> grants() {
        return List.copyOf(grants);
    }

    public int size() {
        return grants.size();
    }

    /**
     * For every key: in every 60-second span starting at an admission, and in every day, the
     * tokens kept never exceed the key's limits; each ticket's day is the day of its admission.
     */
    public void assertNoOverAdmission(Map<KeyId, WindowLimits> limits, ZoneId zone) {
        for (Map.Entry<KeyId, WindowLimits> entry : limits.entrySet()) {
            List<Grant> ofKey = grants.stream()
                    .filter(grant -> grant.ticket().key().equals(entry.getKey()))
                    .sorted(Comparator.comparingLong(grant -> grant.ticket().admittedMillis()))
                    .toList();
            assertMinuteSpans(entry.getKey(), ofKey, entry.getValue().perMinute());
            assertDays(entry.getKey(), ofKey, entry.getValue().perDay(), zone);
        }
    }

    private static void assertMinuteSpans(KeyId key, List<Grant> sorted, long limit) {
        long sum = 0;
        int end = 0;
        for (int start = 0; start < sorted.size(); start++) {
            long spanStart = sorted.get(start).ticket().admittedMillis();
            while (end < sorted.size()
                    && sorted.get(end).ticket().admittedMillis() < spanStart + UsageStore.MINUTE_MILLIS) {
                sum += sorted.get(end).finalTokens();
                end++;
            }
            assertThat(sum)
                    .as("tokens %s kept in the 60 s from %s", key, java.time.Instant.ofEpochMilli(spanStart))
                    .isLessThanOrEqualTo(limit);
            sum -= sorted.get(start).finalTokens();
        }
    }

    private static void assertDays(KeyId key, List<Grant> grants, long limit, ZoneId zone) {
        Map<Long, Long> perDay = new TreeMap<>();
        for (Grant grant : grants) {
            Ticket ticket = grant.ticket();
            assertThat(ticket.epochDay())
                    .as("day of %s admitted at %s", key, java.time.Instant.ofEpochMilli(ticket.admittedMillis()))
                    .isEqualTo(DayWindow.at(ticket.admittedMillis(), zone).epochDay());
            perDay.merge(ticket.epochDay(), grant.finalTokens(), Long::sum);
        }
        perDay.forEach((day, sum) -> assertThat(sum).as("tokens %s kept on day %s", key, day)
                .isLessThanOrEqualTo(limit));
    }

    /**
     * The minute tokens a bucketed store must report for {@code key} at {@code nowMillis}: tokens
     * admitted in bucket {@code b} count until bucket {@code b + 60 s / width + 1} begins.
     */
    public long expectedMinuteTokens(KeyId key, long nowMillis, long bucketMillis) {
        long oldestLiveBucket = Math.floorDiv(nowMillis, bucketMillis) - UsageStore.MINUTE_MILLIS / bucketMillis;
        return grants.stream()
                .filter(grant -> grant.ticket().key().equals(key))
                .filter(grant -> Math.floorDiv(grant.ticket().admittedMillis(), bucketMillis) >= oldestLiveBucket)
                .mapToLong(Grant::finalTokens)
                .sum();
    }

    /** The day tokens a store must report for {@code key} in {@code day}. */
    public long expectedDayTokens(KeyId key, DayWindow day) {
        return grants.stream()
                .filter(grant -> grant.ticket().key().equals(key) && grant.ticket().epochDay() == day.epochDay())
                .mapToLong(Grant::finalTokens)
                .sum();
    }

    /** How many grants kept a given share of tokens, for asserting that a run exercised each path. */
    public List<Grant> where(java.util.function.Predicate<Grant> filter) {
        List<Grant> matching = new ArrayList<>();
        for (Grant grant : grants) {
            if (filter.test(grant)) {
                matching.add(grant);
            }
        }
        return matching;
    }
}
