package dev.keypool.rotation;

import dev.keypool.config.Provider;
import dev.keypool.event.KeyEvent;
import dev.keypool.event.KeyEvents;
import dev.keypool.usage.DenialReason;
import dev.keypool.usage.KeyState;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The requests waiting for a key of one provider ({@code KEYPOOL_MAX_WAIT_SECONDS}): a bounded
 * queue, served first come, first served.
 *
 * <h2>Design</h2>
 * A request no key can take now, but that one is expected to take before its deadline (the
 * refusal's retry time, within the maximum wait), joins the tail. It waits on its own condition;
 * nothing here polls. Whenever capacity may have freed up (a reservation of the provider settled,
 * a key came back, or the time a refusal named arrived, from the {@link WakeScheduler}), a
 * <em>pass</em> walks the queue from its head: each waiter in turn tries once, on its own thread,
 * then hands the turn to the next. The first waiters the freed capacity can serve get it, in
 * arrival order; a waiter it cannot serve (a larger request, another model) keeps its place
 * without blocking those behind it. A wake during a pass starts the pass again from the head at
 * the next hand-over, so capacity freed meanwhile goes to the earliest waiters, and none goes
 * unnoticed. (A waiter further back that tries in the instant between a settle and its wake can
 * still take what the settle freed: the order is first come, first served up to that instant.) A request that arrives while others wait does not try ahead of
 * them: it joins the tail and a pass begins.
 *
 * <p>All blocking work (the store's reserve) runs on the waiting requests' own threads; the
 * threads that wake the queue (a settling request, the timer) only signal. A waiter leaves at its
 * deadline (refused with the pool's own reason and retry time), when its try is refused with a
 * retry time past its deadline, or when its thread is interrupted (its caller went away).
 *
 * <p>One lock guards the queue, a {@link ReentrantLock} so that waiting virtual threads unmount.
 * The queue holds at most {@code KEYPOOL_MAX_QUEUE} waiters; the next request is refused at once.
 */
final class WaitQueue {

    /** How many of the last waits are kept for the status. */
    static final int RECENT_WAITS = 20;

    /** One try at a reservation, refused with the pool's {@link NoAvailableKeyException}, never announced. */
    @FunctionalInterface
    interface Attempt {
        Reservation attempt();
    }

    private final Provider provider;
    private final Clock clock;
    private final WakeScheduler scheduler;
    private final KeyEvents events;
    private final long maxWaitMillis;
    private final int capacity;
    private final ReentrantLock lock = new ReentrantLock();
    /** In arrival order. */
    private final List<Waiter> waiters = new ArrayList<>();
    /** The waiter whose turn it is in the pass under way; {@code null} when no pass is. */
    private Waiter turn;
    /** Whether capacity may have freed up during the pass under way: another pass follows it. */
    private boolean again;
    /** Counts the wakes, so that a request that was refused just before one joins knowing it missed it. */
    private long wakes;
    /** When the next timed wake runs; {@link Long#MAX_VALUE} when none is pending. */
    private long wakeAt = Long.MAX_VALUE;
    /** Why the last waiter was refused, for the event of a request refused without a try. */
    private DenialReason lastReason;
    private final long[] recent = new long[RECENT_WAITS];
    private long recentCount;
    private volatile int length;

    WaitQueue(Provider provider, Clock clock, WakeScheduler scheduler, KeyEvents events, long maxWaitMillis,
            int capacity) {
        this.provider = provider;
        this.clock = clock;
        this.scheduler = scheduler;
        this.events = events;
        this.maxWaitMillis = maxWaitMillis;
        this.capacity = capacity;
    }

    private static final class Waiter {
        final Condition signal;
        final long sinceMillis;
        final long deadlineMillis;
        boolean expired;

        Waiter(Condition signal, long sinceMillis, long deadlineMillis) {
            this.signal = signal;
            this.sinceMillis = sinceMillis;
            this.deadlineMillis = deadlineMillis;
        }
    }

    /**
     * A reservation from {@code attempt}, now or after waiting for one.
     *
     * @throws NoAvailableKeyException at once when the refusal names no time within the maximum
     *                                 wait or the queue is full; later when the wait ends refused
     * @throws KeyOperationException   when the thread is interrupted while it waits (its interrupt
     *                                 flag set again)
     */
    Reservation acquire(String model, long tokens, Attempt attempt) {
        long now = clock.millis();
        long deadline = now + maxWaitMillis;
        NoAvailableKeyException refused = null;
        long wakesBefore;
        lock.lock();
        try {
            wakesBefore = wakes;
        } finally {
            lock.unlock();
        }
        if (length == 0) {
            try {
                return attempt.attempt();
            } catch (NoAvailableKeyException e) {
                if (!worthWaiting(e, deadline)) {
                    throw e;
                }
                refused = e;
            }
        }
        Waiter waiter;
        lock.lock();
        try {
            if (waiters.size() >= capacity) {
                throw full(refused, now, model, tokens);
            }
            waiter = new Waiter(lock.newCondition(), now, deadline);
            waiters.add(waiter);
            length = waiters.size();
            if (refused == null || wakes != wakesBefore) {
                // it joined others without a try, or capacity freed up since its try: a pass lets it try
                wakeNow();
            }
            if (refused != null) {
                noteRefusal(refused);
            }
        } finally {
            lock.unlock();
        }
        Runnable cancelDeadline = scheduler.schedule(deadline, () -> expire(waiter));
        Reservation served = null;
        try {
            served = await(waiter, attempt, refused);
            return served;
        } finally {
            cancelDeadline.run();
            ended(waiter, served != null);
        }
    }

    /**
     * A reservation from {@code attempt} for a request that does not wait (it may go to another
     * provider first): refused without a try while others wait, so that it does not take what
     * frees up ahead of them.
     */
    Reservation withoutWaiting(String model, long tokens, Attempt attempt) {
        if (length > 0) {
            lock.lock();
            try {
                if (!waiters.isEmpty()) {
                    long now = clock.millis();
                    return refuse(now, model, tokens, waiters.size() + " requests are waiting for a "
                            + provider.id() + " key, and go first");
                }
            } finally {
                lock.unlock();
            }
        }
        return attempt.attempt();
    }

    /** Capacity may have freed up: the waiters try again, in order. */
    void wake() {
        lock.lock();
        try {
            wakeNow();
        } finally {
            lock.unlock();
        }
    }

    /** How many requests wait now. */
    int length() {
        return length;
    }

    int capacity() {
        return capacity;
    }

    long maxWaitMillis() {
        return maxWaitMillis;
    }

    /** The last waits (served or not), oldest first, in millis. */
    List<Long> recentWaits() {
        lock.lock();
        try {
            int count = (int) Math.min(recentCount, RECENT_WAITS);
            List<Long> waits = new ArrayList<>(count);
            for (long i = recentCount - count; i < recentCount; i++) {
                waits.add(recent[(int) (i % RECENT_WAITS)]);
            }
            return List.copyOf(waits);
        } finally {
            lock.unlock();
        }
    }

    // ---- under the lock -----------------------------------------------------------------------------

    private Reservation await(Waiter waiter, Attempt attempt, NoAvailableKeyException refused) {
        NoAvailableKeyException last = refused;
        lock.lock();
        try {
            while (true) {
                while (turn != waiter && !waiter.expired) {
                    try {
                        waiter.signal.await();
                    } catch (InterruptedException e) {
                        leave(waiter);
                        Thread.currentThread().interrupt();
                        throw new KeyOperationException("interrupted while waiting for a " + provider.id() + " key", e);
                    }
                }
                if (turn != waiter) {
                    leave(waiter);
                    throw waitedTooLong(last, waiter);
                }
                Reservation reservation = null;
                NoAvailableKeyException denied = null;
                lock.unlock();
                try {
                    reservation = attempt.attempt();
                } catch (NoAvailableKeyException e) {
                    denied = e;
                } catch (RuntimeException | Error e) {
                    lock.lock();
                    leave(waiter);
                    throw e;
                }
                lock.lock();
                if (reservation != null) {
                    leave(waiter);
                    return reservation;
                }
                last = denied;
                if (waiter.expired || !worthWaiting(denied, waiter.deadlineMillis)) {
                    leave(waiter);
                    throw waiter.expired ? waitedTooLong(denied, waiter) : denied;
                }
                noteRefusal(denied);
                passTurn(waiter);
            }
        } finally {
            lock.unlock();
        }
    }

    /** Starts a pass from the head, or asks for another once the pass under way ends. */
    private void wakeNow() {
        wakes++;
        if (waiters.isEmpty()) {
            return;
        }
        if (turn != null) {
            again = true;
        } else {
            giveTurn(waiters.get(0));
        }
    }

    private void giveTurn(Waiter next) {
        turn = next;
        next.signal.signal();
    }

    /** The waiter tried and stays: the turn goes to the one after it, or the pass ends. */
    private void passTurn(Waiter waiter) {
        int index = waiters.indexOf(waiter);
        handOnFrom(index + 1);
    }

    /** The waiter leaves the queue, handing the turn on if it held it. */
    private void leave(Waiter waiter) {
        int index = waiters.indexOf(waiter);
        if (index >= 0) {
            waiters.remove(index);
            length = waiters.size();
        }
        if (turn == waiter) {
            handOnFrom(index);
        }
    }

    /**
     * Gives the turn to the waiter at {@code index}, or ends the pass. After a wake during the pass
     * the pass starts again from the head instead: what freed up goes to the earliest waiters first.
     */
    private void handOnFrom(int index) {
        if (again) {
            again = false;
            if (!waiters.isEmpty()) {
                giveTurn(waiters.get(0));
                return;
            }
        }
        if (index >= 0 && index < waiters.size()) {
            giveTurn(waiters.get(index));
            return;
        }
        turn = null;
    }

    /** Whether a pass is under way (a waiter holds the turn); for tests that must let one end. */
    boolean passing() {
        lock.lock();
        try {
            return turn != null;
        } finally {
            lock.unlock();
        }
    }

    /** Wakes the queue at {@code atMillis}, unless a wake no later is pending. */
    private void wakeAt(long atMillis) {
        if (atMillis >= wakeAt) {
            return;
        }
        wakeAt = atMillis;
        scheduler.schedule(atMillis, () -> {
            lock.lock();
            try {
                if (wakeAt == atMillis) {
                    wakeAt = Long.MAX_VALUE;
                }
                wakeNow();
            } finally {
                lock.unlock();
            }
        });
    }

    private void expire(Waiter waiter) {
        lock.lock();
        try {
            waiter.expired = true;
            waiter.signal.signal();
        } finally {
            lock.unlock();
        }
    }

    private long soonestWake(long now) {
        return wakeAt != Long.MAX_VALUE ? Math.max(wakeAt, now) : now + ApiKeyRotator.CONCURRENCY_RETRY_MILLIS;
    }

    /** A waiter's refusal: the queue wakes when it names, and it says why the next request is refused. */
    private void noteRefusal(NoAvailableKeyException refused) {
        if (refused.exhaustion() != null) {
            lastReason = refused.exhaustion().reason();
        }
        wakeAt(refused.retryAtMillis());
    }

    /** Refuses a request without a try: others wait ahead of it. */
    private <T> T refuse(long now, String model, long tokens, String why) {
        long retryAt = soonestWake(now);
        throw new NoAvailableKeyException(provider, NoAvailableKeyException.Reason.NO_HEADROOM, retryAt,
                "No " + provider.id() + " key can take " + tokens + " tokens now: " + why, null, null,
                new KeyEvent.PoolExhausted(now, provider, model, tokens, lastReason, retryAt));
    }

    private NoAvailableKeyException full(NoAvailableKeyException refused, long now, String model, long tokens) {
        String message = "the " + capacity + " places in the queue for a " + provider.id()
                + " key are taken (KEYPOOL_MAX_QUEUE)";
        if (refused != null) {
            return new NoAvailableKeyException(provider, refused.reason(), refused.retryAtMillis(),
                    refused.getMessage() + "; " + message, null, refused.lastFailure(), refused.exhaustion());
        }
        return refuse(now, model, tokens, message);
    }

    private NoAvailableKeyException waitedTooLong(NoAvailableKeyException last, Waiter waiter) {
        long now = clock.millis();
        String waited = "; waited " + Math.max(0, now - waiter.sinceMillis) / 1000 + " s of the "
                + maxWaitMillis / 1000 + " s allowed (KEYPOOL_MAX_WAIT_SECONDS)";
        if (last != null) {
            return new NoAvailableKeyException(provider, last.reason(), last.retryAtMillis(),
                    last.getMessage() + waited, null, last.lastFailure(), last.exhaustion());
        }
        return new NoAvailableKeyException(provider, NoAvailableKeyException.Reason.NO_HEADROOM, soonestWake(now),
                "No " + provider.id() + " key freed up in time" + waited, null);
    }

    /** Whether a refused request may wait: the pool names a time a key frees up, before its deadline. */
    private static boolean worthWaiting(NoAvailableKeyException refused, long deadlineMillis) {
        return switch (refused.reason()) {
            case NO_KEYS, REQUEST_TOO_LARGE, ALL_KEYS_FAILED -> false;
            case ALL_COOLING_DOWN, ALL_DEACTIVATED, NO_HEADROOM -> refused.retryAtMillis() != KeyState.NEVER
                    && refused.retryAtMillis() <= deadlineMillis;
        };
    }

    /** Records the wait for the status and announces it (the event outside the lock). */
    private void ended(Waiter waiter, boolean served) {
        long now = clock.millis();
        long waited = Math.max(0, now - waiter.sinceMillis);
        lock.lock();
        try {
            recent[(int) (recentCount % RECENT_WAITS)] = waited;
            recentCount++;
        } finally {
            lock.unlock();
        }
        events.publish(() -> new KeyEvent.RequestWaited(now, provider, waited, served));
    }
}
