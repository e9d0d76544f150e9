package dev.keypool.rotation;

import dev.keypool.usage.Periodic;
import java.util.concurrent.ScheduledThreadPoolExecutor;

/**
 * The process's one timer thread for {@link WakeScheduler#on(java.time.Clock)}, started on first use,
 * for pools that run without a gateway's scheduler.
 */
final class WaitTimer {

    static final ScheduledThreadPoolExecutor TIMER = Periodic.scheduler("keypool-wait-timer", 1);

    private WaitTimer() {
    }
}
