package dev.keypool.rotation;

import java.time.Clock;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs a task when the pool's clock reaches a moment: how requests waiting for a key
 * ({@code KEYPOOL_MAX_WAIT_SECONDS}) are woken when a minute window slides or a cool-down ends, and
 * given up on at their deadline. Tasks only signal waiting threads, so they are short and never
 * block. Tests pass one that runs what is due when they move their clock.
 */
@FunctionalInterface
public interface WakeScheduler {

    /**
     * Runs {@code task} once the clock reads {@code atMillis} or later.
     *
     * @return cancels the task if it has not run (a no-op after)
     */
    Runnable schedule(long atMillis, Runnable task);

    /**
     * On one daemon timer thread shared by every pool of the process, the delay read from
     * {@code clock}: a task's work is a signal, so one thread serves them all.
     */
    static WakeScheduler on(Clock clock) {
        return on(clock, WaitTimer.TIMER);
    }

    /** On {@code scheduler} (the process's one), the delay read from {@code clock}. */
    static WakeScheduler on(Clock clock, ScheduledExecutorService scheduler) {
        return (atMillis, task) -> {
            ScheduledFuture<?> future = scheduler.schedule(task, Math.max(0, atMillis - clock.millis()),
                    TimeUnit.MILLISECONDS);
            return () -> future.cancel(false);
        };
    }
}
