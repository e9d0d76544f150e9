package dev.keypool.usage;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A task run every period, with a fixed delay between runs, on a scheduler: the process's one
 * scheduler when its owner gives one (the gateway's, which it shuts down last), else a daemon
 * thread of the task's own, for a component used alone as a library. Closing cancels the task and
 * ends an own thread; it never shuts a scheduler down that it was given.
 */
public final class Periodic implements AutoCloseable {

    private final ScheduledFuture<?> future;
    private final ScheduledExecutorService own;

    private Periodic(ScheduledFuture<?> future, ScheduledExecutorService own) {
        this.future = future;
        this.own = own;
    }

    /**
     * Runs {@code task} every {@code period}, the first time a period from now.
     *
     * @param scheduler the process's scheduler, or {@code null} for a thread named {@code name}
     */
    public static Periodic every(Duration period, String name, ScheduledExecutorService scheduler, Runnable task) {
        Objects.requireNonNull(task, "task");
        ScheduledExecutorService own = scheduler == null ? scheduler(name, 1) : null;
        long millis = Math.max(1, period.toMillis());
        ScheduledFuture<?> future = (scheduler != null ? scheduler : own)
                .scheduleWithFixedDelay(task, millis, millis, TimeUnit.MILLISECONDS);
        return new Periodic(future, own);
    }

    /**
     * A scheduler of {@code threads} daemon threads named {@code name-1}, {@code name-2}, … A
     * cancelled task leaves its queue at once: a waiting request served before its deadline cancels
     * the deadline, and thousands of them must not sit in the queue until their time.
     */
    public static ScheduledThreadPoolExecutor scheduler(String name, int threads) {
        AtomicInteger count = new AtomicInteger();
        ScheduledThreadPoolExecutor scheduler = new ScheduledThreadPoolExecutor(threads, runnable -> {
            Thread thread = new Thread(runnable, threads == 1 ? name : name + "-" + count.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        });
        scheduler.setRemoveOnCancelPolicy(true);
        return scheduler;
    }

    /** Cancels the task (a run under way finishes); ends the thread it had of its own. */
    @Override
    public void close() {
        future.cancel(false);
        if (own != null) {
            own.shutdownNow();
        }
    }
}
