package dev.keypool.rotation;

import java.time.Duration;
import java.util.List;

/**
 * The requests waiting for one provider's keys ({@code KEYPOOL_MAX_WAIT_SECONDS}).
 *
 * @param waiting           how many wait now
 * @param maxQueue          how many may ({@code KEYPOOL_MAX_QUEUE})
 * @param maxWait           the longest a request waits
 * @param recentWaitsMillis how long the last requests that waited did (served or not), oldest first
 */
public record WaitStatus(int waiting, int maxQueue, Duration maxWait, List<Long> recentWaitsMillis) {

    public WaitStatus {
        recentWaitsMillis = List.copyOf(recentWaitsMillis);
    }
}
