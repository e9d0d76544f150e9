package dev.keypool.rotation;

import dev.keypool.config.KeyId;
import dev.keypool.failure.FailureKind;
import dev.keypool.usage.KeyStatus;

/**
 * One key as the admin API and the dashboard show it; no secret in it.
 *
 * @param keyId             the key's fingerprint ({@code KeyFingerprint#value()}), which its usage and
 *                          state are stored under; {@code null} while the store cannot tell
 * @param availableAtMillis when a resting key comes back by itself; {@code null} when active or
 *                          when only an admin reset brings it back
 * @param minuteLimit       {@code null} when the minute window is unlimited (and so its percent)
 * @param dayLimit          {@code null} when the day window is unlimited (and so its percent)
 * @param requestsInFlight  reservations granted on the key and not yet settled, in this process
 * @param maxConcurrent     its cap on requests in flight ({@code {P}_MAX_CONCURRENT_i}); {@code null} when uncapped
 * @param weight            its weight under the weighted strategy ({@code {P}_WEIGHT_i})
 * @param minuteRequests    requests in the sliding minute, reservations held included
 * @param requestMinuteLimit {@code {P}_MAX_REQUESTS_PER_MINUTE_i}; {@code null} when unlimited (and so its percent)
 * @param dayRequests       requests in the day, reservations held included
 * @param requestDayLimit   {@code {P}_MAX_REQUESTS_PER_DAY_i}; {@code null} when unlimited (and so its percent)
 */
public record KeyStatusSnapshot(
        KeyId id,
        String keyId,
        String maskedKey,
        String model,
        KeyStatus status,
        FailureKind failureKind,
        String reason,
        Long availableAtMillis,
        long minuteTokens,
        Long minuteLimit,
        Double minuteUsagePercent,
        long dayTokens,
        Long dayLimit,
        Double dayUsagePercent,
        int requestsInFlight,
        Integer maxConcurrent,
        int weight,
        long minuteRequests,
        Long requestMinuteLimit,
        Double requestMinuteUsagePercent,
        long dayRequests,
        Long requestDayLimit,
        Double requestDayUsagePercent) {

    public int index() {
        return id.index();
    }
}
