package dev.keypool.server.usage;

import dev.keypool.config.KeyConfig;
import dev.keypool.config.Provider;
import dev.keypool.event.KeyEvent;
import dev.keypool.event.KeyEventListener;
import dev.keypool.failure.FailureKind;
import dev.keypool.rotation.ApiKeyManager;
import dev.keypool.rotation.TokenUsage;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counts what the pool did, per provider and key, from its events: requests (a key acquired for a
 * call), successes (usage committed), failures (by kind), prompt and completion tokens, and the
 * same per minute for trends. Keyless Ollama has no key events; the gateway reports its calls with
 * {@link #recordKeyless}.
 *
 * <p>Listeners run on the request's thread, so recording is a map lookup and a few
 * {@link LongAdder} increments; the report is assembled only when asked for.
 *
 * <p>"Requests" counts attempts on keys: a request that fails over from key 0 to key 1 counts one
 * failed request on key 0 and one successful request on key 1, so a provider's numbers are
 * always the sum of its keys'. The counters live in memory and restart at zero with the process.
 */
public final class UsageRecorder implements KeyEventListener {

    /** Minutes of history kept: a day, so a dashboard opened in the morning shows the night. */
    static final int RETAINED_MINUTES = 24 * 60;

    /** Minutes of history in a report. */
    public static final int REPORTED_MINUTES = 60;

    private static final long MINUTE = 60_000;

    private final ApiKeyManager manager;
    private final Clock clock;
    private final Map<Slot, Counters> slots = new ConcurrentHashMap<>();
    private final Map<Provider, LongAdder> exhausted = new ConcurrentHashMap<>();
    private final ConcurrentSkipListMap<Long, Map<Provider, Counters>> history = new ConcurrentSkipListMap<>();

    public UsageRecorder(ApiKeyManager manager) {
        this.manager = manager;
        this.clock = manager.clock();
    }

    @Override
    public void onEvent(KeyEvent event) {
        switch (event) {
            case KeyEvent.KeyAcquired e -> record(e.provider(), e.key().index(), e.timeMillis(),
                    c -> c.requests.increment());
            case KeyEvent.UsageCommitted e -> record(e.provider(), e.key().index(), e.timeMillis(), c -> {
                c.successes.increment();
                c.promptTokens.add(e.promptTokens());
                c.completionTokens.add(e.completionTokens());
            });
            case KeyEvent.KeyFailed e -> record(e.provider(), e.key().index(), e.timeMillis(), c -> c.fail(e.kind()));
            case KeyEvent.PoolExhausted e -> exhausted.computeIfAbsent(e.provider(), p -> new LongAdder()).increment();
            default -> {
                // Releases, cool-downs and reactivations change no counter.
            }
        }
    }

    /**
     * Records one call to a keyless provider (Ollama): {@code usage} when it succeeded, else the
     * kind it failed with.
     */
    public void recordKeyless(Provider provider, TokenUsage usage, FailureKind failure) {
        record(provider, -1, clock.millis(), c -> {
            c.requests.increment();
            if (failure != null) {
                c.fail(failure);
            } else {
                c.successes.increment();
                if (usage != null) {
                    c.promptTokens.add(usage.promptTokens());
                    c.completionTokens.add(usage.completionTokens());
                }
            }
        });
    }

    /** One key's totals. */
    public Totals keyTotals(Provider provider, int index) {
        Counters counters = slots.get(new Slot(provider, index));
        return counters == null ? Totals.ZERO : counters.totals();
    }

    /** Tokens a provider used since {@code fromMillis}, from the per-minute history (kept for a day). */
    public long tokensSince(Provider provider, long fromMillis) {
        long tokens = 0;
        for (Map<Provider, Counters> minute : history.tailMap(minute(fromMillis)).values()) {
            Counters counters = minute.get(provider);
            if (counters != null) {
                tokens += counters.promptTokens.sum() + counters.completionTokens.sum();
            }
        }
        return tokens;
    }

    /** A provider's totals (its keys' sums), for the status view. */
    public Totals totals(Provider provider) {
        Totals sum = Totals.ZERO;
        for (Map.Entry<Slot, Counters> entry : slots.entrySet()) {
            if (entry.getKey().provider() == provider) {
                sum = sum.plus(entry.getValue().totals());
            }
        }
        return sum;
    }

    /** The usage report of the admin API. */
    public UsageReport report() {
        Map<String, UsageReport.ProviderUsage> providers = new LinkedHashMap<>();
        for (Provider provider : Provider.values()) {
            List<UsageReport.KeyUsage> keys = new ArrayList<>();
            for (KeyConfig key : manager.keys(provider)) {
                Counters counters = slots.get(new Slot(provider, key.index()));
                Totals totals = counters == null ? Totals.ZERO : counters.totals();
                keys.add(new UsageReport.KeyUsage(key.index(), key.maskedKey(), key.model(), totals.requests(),
                        totals.successes(), totals.failures(), totals.promptTokens(), totals.completionTokens(),
                        totals.totalTokens(), totals.failuresByKind()));
            }
            Totals sum = totals(provider);
            LongAdder rejected = exhausted.get(provider);
            providers.put(provider.id(), new UsageReport.ProviderUsage(sum.requests(), sum.successes(), sum.failures(),
                    sum.promptTokens(), sum.completionTokens(), sum.totalTokens(), sum.failuresByKind(),
                    rejected == null ? 0 : rejected.sum(), keys));
        }
        return new UsageReport(providers, history(), Instant.ofEpochMilli(clock.millis()).toString());
    }

    /** The last {@link #REPORTED_MINUTES} minutes, oldest first, one entry per minute and provider in use. */
    private List<UsageReport.MinuteUsage> history() {
        long current = minute(clock.millis());
        long first = current - (REPORTED_MINUTES - 1) * MINUTE;
        List<Provider> inUse = new ArrayList<>();
        for (Provider provider : Provider.values()) {
            if (!manager.keys(provider).isEmpty() || slots.keySet().stream().anyMatch(s -> s.provider() == provider)) {
                inUse.add(provider);
            }
        }
        List<UsageReport.MinuteUsage> minutes = new ArrayList<>();
        for (long minute = first; minute <= current; minute += MINUTE) {
            Map<Provider, Counters> byProvider = history.getOrDefault(minute, Map.of());
            String at = Instant.ofEpochMilli(minute).toString();
            for (Provider provider : inUse) {
                Counters counters = byProvider.get(provider);
                Totals totals = counters == null ? Totals.ZERO : counters.totals();
                minutes.add(new UsageReport.MinuteUsage(at, provider.id(), totals.requests(), totals.successes(),
                        totals.failures(), totals.promptTokens(), totals.completionTokens(), totals.totalTokens()));
            }
        }
        return minutes;
    }

    private void record(Provider provider, int index, long timeMillis, java.util.function.Consumer<Counters> change) {
        change.accept(slots.computeIfAbsent(new Slot(provider, index), s -> new Counters()));
        long minute = minute(timeMillis);
        Map<Provider, Counters> byProvider = history.computeIfAbsent(minute, m -> new ConcurrentHashMap<>());
        change.accept(byProvider.computeIfAbsent(provider, p -> new Counters()));
        if (history.size() > RETAINED_MINUTES) {
            history.headMap(minute - RETAINED_MINUTES * MINUTE).clear();
        }
    }

    private static long minute(long millis) {
        return Math.floorDiv(millis, MINUTE) * MINUTE;
    }

    private record Slot(Provider provider, int index) {
    }

    /** A snapshot of counters. */
    public record Totals(long requests, long successes, long failures, long promptTokens, long completionTokens,
            Map<String, Long> failuresByKind) {

        static final Totals ZERO = new Totals(0, 0, 0, 0, 0, Map.of());

        public long totalTokens() {
            return promptTokens + completionTokens;
        }

        /** Failures per request, 0 when there were none. */
        public double errorRate() {
            return requests == 0 ? 0.0 : Math.min(1.0, (double) failures / requests);
        }

        Totals plus(Totals other) {
            Map<String, Long> kinds = new LinkedHashMap<>(failuresByKind);
            other.failuresByKind.forEach((kind, count) -> kinds.merge(kind, count, Long::sum));
            return new Totals(requests + other.requests, successes + other.successes, failures + other.failures,
                    promptTokens + other.promptTokens, completionTokens + other.completionTokens, kinds);
        }
    }

    private static final class Counters {
        final LongAdder requests = new LongAdder();
        final LongAdder successes = new LongAdder();
        final LongAdder failures = new LongAdder();
        final LongAdder promptTokens = new LongAdder();
        final LongAdder completionTokens = new LongAdder();
        final Map<FailureKind, LongAdder> byKind = new ConcurrentHashMap<>();

        void fail(FailureKind kind) {
            failures.increment();
            byKind.computeIfAbsent(kind, k -> new LongAdder()).increment();
        }

        Totals totals() {
            Map<String, Long> kinds = new LinkedHashMap<>();
            Map<FailureKind, LongAdder> sorted = new EnumMap<>(FailureKind.class);
            sorted.putAll(byKind);
            sorted.forEach((kind, count) -> kinds.put(kind.id(), count.sum()));
            return new Totals(requests.sum(), successes.sum(), failures.sum(), promptTokens.sum(),
                    completionTokens.sum(), kinds);
        }
    }
}
