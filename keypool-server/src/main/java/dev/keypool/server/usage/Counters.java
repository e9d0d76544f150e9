package dev.keypool.server.usage;

import dev.keypool.failure.FailureKind;
import java.util.concurrent.atomic.LongAdder;

/**
 * The counts of one {@link UsageCell} not yet flushed, incremented on the request's thread; and the
 * sums of count arrays ({@code long[UsageCell.FIELDS]}) the recorder and its reports add up.
 */
final class Counters {
    final LongAdder[] counts = new LongAdder[UsageCell.FIELDS];

    Counters() {
        for (int i = 0; i < counts.length; i++) {
            counts[i] = new LongAdder();
        }
    }

    void add(int field, long amount) {
        if (amount != 0) {
            counts[field].add(amount);
        }
    }

    void fail(FailureKind kind) {
        counts[UsageCell.FAILURES].increment();
        counts[UsageCell.failed(kind)].increment();
    }

    void addAll(long[] amounts) {
        for (int i = 0; i < amounts.length; i++) {
            add(i, amounts[i]);
        }
    }

    long[] sums() {
        long[] sums = new long[counts.length];
        for (int i = 0; i < sums.length; i++) {
            sums[i] = counts[i].sum();
        }
        return sums;
    }

    /** The sums, leaving zero; an increment racing with it is in this drain or the next. */
    long[] drain() {
        long[] sums = new long[counts.length];
        for (int i = 0; i < sums.length; i++) {
            sums[i] = counts[i].sumThenReset();
        }
        return sums;
    }

    static void addTo(long[] into, long[] values) {
        if (values != null) {
            for (int i = 0; i < into.length; i++) {
                into[i] += values[i];
            }
        }
    }

    static boolean nonZero(long[] values) {
        for (long value : values) {
            if (value != 0) {
                return true;
            }
        }
        return false;
    }
}
