package dev.keypool.rotation;

import java.util.concurrent.ScheduledThreadPoolExecutor;

/** The process's one timer thread for {@link WakeScheduler#on}, started on first use. */
final class WaitTimer {

    static final ScheduledThreadPoolExecutor TIMER = timer();

    private WaitTimer() {
    }

    private static ScheduledThreadPoolExecutor timer() {
        ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1, runnable -> {
            Thread thread = new Thread(runnable, "keypool-wait-timer");
            thread.setDaemon(true);
            return thread;
        });
        // A served request cancels its deadline: cancelled tasks leave the timer's queue at once.
        timer.setRemoveOnCancelPolicy(true);
        return timer;
    }
}
