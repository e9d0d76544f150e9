package dev.keypool.server.feed;

import dev.keypool.event.KeyEvent;
import dev.keypool.event.KeyEventListener;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
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
 * (a virtual thread serving its HTTP response) drains the queue. One scheduler thread builds the
 * status JSON once and offers it to every subscriber.
 */
public final class EventFeed implements KeyEventListener, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EventFeed.class);

    /** Events a slow subscriber may fall behind by before it loses some. */
    static final int QUEUE_CAPACITY = 1024;

    /** Recent events replayed to a new subscriber, so a reloaded dashboard is not empty. */
    static final int REPLAYED_EVENTS = 50;

    /** Status is pushed this often even when no event arrived, since windows slide with time. */
    static final Duration STATUS_REFRESH = Duration.ofSeconds(5);

    private final Supplier<String> statusJson;
    private final Set<Subscription> subscribers = ConcurrentHashMap.newKeySet();
    /** Kept as events, not JSON: most events are never replayed, so they are serialised only when they are. */
    private final ArrayDeque<KeyEvent> recent = new ArrayDeque<>();
    private final AtomicBoolean changed = new AtomicBoolean(true);
    private final ScheduledExecutorService scheduler;
    private volatile long lastStatusMillis;
    private volatile boolean closed;

    /** @param statusJson builds the full status JSON; called on the feed's own thread */
    public EventFeed(Supplier<String> statusJson) {
        this.statusJson = statusJson;
        this.scheduler = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "keypool-event-feed");
            thread.setDaemon(true);
            return thread;
        });
        scheduler.scheduleWithFixedDelay(this::pushStatusIfDue, 1, 1, TimeUnit.SECONDS);
    }

    @Override
    public void onEvent(KeyEvent event) {
        changed.set(true);
        if (closed) {
            return;
        }
        synchronized (recent) {
            recent.addLast(event);
            if (recent.size() > REPLAYED_EVENTS) {
                recent.removeFirst();
            }
        }
        if (subscribers.isEmpty()) {
            return;
        }
        Frame frame = frame(event);
        for (Subscription subscriber : subscribers) {
            subscriber.offer(frame);
        }
    }

    /** Marks the status as changed by something that is not a key event (an admin action). */
    public void statusChanged() {
        changed.set(true);
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
        List<KeyEvent> replayed;
        synchronized (recent) {
            replayed = List.copyOf(recent);
        }
        replayed.forEach(event -> subscription.offer(frame(event)));
        subscribers.add(subscription);
        return subscription;
    }

    private static Frame frame(KeyEvent event) {
        return Frame.event(event.type(), dev.keypool.server.Json.write(EventJson.of(event)));
    }

    public int subscriberCount() {
        return subscribers.size();
    }

    /** Ends every subscription (their streams finish) and stops the status pushes. */
    @Override
    public void close() {
        closed = true;
        scheduler.shutdownNow();
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
