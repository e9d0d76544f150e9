package dev.keypool.rotation;

import dev.keypool.config.KeyConfig;
import dev.keypool.config.KeyId;
import dev.keypool.event.KeyEvent;
import dev.keypool.usage.ReserveResult;
import dev.keypool.usage.Ticket;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Each key's requests in flight in this process, from the reservation's grant to its settling: the
 * slot each holds, its tokens in the store and its events, and the reservations not settled yet.
 *
 * <p>A key's count is one {@link AtomicInteger}, never removed once a key was served (a key a
 * reload removed still settles its requests in flight). A capped key's slots are taken by a CAS
 * loop, so that racing requests never hold more than {@link KeyConfig#maxConcurrent()} between
 * them; every slot taken is given back exactly once: by {@link #settled} when the reservation it
 * admitted settles or expires, or by {@link #giveBack} when the store then refuses the tokens.
 */
final class InFlight {

    private final ApiKeyManager manager;
    private final Map<KeyId, AtomicInteger> counts = new ConcurrentHashMap<>();
    /** By ticket: an expired one's slot is freed by {@link #freeExpired}. */
    private final Map<Ticket, Reservation> unsettled = new ConcurrentHashMap<>();

    InFlight(ApiKeyManager manager) {
        this.manager = manager;
    }

    /** Starts counting a key's requests (a key served before keeps its count). */
    void track(KeyId id) {
        counts.putIfAbsent(id, new AtomicInteger());
    }

    int count(KeyId id) {
        return counts.get(id).get();
    }

    /** Takes one of the key's slots for a request, unless it is at its cap. */
    boolean take(KeyConfig key) {
        AtomicInteger count = counts.get(key.id());
        if (!key.capped()) {
            count.incrementAndGet();
            return true;
        }
        int max = key.maxConcurrent();
        while (true) {
            int current = count.get();
            if (current >= max) {
                return false;
            }
            if (count.compareAndSet(current, current + 1)) {
                return true;
            }
        }
    }

    /** Gives back a slot {@link #take} took for a request that got no reservation. */
    void giveBack(KeyId id) {
        counts.get(id).decrementAndGet();
    }

    /** Reserves the tokens in the store, for a key whose slot {@link #take} took. */
    ReserveResult reserve(KeyConfig key, long tokens, long nowMillis) {
        long expires = nowMillis + manager.config().reservationTimeout().toMillis();
        return manager.store().reserve(key.id(), key.limits(), tokens, nowMillis, manager.day(nowMillis), expires);
    }

    /** The store granted the tokens: the reservation holds its slot until it settles or expires. */
    Reservation granted(KeyConfig key, ReserveResult.Granted granted, String model, long nowMillis) {
        Ticket ticket = granted.ticket();
        manager.events().publish(() -> new KeyEvent.KeyAcquired(nowMillis, key.id(), key.maskedKey(), model,
                ticket.tokens()));
        Reservation reservation = new Reservation(manager, key, ticket, model, granted.probing());
        unsettled.put(ticket, reservation);
        return reservation;
    }

    void commit(Reservation reservation, Ticket ticket, TokenUsage usage) {
        long now = manager.clock().millis();
        manager.store().settle(ticket, usage.totalTokens(), now, manager.day(now));
        manager.events().publish(() -> new KeyEvent.UsageCommitted(now, reservation.keyId(), reservation.maskedKey(),
                ticket.tokens(), usage.promptTokens(), usage.completionTokens()));
    }

    void release(Reservation reservation, Ticket ticket) {
        long now = manager.clock().millis();
        manager.store().settle(ticket, 0, now, manager.day(now));
        manager.events().publish(() -> new KeyEvent.ReservationReleased(now, reservation.keyId(),
                reservation.maskedKey(), ticket.tokens(), false));
    }

    /**
     * A reservation settled or expired: its slot is free (called once per reservation, by it).
     *
     * @return the key's requests still in flight
     */
    int settled(Reservation reservation, Ticket ticket) {
        unsettled.remove(ticket);
        return counts.get(reservation.keyId()).decrementAndGet();
    }

    /**
     * Frees the slots of reservations nobody settled by their ticket's own expiry, not by what the
     * store hands back: with Redis another instance may have released this one's abandoned
     * tickets, and their slots are this process's.
     */
    void freeExpired(long nowMillis) {
        for (Reservation reservation : unsettled.values()) {
            if (reservation.expiresMillis() <= nowMillis) {
                reservation.freeSlot();
            }
        }
    }
}
