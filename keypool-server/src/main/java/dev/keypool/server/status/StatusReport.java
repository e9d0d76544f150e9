package dev.keypool.server.status;

import java.util.List;
import java.util.Map;

/**
 * The admin API's key status ({@code GET /api/admin/api-key-status/}), serialised with snake_case
 * names: ARCHITECTURE.md's status JSON plus what the dashboard needs.
 *
 * @param providers per provider id: a {@link KeyedProvider}, or an {@link OllamaProvider}
 * @param store     where usage and key state live, and whether that is degraded
 */
public record StatusReport(Map<String, Object> providers, List<Alert> alerts, boolean demo, String generatedAt,
        long serverTimeMillis, Store store, LastReload lastReload) {

    /** A report with no reload since start-up. */
    public StatusReport(Map<String, Object> providers, List<Alert> alerts, boolean demo, String generatedAt,
            long serverTimeMillis, Store store) {
        this(providers, alerts, demo, generatedAt, serverTimeMillis, store, null);
    }

    /**
     * The last reload of the configuration ({@code POST /api/admin/reload}, SIGHUP), or {@code null}
     * when none happened since start-up.
     *
     * @param at      when, ISO-8601
     * @param outcome {@code applied} or {@code refused}
     * @param changes what changed, per provider, and {@code restart_required}; {@code null} when refused
     * @param errors  why it was refused (start-up's messages); empty when applied
     */
    public record LastReload(String at, String outcome, Map<String, Object> changes, List<String> errors) {
    }

    /**
     * @param kind     {@code redis}, {@code data-dir} or {@code memory}
     * @param degraded Redis is unreachable (this instance accounts locally with its share of each
     *                 limit) or the data directory cannot be written
     * @param problem  what is wrong and what it means for the keys, or {@code null}
     */
    public record Store(String kind, boolean degraded, String problem) {
    }

    /**
     * A provider used with pooled keys. {@code errorRate} is failures per request, 0..1.
     * {@code leavingKeys} are keys a reload removed whose requests in flight have not all settled:
     * out of the selection, and gone from here once they have. {@code waiting} is {@code null} when
     * requests never wait ({@code KEYPOOL_MAX_WAIT_SECONDS} 0).
     */
    public record KeyedProvider(int totalKeys, int activeKeys, long requests, long failures, long tokensToday,
            double errorRate, List<Key> keys, List<Key> leavingKeys, Waiting waiting) {
    }

    /**
     * The requests waiting for a provider's keys on this gateway ({@code KEYPOOL_MAX_WAIT_SECONDS}).
     *
     * @param queueLength       how many wait now
     * @param maxQueue          how many may ({@code KEYPOOL_MAX_QUEUE})
     * @param maxWaitSeconds    the longest a request waits
     * @param recentWaitsMillis how long the last requests that waited did (served or refused), oldest first
     */
    public record Waiting(int queueLength, int maxQueue, long maxWaitSeconds, List<Long> recentWaitsMillis) {
    }

    /** Keyless Ollama: reachable or not. */
    public record OllamaProvider(boolean available, String host, List<Key> keys, long requests, long failures,
            long tokensToday, double errorRate) {
    }

    /**
     * One key. Limits and percents are {@code null} for an unlimited window; {@code availableAt}
     * (ISO-8601) and {@code availableInSeconds} are {@code null} unless the key comes back by itself.
     * {@code index} is the key's handle in this gateway process, for display and the admin reset:
     * its position in {@code .env} at start-up; a reload keeps a kept key's, and gives a new key
     * its position unless another key had that index since start-up, else the lowest index none had;
     * {@code keyId} is the fingerprint its usage and state are stored under (stable when the keys
     * are reordered; {@code null} while a shared store has not been reached yet).
     * {@code requestsInFlight} counts this gateway's requests on the key (each instance has its
     * own count and cap); {@code maxConcurrent} is {@code null} when uncapped; {@code weight} is its
     * share under the weighted strategy. {@code requestsUsedMinute} and {@code requestsUsedDay} are
     * the requests in the key's sliding minute and day, reservations held included, counted
     * against {@code {P}_MAX_REQUESTS_PER_MINUTE_i} and {@code {P}_MAX_REQUESTS_PER_DAY_i} (for
     * SerpApi, searches); the whole pool's, like the tokens, while {@code requests} is this
     * gateway's count of calls since it started.
     */
    public record Key(int index, String keyId, String maskedKey, String model, String status, String reason, String failureKind,
            String availableAt, Long availableInSeconds, long tokensUsedMinute, Long maxTokensPerMinute,
            Double minuteUsagePercent, long tokensUsedDay, Long maxTokensPerDay, Double dayUsagePercent,
            long requests, long failures, int requestsInFlight, Integer maxConcurrent, int weight,
            long requestsUsedMinute, Long maxRequestsPerMinute, Double requestMinuteUsagePercent,
            long requestsUsedDay, Long maxRequestsPerDay, Double requestDayUsagePercent) {
    }

    /**
     * One alert, as the dashboard shows it and a webhook receives it.
     *
     * @param level    {@code warning} or {@code critical}
     * @param provider the provider's id, or {@code null} for the store
     * @param index    the key's index, or {@code null} for a provider-wide alert
     * @param kind     what it is about: {@value #KEY_DEACTIVATED}, {@value #KEY_COOLING_DOWN},
     *                 {@value #MINUTE_USAGE}, {@value #DAY_USAGE} (token windows),
     *                 {@value #REQUEST_MINUTE_USAGE}, {@value #REQUEST_DAY_USAGE} (request windows),
     *                 {@value #NO_USABLE_KEY} or {@value #STORE_DEGRADED}
     * @param keyId    the key's fingerprint (as in {@link Key#keyId()}), or {@code null}
     */
    public record Alert(String level, String provider, Integer index, String message, String kind, String keyId) {

        public static final String KEY_DEACTIVATED = "key_deactivated";
        public static final String KEY_COOLING_DOWN = "key_cooling_down";
        public static final String MINUTE_USAGE = "minute_usage";
        public static final String DAY_USAGE = "day_usage";
        public static final String REQUEST_MINUTE_USAGE = "request_minute_usage";
        public static final String REQUEST_DAY_USAGE = "request_day_usage";
        public static final String NO_USABLE_KEY = "no_usable_key";
        public static final String STORE_DEGRADED = "store_degraded";
    }
}
