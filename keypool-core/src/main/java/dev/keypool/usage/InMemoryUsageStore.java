package dev.keypool.usage;

import dev.keypool.config.KeyId;
import dev.keypool.config.SecretDigest;
import dev.keypool.config.WindowLimits;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The {@link UsageStore} of one process: lock-free, exact to one bucket, no I/O.
 *
 * <h2>Design</h2>
 * Each key has one {@link AtomicReference} to an immutable {@link Window}: a ring of minute
 * buckets, the bucket number at its head and that bucket's counts, the day's number and total, the
 * tokens of reservations not yet settled, and the key's state. Every write (reserve, settle, state
 * change) reads the current window, builds the next one and compare-and-sets it, retrying on a
 * lost race, so the check "is there room in both windows" and the update happen as one step
 * without a lock. A reserve never blocks another key, and copies nothing but the small window
 * record. The newest bucket's counts live in the record, not in the rings, so a settle in the
 * head's bucket copies nothing else either; only a settle that moves the head to a later bucket
 * copies the rings (61 longs each by default), writing the old head's counts into its slot: at most
 * once per bucket and key, however many requests the key serves in it. (When request limits added
 * the second ring, copying both on every settle, 1 KB, was most of what an acquire and commit
 * allocated, and most of what it newly cost.)
 *
 * <h2>The sliding minute, where the provider sees it</h2>
 * A reservation's tokens are <em>held</em> from its admission until it is settled, counting in the
 * minute and the day all that time, however long the request takes; settling (commit, release,
 * expiry) puts the tokens actually used in the bucket of the settle. A request reaches the
 * provider somewhere between its admission and its settlement, so its tokens occupy the window
 * until at least 60 s after the latest moment the provider can have seen them: in any 60 s of
 * arrivals at the provider a key gets no more than its limit, however late requests arrive.
 * (Anchoring them at admission let three gateways admit a minute's worth in one second, deliver
 * it 1.2 to 1.5 s later, and admit the next minute's 61 s after admission: 1,200 tokens in 60 s of
 * arrivals against 600.)
 *
 * <p>Time is cut into buckets of {@code bucketMillis}; the ring holds {@code 60 s / bucketMillis + 1}
 * of them. Tokens settled in bucket {@code x} count until bucket {@code x + ring length} begins,
 * which is at least 60 seconds after any moment in bucket {@code x}: the store may refuse up to
 * one bucket early, never admit late. Stale slots are not swept eagerly; a slot counts only while
 * its bucket number is within a ring length of the newest bucket, and is zeroed when reused.
 *
 * <h2>The day</h2>
 * The day counts what was settled in it plus what is held. Held tokens count in every day until
 * they are settled, so a request admitted before midnight and still running after it counts in
 * both days, since the provider may count it in either.
 *
 * <h2>Requests</h2>
 * Requests are counted beside the tokens, the same way: each reservation holds one request from
 * its admission until it is settled, and settling puts one request in the request ring's bucket of
 * the settle (whatever the tokens used: a released request may still have reached the provider),
 * so the request limits hold in any 60 s of arrivals as the token limits do. One compare-and-set
 * checks tokens and requests in both windows: a reservation takes both, or neither.
 *
 * <h2>Keys</h2>
 * Windows belong to a key's {@link KeyFingerprint}; {@link #register} binds this process's handles
 * ({@link KeyId}) to them in an immutable map that every call reads once, replaced whole (with the
 * new handles added) on a new registration, so the hot path costs one lookup as before.
 *
 * <h2>Pending tickets</h2>
 * Granted tickets are kept in a concurrent map until settled, so that {@link #releaseExpired}
 * can charge the ones nobody settled. Removal from the map decides who settles a ticket: the
 * caller or the sweeper, never both.
 */
public final class InMemoryUsageStore implements UsageStore {

    /** The default bucket width: refusals come at most this much before a token expires. */
    public static final long DEFAULT_BUCKET_MILLIS = 1_000;

    private final long bucketMillis;
    private final int ringLength;
    private final Window empty;
    private final KeyFingerprinter fingerprinter;
    private final Map<KeyFingerprint, AtomicReference<Window>> windows = new ConcurrentHashMap<>();
    /**
     * This process's handles on the registered keys, straight to their windows (no record between:
     * the least-used selector looks every key up on every request); replaced whole, never changed
     * once published.
     */
    private volatile Map<KeyId, AtomicReference<Window>> handles = Map.of();
    /** The fingerprint of each registered handle; replaced with {@link #handles}. */
    private volatile Map<KeyId, KeyFingerprint> fingerprints = Map.of();
    private final Map<Long, Ticket> pending = new ConcurrentHashMap<>();
    private final AtomicLong ticketIds = new AtomicLong();
    /** Windows of a snapshot that named keys by index (format 1), claimed by whichever key registers at that index. */
    private final Map<KeyId, Window> legacy = new HashMap<>();
    /** Until when every minute limit counts as reached ({@link #countMinutesFullUntil}); read on every reserve. */
    private volatile long minutesFullUntil;

    public InMemoryUsageStore() {
        this(DEFAULT_BUCKET_MILLIS);
    }

    /**
     * @param bucketMillis the width of a minute bucket; must divide 60 000
     */
    public InMemoryUsageStore(long bucketMillis) {
        this(bucketMillis, KeyFingerprinter.random());
    }

    /** A store whose fingerprints are made with {@code fingerprinter}, so that they outlive the process. */
    InMemoryUsageStore(long bucketMillis, KeyFingerprinter fingerprinter) {
        if (bucketMillis <= 0 || MINUTE_MILLIS % bucketMillis != 0) {
            throw new IllegalArgumentException("bucketMillis must divide 60000, was " + bucketMillis);
        }
        this.bucketMillis = bucketMillis;
        this.ringLength = (int) (MINUTE_MILLIS / bucketMillis) + 1;
        this.empty = new Window(new long[ringLength], Long.MIN_VALUE / 2, 0, 0, Long.MIN_VALUE, 0, 0,
                KeyState.ACTIVE, new long[ringLength], 0, 0, 0, 0);
        this.fingerprinter = fingerprinter;
    }

    /**
     * One key's windows and state, never changed after it is published.
     *
     * @param ring      the tokens settled per bucket, for the buckets before {@code head} (the slot
     *                  of {@code head} itself is not read: its tokens are {@code headTokens})
     * @param minuteSum the tokens settled in the live buckets as seen from {@code head}, kept so
     *                  that a read costs O(buckets passed since the last write), not O(ring)
     * @param headTokens the tokens settled in bucket {@code head}
     * @param dayTokens the tokens settled on {@code epochDay}
     * @param held      the tokens of the reservations not yet settled: in the minute and every day
     * @param requests  the requests settled per bucket, a ring parallel to {@code ring} (same head)
     * @param requestMinuteSum the requests settled in the live buckets as seen from {@code head}
     * @param headRequests the requests settled in bucket {@code head}
     * @param dayRequests the requests settled on {@code epochDay}
     * @param heldRequests the reservations not yet settled, one request each
     */
    private record Window(long[] ring, long head, long minuteSum, long headTokens, long epochDay, long dayTokens,
            long held, KeyState state, long[] requests, long requestMinuteSum, long headRequests, long dayRequests,
            long heldRequests) {

        Window withState(KeyState next) {
            return new Window(ring, head, minuteSum, headTokens, epochDay, dayTokens, held, next, requests,
                    requestMinuteSum, headRequests, dayRequests, heldRequests);
        }
    }

    @Override
    public synchronized void register(Map<KeyId, SecretDigest> keys) {
        Map<KeyId, AtomicReference<Window>> next = new HashMap<>(handles);
        Map<KeyId, KeyFingerprint> nextFingerprints = new HashMap<>(fingerprints);
        Map<KeyId, KeyFingerprint> adding = new HashMap<>();
        keys.forEach((key, digest) -> {
            KeyFingerprint fingerprint = fingerprinter.fingerprint(digest);
            KeyFingerprint bound = fingerprints.get(key);
            if (bound != null && !bound.equals(fingerprint)) {
                throw rebound(key);
            }
            adding.put(key, fingerprint);
        });
        adding.forEach((key, fingerprint) -> {
            Window claimed = legacy.remove(key);
            next.put(key, windows.computeIfAbsent(fingerprint,
                    f -> new AtomicReference<>(claimed != null ? claimed : empty)));
            nextFingerprints.put(key, fingerprint);
        });
        fingerprints = nextFingerprints;
        // A HashMap, never changed once published: its lookups compare hashes before equals, the
        // immutable Map.copyOf probes with equals (measured 1.3x slower on 100 keys, least-used).
        handles = next;
        // What no configured key claims belongs to a key no longer configured.
        legacy.clear();
    }

    /**
     * Counts every key's minute as full until {@code untilMillis}, whatever its tokens: for a store
     * that cannot know what a lost interval admitted (an unclean stop, a shared store that lost
     * its data). Keys without a minute limit are not held. Never shortens an earlier hold.
     */
    public void countMinutesFullUntil(long untilMillis) {
        synchronized (this) {
            minutesFullUntil = Math.max(minutesFullUntil, untilMillis);
        }
    }

    @Override
    public KeyFingerprint fingerprint(KeyId key) {
        KeyFingerprint fingerprint = fingerprints.get(key);
        if (fingerprint == null) {
            throw notRegistered(key);
        }
        return fingerprint;
    }

    @Override
    public ReserveResult reserve(KeyId key, WindowLimits limits, long tokens, long nowMillis, DayWindow day,
            long expiresMillis) {
        Objects.requireNonNull(limits, "limits");
        if (tokens < 0) {
            throw new IllegalArgumentException("tokens must be >= 0, was " + tokens);
        }
        AtomicReference<Window> ref = windowOf(key);
        long bucket = Math.floorDiv(nowMillis, bucketMillis);
        while (true) {
            Window current = ref.get();
            if (!current.state.availableAt(nowMillis)) {
                DenialReason reason = current.state.status() == KeyStatus.COOLING_DOWN
                        ? DenialReason.COOLING_DOWN : DenialReason.DEACTIVATED;
                return new ReserveResult.Denied(reason, current.state.untilMillis());
            }
            // A rest that is over lets one reservation through, the probe; the others wait for its outcome.
            KeyState probing = current.state.status() == KeyStatus.ACTIVE ? null
                    : current.state.withUntil(nowMillis + PROBE_MILLIS);
            if (tokens > limits.perMinute() || tokens > limits.perDay()) {
                return new ReserveResult.Denied(DenialReason.EXCEEDS_LIMIT, KeyState.NEVER);
            }
            long fullUntil = minutesFullUntil;
            if (nowMillis < fullUntil && limits.anyMinuteLimited()) {
                return new ReserveResult.Denied(limits.minuteLimited() ? DenialReason.MINUTE_LIMIT
                        : DenialReason.REQUEST_MINUTE_LIMIT, fullUntil);
            }
            long settledToday = dayTokens(current, day);
            if (tokens > limits.perDay() - settledToday - current.held) {
                return new ReserveResult.Denied(DenialReason.DAY_LIMIT, day.nextStartMillis());
            }
            if (1 > limits.requestsPerDay() - dayRequests(current, day) - current.heldRequests) {
                return new ReserveResult.Denied(DenialReason.REQUEST_DAY_LIMIT, day.nextStartMillis());
            }
            long head = Math.max(current.head, bucket);
            long settledMinute = minuteSum(current.ring, current.minuteSum, current.head, head);
            if (tokens > limits.perMinute() - settledMinute - current.held) {
                return new ReserveResult.Denied(DenialReason.MINUTE_LIMIT, minuteRetryAt(current.ring,
                        current.headTokens, current.head, head, settledMinute, current.held, tokens, limits.perMinute(),
                        nowMillis));
            }
            long requestsMinute = minuteSum(current.requests, current.requestMinuteSum, current.head, head);
            if (1 > limits.requestsPerMinute() - requestsMinute - current.heldRequests) {
                return new ReserveResult.Denied(DenialReason.REQUEST_MINUTE_LIMIT, minuteRetryAt(current.requests,
                        current.headRequests, current.head, head, requestsMinute, current.heldRequests, 1,
                        limits.requestsPerMinute(), nowMillis));
            }
            // The rings are untouched: held tokens and requests are in no bucket until they are settled.
            KeyState state = probing != null ? probing : current.state;
            boolean sameDay = current.epochDay >= day.epochDay();
            Window next = new Window(current.ring, current.head, current.minuteSum, current.headTokens,
                    sameDay ? current.epochDay : day.epochDay(), sameDay ? current.dayTokens : 0,
                    current.held + tokens, state, current.requests, current.requestMinuteSum, current.headRequests,
                    sameDay ? current.dayRequests : 0, current.heldRequests + 1);
            if (ref.compareAndSet(current, next)) {
                // Held tokens are in no bucket: the ticket says when and on which day the caller reserved.
                Ticket ticket = new Ticket(ticketIds.incrementAndGet(), key, tokens, nowMillis, day.epochDay(),
                        expiresMillis);
                pending.put(ticket.id(), ticket);
                return new ReserveResult.Granted(ticket, probing);
            }
        }
    }

    @Override
    public boolean settle(Ticket ticket, long actualTokens, long nowMillis, DayWindow day) {
        if (actualTokens < 0) {
            throw new IllegalArgumentException("actualTokens must be >= 0, was " + actualTokens);
        }
        boolean wasPending = pending.remove(ticket.id()) != null;
        // An expired ticket was charged in full: only what the provider reported beyond it is added.
        long charge = wasPending ? actualTokens : Math.max(0, actualTokens - ticket.tokens());
        // An expired ticket's request was charged too; a pending one's is, once, now.
        long request = wasPending ? 1 : 0;
        end(ticket.key(), wasPending ? ticket.tokens() : 0, charge, request, request, nowMillis, day);
        return wasPending;
    }

    @Override
    public KeyUsage usage(KeyId key, long nowMillis, DayWindow day) {
        long fullUntil = minutesFullUntil;
        return usageOf(windowOf(key).get(), nowMillis, day, nowMillis < fullUntil ? fullUntil : 0);
    }

    @Override
    public List<KeyUsage> usages(List<KeyId> keys, long nowMillis, DayWindow day) {
        // Both volatile fields read once for the batch: the least-used selector asks for every key.
        Map<KeyId, AtomicReference<Window>> registered = handles;
        long fullUntil = minutesFullUntil;
        long minuteFullUntil = nowMillis < fullUntil ? fullUntil : 0;
        List<KeyUsage> usages = new ArrayList<>(keys.size());
        for (KeyId key : keys) {
            AtomicReference<Window> window = registered.get(key);
            usages.add(usageOf((window != null ? window : windowOf(key)).get(), nowMillis, day, minuteFullUntil));
        }
        return usages;
    }

    private KeyUsage usageOf(Window window, long nowMillis, DayWindow day, long minuteFullUntil) {
        long head = Math.max(window.head, Math.floorDiv(nowMillis, bucketMillis));
        return new KeyUsage(minuteTokens(window, head) + window.held, dayTokens(window, day) + window.held,
                window.state, minuteFullUntil,
                minuteSum(window.requests, window.requestMinuteSum, window.head, head) + window.heldRequests,
                dayRequests(window, day) + window.heldRequests);
    }

    @Override
    public KeyState state(KeyId key) {
        return windowOf(key).get().state;
    }

    @Override
    public void setState(KeyId key, KeyState state) {
        Objects.requireNonNull(state, "state");
        AtomicReference<Window> ref = windowOf(key);
        ref.updateAndGet(w -> w.withState(state));
    }

    @Override
    public boolean compareAndSetState(KeyId key, KeyState expected, KeyState next) {
        Objects.requireNonNull(next, "next");
        AtomicReference<Window> ref = windowOf(key);
        while (true) {
            Window current = ref.get();
            if (!current.state.equals(expected)) {
                return false;
            }
            if (ref.compareAndSet(current, current.withState(next))) {
                return true;
            }
        }
    }

    @Override
    public List<Ticket> releaseExpired(long nowMillis, DayWindow day) {
        List<Ticket> released = new ArrayList<>();
        for (Ticket ticket : pending.values()) {
            // Charged in full where the sweep finds it: its request may well have reached the provider.
            if (ticket.expiresMillis() <= nowMillis && pending.remove(ticket.id(), ticket)) {
                end(ticket.key(), ticket.tokens(), ticket.tokens(), 1, 1, nowMillis, day);
                released.add(ticket);
            }
        }
        return released;
    }

    @Override
    public int pendingCount() {
        return pending.size();
    }

    /** Everything this store holds, consistent per key, for {@link DurableUsageStore} to write. */
    StoreSnapshot snapshot() {
        List<StoreSnapshot.KeyWindow> keys = new ArrayList<>(windows.size());
        windows.forEach((key, ref) -> {
            Window w = ref.get();
            keys.add(new StoreSnapshot.KeyWindow(key, null, withHead(w.ring, w.head, w.headTokens), w.head,
                    w.minuteSum, w.epochDay, w.dayTokens, w.held, w.state, withHead(w.requests, w.head, w.headRequests),
                    w.requestMinuteSum, w.dayRequests, w.heldRequests));
        });
        return new StoreSnapshot(bucketMillis, ticketIds.get(), keys);
    }

    /**
     * Raises a key's count for {@code epochDay} to at least {@code tokens} (a day ceiling that was
     * written before the tokens could be admitted): the day may then count more than was used,
     * never less. A day older than the key's is left alone.
     */
    synchronized void raiseDay(KeyFingerprint key, long epochDay, long tokens) {
        AtomicReference<Window> ref = windows.computeIfAbsent(key, k -> new AtomicReference<>(empty));
        ref.updateAndGet(w -> {
            if (w.epochDay > epochDay || (w.epochDay == epochDay && w.dayTokens >= tokens)) {
                return w;
            }
            return new Window(w.ring, w.head, w.minuteSum, w.headTokens, epochDay, tokens, w.held, w.state, w.requests,
                    w.requestMinuteSum, w.headRequests, w.epochDay == epochDay ? w.dayRequests : 0, w.heldRequests);
        });
    }

    /**
     * Raises a key's request count for {@code epochDay} to at least {@code requests}, as
     * {@link #raiseDay} does for tokens (from the request ceilings written before admission).
     */
    synchronized void raiseDayRequests(KeyFingerprint key, long epochDay, long requests) {
        AtomicReference<Window> ref = windows.computeIfAbsent(key, k -> new AtomicReference<>(empty));
        ref.updateAndGet(w -> {
            if (w.epochDay > epochDay || (w.epochDay == epochDay && w.dayRequests >= requests)) {
                return w;
            }
            return new Window(w.ring, w.head, w.minuteSum, w.headTokens, epochDay,
                    w.epochDay == epochDay ? w.dayTokens : 0, w.held, w.state, w.requests, w.requestMinuteSum,
                    w.headRequests, requests, w.heldRequests);
        });
    }

    /** The newest day {@code key}'s window has reached (a caller whose clock runs ahead may have moved it). */
    long newestDay(KeyId key) {
        return windowOf(key).get().epochDay;
    }

    /** The tokens {@code key} has on {@code epochDay}, reservations included. */
    long dayTokens(KeyId key, long epochDay) {
        Window window = windowOf(key).get();
        return (window.epochDay == epochDay ? window.dayTokens : 0) + window.held;
    }

    /** The requests {@code key} has on {@code epochDay}, reservations included. */
    long dayRequests(KeyId key, long epochDay) {
        Window window = windowOf(key).get();
        return (window.epochDay == epochDay ? window.dayRequests : 0) + window.heldRequests;
    }

    /**
     * Loads a snapshot into this store, which must be new, not yet registered, and have the
     * snapshot's bucket width. Windows a format-1 snapshot kept by index wait for the key that
     * {@link #register registers} at that index. The snapshot's pending tickets are not restored:
     * whoever held them is gone, so their held tokens are charged, in the bucket of
     * {@code nowMillis} (the process may have sent them until it stopped) and the day they were
     * held in.
     */
    synchronized void restore(StoreSnapshot snapshot, long nowMillis) {
        if (snapshot.bucketMillis() != bucketMillis) {
            throw new IllegalArgumentException("snapshot has " + snapshot.bucketMillis() + " ms buckets, store has "
                    + bucketMillis);
        }
        if (!windows.isEmpty() || !pending.isEmpty() || !handles.isEmpty()) {
            throw new IllegalStateException("restore needs an empty store");
        }
        for (StoreSnapshot.KeyWindow key : snapshot.windows()) {
            if (key.ring().length != ringLength) {
                throw new IllegalArgumentException("snapshot ring of " + key.owner() + " has " + key.ring().length
                        + " buckets, expected " + ringLength);
            }
            if (key.requests().length != ringLength) {
                throw new IllegalArgumentException("snapshot request ring of " + key.owner() + " has "
                        + key.requests().length + " buckets, expected " + ringLength);
            }
            int headSlot = slot(key.head());
            Window window = chargeHeld(new Window(key.ring().clone(), key.head(), key.minuteSum(),
                    key.ring()[headSlot], key.epochDay(), key.dayTokens(), key.held(), key.state(),
                    key.requests().clone(), key.requestMinuteSum(), key.requests()[headSlot], key.dayRequests(),
                    key.heldRequests()), nowMillis);
            if (key.key() != null) {
                windows.put(key.key(), new AtomicReference<>(window));
            } else {
                legacy.put(key.legacyIndex(), window);
            }
        }
        ticketIds.set(snapshot.nextTicketId());
    }

    /**
     * Ends a reservation: takes {@code released} tokens and {@code releasedRequests} requests off
     * what the key holds and puts {@code charge} tokens and {@code chargedRequests} requests in the
     * newest bucket (if another writer's clock ran ahead, they count longer, not shorter) and in the
     * day of {@code day} (or the key's, if it is newer).
     */
    private void end(KeyId key, long released, long charge, long releasedRequests, long chargedRequests,
            long nowMillis, DayWindow day) {
        if (released == 0 && charge == 0 && releasedRequests == 0 && chargedRequests == 0) {
            return;
        }
        AtomicReference<Window> ref = windowOf(key);
        long bucket = Math.floorDiv(nowMillis, bucketMillis);
        while (true) {
            Window current = ref.get();
            long held = Math.max(0, current.held - released);
            long heldRequests = Math.max(0, current.heldRequests - releasedRequests);
            Window next;
            if (charge == 0 && chargedRequests == 0) {
                next = new Window(current.ring, current.head, current.minuteSum, current.headTokens, current.epochDay,
                        current.dayTokens, held, current.state, current.requests, current.requestMinuteSum,
                        current.headRequests, current.dayRequests, heldRequests);
            } else {
                long head = Math.max(current.head, bucket);
                boolean sameBucket = head == current.head;
                boolean newDay = current.epochDay < day.epochDay();
                next = new Window(advanced(current.ring, current.headTokens, current.head, head), head,
                        minuteTokens(current, head) + charge, (sameBucket ? current.headTokens : 0) + charge,
                        newDay ? day.epochDay() : current.epochDay, (newDay ? 0 : current.dayTokens) + charge, held,
                        current.state, advanced(current.requests, current.headRequests, current.head, head),
                        minuteSum(current.requests, current.requestMinuteSum, current.head, head) + chargedRequests,
                        (sameBucket ? current.headRequests : 0) + chargedRequests,
                        (newDay ? 0 : current.dayRequests) + chargedRequests, heldRequests);
            }
            if (ref.compareAndSet(current, next)) {
                return;
            }
        }
    }

    /** A restored window whose held tokens are charged at {@code nowMillis}, in the day they were held in. */
    private Window chargeHeld(Window window, long nowMillis) {
        if (window.held == 0 && window.heldRequests == 0) {
            return window;
        }
        long head = Math.max(window.head, Math.floorDiv(nowMillis, bucketMillis));
        boolean sameBucket = head == window.head;
        return new Window(advanced(window.ring, window.headTokens, window.head, head), head,
                minuteTokens(window, head) + window.held, (sameBucket ? window.headTokens : 0) + window.held,
                window.epochDay, window.dayTokens + window.held, 0, window.state,
                advanced(window.requests, window.headRequests, window.head, head),
                minuteSum(window.requests, window.requestMinuteSum, window.head, head) + window.heldRequests,
                (sameBucket ? window.headRequests : 0) + window.heldRequests, window.dayRequests + window.heldRequests,
                0);
    }

    private AtomicReference<Window> windowOf(KeyId key) {
        AtomicReference<Window> window = handles.get(key);
        if (window == null) {
            throw notRegistered(key);
        }
        return window;
    }

    /** The message every store gives for a handle registered again with another key. */
    static IllegalArgumentException rebound(KeyId key) {
        return new IllegalArgumentException(key + " is registered with another key already: a handle names one key"
                + " for the store's life");
    }

    private static IllegalArgumentException notRegistered(KeyId key) {
        Objects.requireNonNull(key, "key");
        return new IllegalArgumentException(key + " was not registered with the store");
    }

    private int slot(long bucket) {
        return Math.floorMod(bucket, ringLength);
    }

    private static long dayTokens(Window window, DayWindow day) {
        return window.epochDay >= day.epochDay() ? window.dayTokens : 0;
    }

    private static long dayRequests(Window window, DayWindow day) {
        return window.epochDay >= day.epochDay() ? window.dayRequests : 0;
    }

    /** The tokens of the buckets still inside the minute when the newest bucket is {@code head}. */
    private long minuteTokens(Window window, long head) {
        return minuteSum(window.ring, window.minuteSum, window.head, head);
    }

    /**
     * What a ring (of tokens or of requests) holds in the buckets still inside the minute when the
     * newest bucket is {@code head}: its sum as of {@code ringHead} less the buckets that have
     * fallen out since.
     */
    private long minuteSum(long[] ring, long sumAtRingHead, long ringHead, long head) {
        long advance = head - ringHead;
        if (advance <= 0) {
            return sumAtRingHead;
        }
        if (advance >= ringLength) {
            return 0;
        }
        long sum = sumAtRingHead;
        for (long bucket = ringHead - ringLength + 1; bucket <= head - ringLength; bucket++) {
            sum -= ring[slot(bucket)];
        }
        return sum;
    }

    /**
     * The first moment at which the minute has room for {@code amount} (tokens, or one request),
     * as the ring's oldest settled buckets expire; a moment a bucket from now when what is held
     * alone leaves no room (it frees up when its requests end, which no clock tells).
     */
    private long minuteRetryAt(long[] ring, long ringHeadCount, long ringHead, long head, long settled, long held,
            long amount, long limit, long nowMillis) {
        long soon = (Math.floorDiv(nowMillis, bucketMillis) + 1) * bucketMillis;
        if (amount > limit - held) {
            return soon;
        }
        long freed = 0;
        for (long bucket = Math.max(ringHead - ringLength + 1, head - ringLength + 1); bucket <= ringHead; bucket++) {
            freed += bucket == ringHead ? ringHeadCount : ring[slot(bucket)];
            if (settled - freed + held + amount <= limit) {
                return (bucket + ringLength) * bucketMillis;
            }
        }
        return (head + ringLength) * bucketMillis;
    }

    /**
     * The ring as of {@code head}: the same array while the head stays in its bucket, else a copy
     * holding the old head's count {@code ringHeadCount} in its slot and nothing in the slots of
     * the buckets after it, up to {@code head} (which have fallen out of the minute, or are new).
     */
    private long[] advanced(long[] source, long ringHeadCount, long ringHead, long head) {
        if (head == ringHead) {
            return source;
        }
        long[] ring = source.clone();
        ring[slot(ringHead)] = ringHeadCount;
        long stale = Math.min(head - ringHead, ringLength);
        for (long i = 1; i <= stale; i++) {
            ring[slot(ringHead + i)] = 0;
        }
        return ring;
    }

    /** A copy of a ring with its head bucket's count in its slot: the whole ring, as a snapshot writes it. */
    private long[] withHead(long[] source, long head, long headCount) {
        long[] ring = source.clone();
        ring[slot(head)] = headCount;
        return ring;
    }
}
