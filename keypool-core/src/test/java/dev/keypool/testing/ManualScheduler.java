package dev.keypool.testing;

import dev.keypool.rotation.WakeScheduler;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@link WakeScheduler} on a {@link ManualClock}: nothing runs until the test moves the clock and
 * calls {@link #runDue()}, so waits are crossed without sleeping.
 */
public final class ManualScheduler implements WakeScheduler {

    private record Task(long atMillis, Runnable task) {
    }

    private final ManualClock clock;
    private final List<Task> tasks = new ArrayList<>();

    public ManualScheduler(ManualClock clock) {
        this.clock = clock;
    }

    @Override
    public synchronized Runnable schedule(long atMillis, Runnable task) {
        Task scheduled = new Task(atMillis, task);
        tasks.add(scheduled);
        return () -> {
            synchronized (this) {
                tasks.remove(scheduled);
            }
        };
    }

    /** Runs every task due at the clock's time, in time order, including those they schedule. */
    public void runDue() {
        while (true) {
            Task next;
            synchronized (this) {
                next = tasks.stream().filter(t -> t.atMillis() <= clock.millis())
                        .min(java.util.Comparator.comparingLong(Task::atMillis)).orElse(null);
                if (next == null) {
                    return;
                }
                tasks.remove(next);
            }
            next.task().run();
        }
    }

    /** Moves the clock and runs what became due. */
    public void advance(java.time.Duration duration) {
        clock.advance(duration);
        runDue();
    }

    /** How many tasks wait to run. */
    public synchronized int pending() {
        return tasks.size();
    }
}
