package dev.keypool.testing;

import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.LongConsumer;
import java.util.function.LongFunction;
import java.util.function.LongSupplier;

/**
 * The steps of a {@link ManualClock} that a concurrency test moves while threads call a store: an
 * operation reads "now" and calls the store under a read lock that a step takes exclusively, so
 * the threads of one step share one now, and no caller's clock lags another's but by a lag the
 * test gives it on purpose.
 */
public final class ClockSteps {

    private final ReadWriteLock lock = new ReentrantReadWriteLock();

    /** What {@code operation} answers at {@code now}'s reading, with no step in between. */
    public <T> T at(LongSupplier now, LongFunction<T> operation) {
        lock.readLock().lock();
        try {
            return operation.apply(now.getAsLong());
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Runs {@code operation} at {@code now}'s reading, with no step in between. */
    public void runAt(LongSupplier now, LongConsumer operation) {
        lock.readLock().lock();
        try {
            operation.accept(now.getAsLong());
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Moves {@code clock} on by {@code millis} while no operation runs. */
    public void step(ManualClock clock, long millis) {
        lock.writeLock().lock();
        try {
            clock.advanceMillis(millis);
        } finally {
            lock.writeLock().unlock();
        }
    }
}
