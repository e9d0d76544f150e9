package dev.keypool.redis;

import dev.keypool.config.KeyId;
import dev.keypool.usage.KeyFingerprint;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The names of the Redis keys the store writes. Each pool key's data is under its fingerprint, in
 * one hash tag, so that every script touches a single Redis Cluster slot:
 *
 * <pre>
 * {prefix}:{openai:3f9a…}:minute   hash  bucket number → tokens settled in it, and "head" (the newest)
 * {prefix}:{openai:3f9a…}:day      hash  "day" (epoch day), "tokens" (settled that day), "held"
 *                                         (reserved, not settled yet), "floor" (what the day counted
 *                                         before Redis lost it), "seq" (ticket counter)
 * {prefix}:{openai:3f9a…}:state    hash  "status", "kind", "reason", "until"; absent while active
 * {prefix}:{openai:3f9a…}:pending  zset  seq:tokens:admitted:day:expires, scored by expiry
 * {prefix}:{openai:3f9a…}:meta     hash  "epoch" (of the data, see RedisUsageStore), "full_until"
 *                                         (the minute counts as full until then), "migrated" once
 *                                         data kept by index was moved here; never expires
 * {prefix}:keys                     set   "openai:3f9a…" for every key ever reserved, for the sweeper
 * {prefix}:key-id-secret            string the hex secret every instance makes fingerprints with
 * {prefix}:members                  zset  instance id, scored by its last heartbeat on Redis
 * </pre>
 *
 * <p>Before keys had an identity the store named them by index ({@code {openai:0}}); those names
 * are read once, to move their data to the key configured at that index ({@link #byIndex}).
 */
final class KeySpace {

    /** The Redis keys of one pool key. */
    record Names(String minute, String day, String state, String pending, String meta) {

        String[] forReserve() {
            return new String[] {minute, day, state, pending, meta};
        }

        String[] forSettle() {
            return new String[] {minute, day, pending};
        }

        String[] forCharge() {
            return new String[] {minute, day};
        }

        String[] forUsage() {
            return new String[] {minute, day, state, meta, pending};
        }

        /** A key whose data Redis lost, taken back into the current epoch. */
        String[] forRestore() {
            return new String[] {day, meta};
        }

        String[] forState() {
            return new String[] {state};
        }

        /** Where data kept by index goes, and the marker that it went. */
        String[] forMerge() {
            return new String[] {minute, day, state, meta};
        }

        /** The data of a key kept by index, as the index layout named it. */
        String[] forLegacy() {
            return new String[] {minute, day, state, pending};
        }
    }

    private final String prefix;
    private final String registry;
    private final String secret;
    private final String members;
    private final Map<KeyFingerprint, Names> names = new ConcurrentHashMap<>();

    KeySpace(String prefix) {
        this.prefix = prefix;
        this.registry = prefix + ":keys";
        this.secret = prefix + ":key-id-secret";
        this.members = prefix + ":members";
    }

    Names of(KeyFingerprint key) {
        Names known = names.get(key);
        return known != null ? known : names.computeIfAbsent(key, k -> build(member(k)));
    }

    /** The names a key had when keys were kept by index ({@code {openai:0}}). */
    Names byIndex(KeyId key) {
        return build(indexMember(key));
    }

    /** The set of every pool key that has had a reservation. */
    String registry() {
        return registry;
    }

    /** The sorted set of the instances on Redis, scored by their last heartbeat. */
    String members() {
        return members;
    }

    /** The string of the secret that fingerprints are made with. */
    String secret() {
        return secret;
    }

    /** The key's name in {@link #registry()} and in its hash tag: {@code openai:3f9a…}. */
    static String member(KeyFingerprint key) {
        return key.toString();
    }

    /** A key's name in the registry when keys were kept by index: {@code openai:0}. */
    static String indexMember(KeyId key) {
        return key.provider().id() + ":" + key.index();
    }

    /** The key a {@link #member(KeyFingerprint)} names, or {@code null} for a member of the index layout. */
    static KeyFingerprint parse(String member) {
        try {
            return KeyFingerprint.parse(member);
        } catch (IllegalArgumentException e) {
            if (member.matches("[a-z]+:\\d+")) {
                return null;
            }
            throw new IllegalStateException("Malformed key in the registry: '" + member + "'", e);
        }
    }

    private Names build(String member) {
        String base = prefix + ":{" + member + "}:";
        return new Names(base + "minute", base + "day", base + "state", base + "pending", base + "meta");
    }
}
