package dev.keypool.server.usage;

import dev.keypool.config.Provider;
import dev.keypool.failure.FailureKind;
import java.util.Comparator;

/**
 * One row of the usage history: a key's (or a provider pool's) counters over all time, over one
 * minute, or over one day. Its counters are a {@code long[]} indexed by the constants here.
 *
 * @param start the minute's first millisecond, the day's epoch day in the pool's day zone, or 0
 * @param index the key's index, {@link #KEYLESS} for a keyless provider's calls, {@link #POOL} for
 *              the provider's pool as a whole (requests refused because every key was spent)
 */
record UsageCell(Scope scope, long start, Provider provider, int index) implements Comparable<UsageCell> {

    enum Scope {
        TOTAL, MINUTE, DAY
    }

    static final int KEYLESS = -1;
    static final int POOL = -2;

    static final int REQUESTS = 0;
    static final int SUCCESSES = 1;
    static final int FAILURES = 2;
    static final int PROMPT_TOKENS = 3;
    static final int COMPLETION_TOKENS = 4;
    static final int EXHAUSTED = 5;
    private static final int FIRST_KIND = 6;
    private static final FailureKind[] KINDS = FailureKind.values();

    /** The length of a cell's counters. */
    static final int FIELDS = FIRST_KIND + KINDS.length;

    private static final String[] NAMES = names();

    private static final Comparator<UsageCell> ORDER = Comparator.comparing(UsageCell::scope)
            .thenComparingLong(UsageCell::start).thenComparing(UsageCell::provider).thenComparingInt(UsageCell::index);

    static int failed(FailureKind kind) {
        return FIRST_KIND + kind.ordinal();
    }

    static FailureKind kindAt(int field) {
        return field >= FIRST_KIND ? KINDS[field - FIRST_KIND] : null;
    }

    /** The stable name of a counter, as files and Redis keep it. */
    static String fieldName(int field) {
        return NAMES[field];
    }

    /** The counter named {@code name}, or -1 for a name this version does not know. */
    static int field(String name) {
        for (int i = 0; i < NAMES.length; i++) {
            if (NAMES[i].equals(name)) {
                return i;
            }
        }
        return -1;
    }

    /** The first and last cell of {@code scope} between two starts, for range queries. */
    static UsageCell lowest(Scope scope, long start) {
        return new UsageCell(scope, start, Provider.values()[0], Integer.MIN_VALUE);
    }

    static UsageCell highest(Scope scope, long start) {
        return new UsageCell(scope, start, Provider.values()[Provider.values().length - 1], Integer.MAX_VALUE);
    }

    @Override
    public int compareTo(UsageCell other) {
        return ORDER.compare(this, other);
    }

    private static String[] names() {
        String[] names = new String[FIELDS];
        names[REQUESTS] = "requests";
        names[SUCCESSES] = "successes";
        names[FAILURES] = "failures";
        names[PROMPT_TOKENS] = "prompt_tokens";
        names[COMPLETION_TOKENS] = "completion_tokens";
        names[EXHAUSTED] = "exhausted";
        for (FailureKind kind : KINDS) {
            names[failed(kind)] = "failed_" + kind.id();
        }
        return names;
    }
}
