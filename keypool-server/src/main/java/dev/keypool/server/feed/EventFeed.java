package dev.keypool.server.feed;

import dev.keypool.event.KeyEvent;
import dev.keypool.event.KeyEventListener;
import dev.keypool.usage.Periodic;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The live feed behind {@code GET /api/admin/events}: every key event, and the full status at most
 * once a second when something changed (and every few seconds regardless, since usage windows slide
 * without events).
 *
 * <h2>Threads</h2>
 * Key events arrive on request threads and must not block them, so each subscriber has a bounded
 * queue that events are offered to; a subscriber that cannot keep up loses events (and is told so
 * with a {@code feed_overflow} frame) rather than slowing the gateway. The subscriber's own thread
 * (a virtual thread serving its HTTP response) drains the queue. Nothing on the request path takes
 * a lock: the recent events are a ring of atomic slots. One scheduler thread builds the status JSON
 * once and offers it to every subscriber. Events are the feed's only input: an admin's reset or
 * deactivation reaches it as the key's event, like everything else.
 */
public final class EventFeed implements KeyEventListener, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EventFeed.class);

    /** Events a slow subscriber may fall behind by before it loses some. */
    static final int QUEUE_CAPACITY = 1024;

    /** Recent events replayed to a new subscriber, so a reloaded dashboard is not empty. */
    static final int REPLAYED_EVENTS = 50;

    /** Slots of the ring of recent events: a power of two above {@link #REPLAYED_EVENTS}. */
    private static final int RING = 64;

    private record Recent(long sequence, KeyEvent event) {
    }

    /** Status is pushed this often even when no event arrived, since windows slide with time. */
    static final Duration STATUS_REFRESH = Duration.ofSeconds(5);

    private final Supplier<String> statusJson;
    private final Set<Subscription> subscribers = ConcurrentHashMap.newKeySet();
    /**
     * The last {@link #RING} events, lock-free: a writer takes the next sequence number and sets its
     * slot; a reader keeps the slots whose sequence is the one it expects (a slot overwritten while
     * it read is skipped, not shown out of order). Kept as events, not JSON: most events are never
     * replayed, so they are serialised only when they are.
     */
    private final AtomicReferenceArray<Recent> recent = new AtomicReferenceArray<>(RING);
    private final AtomicLong published = new AtomicLong();
    private final AtomicBoolean changed = new AtomicBoolean(true);
    private final Periodic statusPushes;
    private volatile long lastStatusMillis;
    private volatile boolean closed;

    /** @param statusJson builds the full status JSON; called on the feed's own thread */
    public EventFeed(Supplier<String> statusJson) {
        this(statusJson, null);
    }

    /**
     * @param statusJson builds the full status JSON; called on {@code scheduler}
     * @param scheduler  the process's one scheduler, or {@code null} for a thread of the feed's own
     */
    public EventFeed(Supplier<String> statusJson, ScheduledExecutorService scheduler) {
        this.statusJson = statusJson;
        this.statusPushes = Periodic.every(Duration.ofSeconds(1), "keypool-event-feed", scheduler, this::pushStatusIfDue);
    }

    @Override
    public void onEvent(KeyEvent event) {
        changed.set(true);
        if (closed) {
            return;
        }
        long sequence = published.getAndIncrement();
        recent.set((int) (sequence & (RING - 1)), new Recent(sequence, event));
        if (subscribers.isEmpty()) {
            return;
        }
        Frame frame = frame(event);
        for (Subscription subscriber : subscribers) {
            subscriber.offer(frame);
        }
    }

    /**
     * A new subscriber: its first frames are the current status and the recent events.
     *
     * @throws IllegalStateException when the feed is closed (the server is stopping)
     */
    public Subscription subscribe() {
        if (closed) {
            throw new IllegalStateException("the event feed is closed");
        }
        Subscription subscription = new Subscription();
        subscription.offer(Frame.event("status", statusJson.get()));
        long end = published.get();
        for (long sequence = Math.max(0, end - REPLAYED_EVENTS); sequence < end; sequence++) {
            Recent slot = recent.get((int) (sequence & (RING - 1)));
            if (slot != null && slot.sequence() == sequence) {
                subscription.offer(frame(slot.event()));
            }
        }
        subscribers.add(subscription);
        return subscription;
    }

    private static Frame frame(KeyEvent event) {
        return Frame.event(event.type(), dev.keypool.providers.internal.Json.write(EventJson.of(event)));
    }

    public int subscriberCount() {
        return subscribers.size();
    }

    /** Ends every subscription (their streams finish) and stops the status pushes. */
    @Override
    public void close() {
        closed = true;
        statusPushes.close();
        for (Subscription subscriber : subscribers) {
            subscriber.end();
        }
    }

    private void pushStatusIfDue() {
        try {
            if (subscribers.isEmpty()) {
                return;
            }
            long now = System.currentTimeMillis();
            boolean stale = now - lastStatusMillis >= STATUS_REFRESH.toMillis();
            if (!changed.getAndSet(false) && !stale) {
                return;
            }
            lastStatusMillis = now;
            Frame frame = Frame.event("status", statusJson.get());
            for (Subscription subscriber : subscribers) {
                subscriber.offer(frame);
            }
        } catch (RuntimeException e) {
            LOG.warn("Could not push the status to the event feed", e);
        }
    }

    /** One server-sent event: {@code event: name} and {@code data: json}, or the end of the stream. */
    public record Frame(String name, String data) {

        static final Frame END = new Frame(null, null);

        static Frame event(String name, String data) {
            return new Frame(name, data);
        }

        public boolean isEnd() {
            return name == null;
        }

        /** The frame on the wire. */
        public String wire() {
            return "event: " + name + "\ndata: " + data + "\n\n";
        }
    }

    /** One connected dashboard (or curl). Closing it unsubscribes. */
    public final class Subscription implements AutoCloseable {

        private final BlockingQueue<Frame> queue = new ArrayBlockingQueue<>(QUEUE_CAPACITY);
        private final AtomicBoolean overflowed = new AtomicBoolean();

        private Subscription() {
        }

        void offer(Frame frame) {
            if (!queue.offer(frame) && overflowed.compareAndSet(false, true)) {
                LOG.debug("An event-feed subscriber fell behind; dropping events");
            }
        }

        void end() {
            queue.clear();
            queue.offer(Frame.END);
        }

        /**
         * The next frame, waiting at most {@code timeout}; {@code null} when none came (time to
         * send a keep-alive); {@link Frame#isEnd()} when the feed closed.
         */
        public Frame next(Duration timeout) throws InterruptedException {
            if (overflowed.getAndSet(false)) {
                return Frame.event("feed_overflow", "{\"type\":\"feed_overflow\",\"message\":"
                        + "\"events were dropped because this client fell behind\"}");
            }
            return queue.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        }

        @Override
        public void close() {
            subscribers.remove(this);
        }
    }
}
