package dev.keypool.testing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keypool.config.KeyId;
import dev.keypool.config.WindowLimits;
import dev.keypool.usage.DayWindow;
import dev.keypool.usage.Ticket;
import dev.keypool.usage.UsageStore;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Every reservation a concurrency test was granted, with the tokens it finally kept (what it
 * committed; 0 when released or failed; its reservation when it expired), when it was settled,
 * and when its request reached the provider; and the checks of keypool's invariants over them.
 *
 * <p>The provider counts a request when it arrives, somewhere between its reservation and its
 * settlement; a test records the latest moment it could have (the settlement) unless it knows
 * better. So the invariant is judged on arrivals ({@link ArrivalLedger}): no 60-second span of
 * arrivals and no day held more than a key's limits. A store that anchored tokens at their
 * admission (its own {@link Ticket#admittedMillis()}) passed a check on admission times while a
 * provider could see 1,200 tokens in 60 s against 600.
 */
public final class AdmissionLedger {

    /** One granted reservation, the tokens it kept, when it was settled and when it reached the provider. */
    public record Grant(Ticket ticket, long finalTokens, long settledMillis, long arrivedMillis) {
    }

    private final Queue<Grant> grants = new ConcurrentLinkedQueue<>();

    /** A grant whose request reached the provider at the latest moment it could: its settlement. */
    public void record(Ticket ticket, long finalTokens, long settledMillis) {
        record(ticket, finalTokens, settledMillis, settledMillis);
    }

    public void record(Ticket ticket, long finalTokens, long settledMillis, long arrivedMillis) {
        grants.add(new Grant(ticket, finalTokens, settledMillis, arrivedMillis));
    }

    public List<Grant> grants() {
        return List.copyOf(grants);
    }

    public int size() {
        return grants.size();
    }

    /**
     * What the provider may have received, by key: every grant's arrival, with the tokens it kept.
     * A grant that kept none (released, failed) counts as a request all the same: it may have
     * reached the provider, and stores count it.
     */
    public ArrivalLedger<KeyId> arrivals() {
        ArrivalLedger<KeyId> arrivals = new ArrivalLedger<>();
        for (Grant grant : grants) {
            arrivals.arrived(grant.ticket().key(), grant.arrivedMillis(), grant.finalTokens());
        }
        return arrivals;
    }

    /** The minute requests a bucketed store must report for {@code key} at {@code nowMillis}, with nothing pending. */
    public long expectedMinuteRequests(KeyId key, long nowMillis, long bucketMillis) {
        long oldestLiveBucket = Math.floorDiv(nowMillis, bucketMillis) - UsageStore.MINUTE_MILLIS / bucketMillis;
        return grants.stream()
                .filter(grant -> grant.ticket().key().equals(key))
                .filter(grant -> Math.floorDiv(grant.settledMillis(), bucketMillis) >= oldestLiveBucket)
                .count();
    }

    /** The day requests a store must report for {@code key} in {@code day}, with nothing pending. */
    public long expectedDayRequests(KeyId key, DayWindow day) {
        return grants.stream()
                .filter(grant -> grant.ticket().key().equals(key) && day.contains(grant.settledMillis()))
                .count();
    }

    /**
     * For every key: in every 60-second span of arrivals and in every day, the tokens kept never
     * exceed the key's limits; each ticket's day is the day of its admission.
     */
    public void assertNoOverAdmission(Map<KeyId, WindowLimits> limits, ZoneId zone) {
        for (Grant grant : grants) {
            Ticket ticket = grant.ticket();
            assertThat(ticket.epochDay())
                    .as("day of %s admitted at %s", ticket.key(), java.time.Instant.ofEpochMilli(ticket.admittedMillis()))
                    .isEqualTo(DayWindow.at(ticket.admittedMillis(), zone).epochDay());
        }
        arrivals().assertNoKeyExceeds(limits, zone);
    }

    /**
     * The minute tokens a bucketed store must report for {@code key} at {@code nowMillis}, with
     * nothing pending: tokens settled in bucket {@code b} count until bucket
     * {@code b + 60 s / width + 1} begins.
     */
    public long expectedMinuteTokens(KeyId key, long nowMillis, long bucketMillis) {
        long oldestLiveBucket = Math.floorDiv(nowMillis, bucketMillis) - UsageStore.MINUTE_MILLIS / bucketMillis;
        return grants.stream()
                .filter(grant -> grant.ticket().key().equals(key))
                .filter(grant -> Math.floorDiv(grant.settledMillis(), bucketMillis) >= oldestLiveBucket)
                .mapToLong(Grant::finalTokens)
                .sum();
    }

    /** The day tokens a store must report for {@code key} in {@code day}, with nothing pending: what was settled in it. */
    public long expectedDayTokens(KeyId key, DayWindow day) {
        return grants.stream()
                .filter(grant -> grant.ticket().key().equals(key) && day.contains(grant.settledMillis()))
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
