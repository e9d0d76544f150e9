package dev.keypool.server.usage;

import dev.keypool.config.Provider;
import dev.keypool.redis.RedisCounters;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * The usage history of a cluster, in Redis: one hash per minute, one per day, and one of totals,
 * each field {@code provider:index:counter}. Every instance adds its own counts, so each report
 * shows the whole cluster. Minute hashes expire after {@link UsageRecorder#RETAINED_MINUTES}
 * minutes and day hashes after {@link UsageRecorder#RETAINED_DAYS} days, each with an hour to spare.
 */
final class RedisUsageLedger implements UsageLedger {

    private static final Duration SLACK = Duration.ofHours(1);
    private static final Duration MINUTE_TTL = Duration.ofMinutes(UsageRecorder.RETAINED_MINUTES).plus(SLACK);
    private static final Duration DAY_TTL = Duration.ofDays(UsageRecorder.RETAINED_DAYS).plus(SLACK);

    private final RedisCounters counters;

    RedisUsageLedger(RedisCounters counters) {
        this.counters = counters;
    }

    @Override
    public void add(Map<UsageCell, long[]> deltas, long nowMillis) {
        if (deltas.isEmpty()) {
            return;
        }
        Map<String, Map<String, Long>> hashes = new HashMap<>();
        Map<String, Duration> ttl = new HashMap<>();
        deltas.forEach((cell, delta) -> {
            String name = hashName(cell.scope(), cell.start());
            Map<String, Long> fields = hashes.computeIfAbsent(name, n -> new HashMap<>());
            for (int i = 0; i < delta.length; i++) {
                if (delta[i] != 0) {
                    fields.put(cell.provider().id() + ":" + cell.index() + ":" + UsageCell.fieldName(i), delta[i]);
                }
            }
            switch (cell.scope()) {
                case MINUTE -> ttl.put(name, MINUTE_TTL);
                case DAY -> ttl.put(name, DAY_TTL);
                case TOTAL -> {
                    // kept for good
                }
            }
        });
        counters.add(hashes, ttl);
    }

    @Override
    public NavigableMap<UsageCell, long[]> read(UsageCell.Scope scope, long from, long to) {
        long step = scope == UsageCell.Scope.MINUTE ? UsageRecorder.MINUTE : 1;
        List<Long> starts = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (long start = from; start <= to; start += step) {
            starts.add(start);
            names.add(hashName(scope, start));
        }
        List<Map<String, Long>> hashes = counters.read(names);
        NavigableMap<UsageCell, long[]> cells = new TreeMap<>();
        for (int h = 0; h < hashes.size(); h++) {
            long start = starts.get(h);
            hashes.get(h).forEach((name, value) -> {
                String[] parts = name.split(":");
                int field = parts.length == 3 ? UsageCell.field(parts[2]) : -1;
                if (field < 0) {
                    return; // written by a later version
                }
                UsageCell cell = new UsageCell(scope, start, Provider.of(parts[0]), Integer.parseInt(parts[1]));
                cells.computeIfAbsent(cell, c -> new long[UsageCell.FIELDS])[field] += value;
            });
        }
        return cells;
    }

    private static String hashName(UsageCell.Scope scope, long start) {
        return switch (scope) {
            case TOTAL -> "total";
            case MINUTE -> "minute:" + start;
            case DAY -> "day:" + start;
        };
    }

    @Override
    public void close() {
        counters.close();
    }
}
