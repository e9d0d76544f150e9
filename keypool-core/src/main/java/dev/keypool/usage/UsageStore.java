package dev.keypool.usage;

import dev.keypool.config.KeyId;
import dev.keypool.config.SecretDigest;
import dev.keypool.config.WindowLimits;
import java.util.List;
import java.util.Map;

/**
 * Where the usage windows and the states of keys live. Every method is one atomic step, so that a
 * shared implementation (Redis) can do each in one script round trip and many gateway instances
 * never admit more than a key's limit between them.
 *
 * <h2>The windows, where the provider sees them</h2>
 * A request reaches the provider somewhere between its reservation and its settlement, and the
 * provider counts it then. So a reservation's tokens count in the minute and the day from the
 * moment they are reserved until the ticket is settled, however long that takes, and the tokens
 * actually used then count for at least 60 s more: tokens settled at moment {@code t} count until
 * at least {@code t + 60 s}. In <em>any</em> 60-second span of arrivals at the provider a key thus
 * receives no more than its limit. A store may keep time in buckets of
 * {@link #MINUTE_MILLIS}/{@code n}, counting each bucket for one bucket longer than a minute; it
 * then refuses slightly early, never late. The day holds what was settled since the
 * {@link DayWindow} began plus every reservation not yet settled (which may reach the provider on
 * either side of midnight).
 *
 * <h2>Requests</h2>
 * Every reservation is also one request, counted beside its tokens by the same rules: held from
 * the reserve until the settle, settled requests counting at least 60 s more, and a settled
 * reservation counting as one request whatever tokens it settles with (a released request may
 * have reached the provider). So in any 60-second span of arrivals a key receives no more requests
 * than its {@link WindowLimits#requestsPerMinute()}, and in a day no more than its
 * {@link WindowLimits#requestsPerDay()}; expired tickets' requests are charged, and a restart
 * charges the requests the previous process held, as for tokens.
 *
 * <h2>Settling</h2>
 * A ticket is settled once with the tokens actually used, which then count from the settle. A
 * ticket nobody settles is charged in full by {@link #releaseExpired} after its expiry, never
 * refunded: its caller may have crashed after the provider served it, and over-counting a key is
 * safe where under-counting it is not.
 *
 * <h2>Which key</h2>
 * Calls name a key by its {@link KeyId}, this process's handle on it (provider and index); the
 * store keeps everything under the key's {@link KeyFingerprint}, a keyed hash of its secret, which
 * {@link #register} binds to the handle.
 *
 * <p>Implementations must pass {@code UsageStoreContract} in this module's test jar.
 */
public interface UsageStore extends AutoCloseable {

    /** The span of the sliding minute window. */
    long MINUTE_MILLIS = 60_000;

    /**
     * How long the probe of a key whose rest ended keeps every other reservation off it: a key
     * back from a cool-down gets one request first (half-open), and the others wait for its
     * outcome, or for this long if its caller never tells (it vanished, or the request runs long).
     */
    long PROBE_MILLIS = 10_000;

    /**
     * Names the keys this store serves: each handle with the digest of its key. The store keeps
     * usage and state under the key's {@link KeyFingerprint}, never under the handle, so that
     * reordering the keys in {@code .env} changes nothing, a new key at an old index starts with
     * nothing, and instances whose {@code .env} list the keys in different orders share each key.
     * The key manager calls it before any call names a key, and again with the keys that join
     * when the configuration is reloaded: each call adds its handles to those registered (a key
     * that joins finds whatever the store kept under its fingerprint). A handle names one key for
     * the store's life: it is never forgotten (a ticket of a key that left still settles, in its
     * windows), and registering it again with another key's digest is refused
     * ({@link IllegalArgumentException}, nothing registered). The other methods refuse a handle
     * that was not registered ({@link IllegalArgumentException}).
     */
    void register(Map<KeyId, SecretDigest> keys);

    /**
     * The fingerprint {@code key} is stored under, or {@code null} while the store cannot tell (a
     * shared store that has not reached its server since it started).
     */
    KeyFingerprint fingerprint(KeyId key);

    /**
     * Atomically: checks the key's state, then reserves {@code tokens} and one request in the
     * minute and the day window if all of them have room (tokens and requests, both windows), or
     * reserves nothing. A key whose rest is over is granted to one
     * reservation, its probe ({@link ReserveResult.Granted#probing()}), and refused to the others
     * for {@link #PROBE_MILLIS} or until the probe's outcome sets the key's state.
     *
     * @param expiresMillis when to release the tokens if the ticket is never settled
     */
    ReserveResult reserve(KeyId key, WindowLimits limits, long tokens, long nowMillis, DayWindow day,
            long expiresMillis);

    /**
     * Settles a ticket with the tokens actually used. Returns {@code false} when the ticket was no
     * longer pending (it expired, and its reservation was charged): only what was used beyond the
     * reservation is then added.
     */
    boolean settle(Ticket ticket, long actualTokens, long nowMillis, DayWindow day);

    /** The key's usage and state at {@code nowMillis}, reservations included. */
    KeyUsage usage(KeyId key, long nowMillis, DayWindow day);

    /** The usage of several keys at once; a shared store answers in one round trip. */
    default List<KeyUsage> usages(List<KeyId> keys, long nowMillis, DayWindow day) {
        return keys.stream().map(key -> usage(key, nowMillis, day)).toList();
    }

    /** The key's stored state ({@link KeyState#ACTIVE} for a key never seen). */
    KeyState state(KeyId key);

    /** Replaces the key's state. */
    void setState(KeyId key, KeyState state);

    /** Replaces the key's state only if it is still {@code expected}; true if it was replaced. */
    boolean compareAndSetState(KeyId key, KeyState expected, KeyState next);

    /**
     * Ends every pending ticket whose expiry is at or before {@code nowMillis}, charging its
     * reserved tokens (they are not refunded) at {@code nowMillis} and in {@code day}, and returns
     * them.
     */
    List<Ticket> releaseExpired(long nowMillis, DayWindow day);

    /** The number of tickets reserved and not yet settled or released. */
    int pendingCount();

    /** Whether the store can persist (or share) what it counts now; a degraded store still serves. */
    default StoreHealth health() {
        return StoreHealth.HEALTHY;
    }

    /**
     * Where this store keeps what it counts, as health and status reports name it: {@code memory},
     * {@code data-dir}, {@code redis}. The store says it, so nobody has to tell stores apart by type.
     */
    default String kind() {
        return "memory";
    }

    /** Whether the store reaches where it keeps its counts now (always, but for a remote store). */
    default boolean connected() {
        return true;
    }

    @Override
    default void close() {
    }
}
