package dev.keypool.redis;

import dev.keypool.config.KeyId;
import dev.keypool.config.Provider;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The names of the Redis keys the store writes. Each pool key's data shares one hash tag, so that
 * every script touches a single Redis Cluster slot:
 *
 * <pre>
 * {prefix}:{openai:0}:minute   hash  bucket number → tokens, and "head" (the newest bucket)
 * {prefix}:{openai:0}:day      hash  "day" (epoch day), "tokens", "seq" (ticket counter)
 * {prefix}:{openai:0}:state    hash  "status", "kind", "reason", "until"; absent while active
 * {prefix}:{openai:0}:pending  zset  seq:tokens:admitted:day:expires, scored by expiry
 * {prefix}:keys                set   "openai:0" for every key ever reserved, for the sweeper
 * </pre>
 */
final class KeySpace {

    /** The Redis keys of one pool key. */
    record Names(String minute, String day, String state, String pending) {

        String[] forReserve() {
            return new String[] {minute, day, state, pending};
        }

        String[] forSettle() {
            return new String[] {minute, day, pending};
        }

        String[] forCharge() {
            return new String[] {minute, day};
        }

        String[] forUsage() {
            return new String[] {minute, day, state};
        }

        String[] forState() {
            return new String[] {state};
        }
    }

    private final String prefix;
    private final String registry;
    private final Map<KeyId, Names> names = new ConcurrentHashMap<>();

    KeySpace(String prefix) {
        this.prefix = prefix;
        this.registry = prefix + ":keys";
    }

    Names of(KeyId key) {
        Names known = names.get(key);
        return known != null ? known : names.computeIfAbsent(key, this::build);
    }

    /** The set of every pool key that has had a reservation. */
    String registry() {
        return registry;
    }

    /** The key's name in {@link #registry()} and in its hash tag: {@code openai:0}. */
    static String member(KeyId key) {
        return key.provider().id() + ":" + key.index();
    }

    /** The key a {@link #member(KeyId)} names. */
    static KeyId parse(String member) {
        int colon = member.lastIndexOf(':');
        if (colon <= 0) {
            throw new IllegalStateException("Malformed key in the registry: '" + member + "'");
        }
        return KeyId.of(Provider.of(member.substring(0, colon)), Integer.parseInt(member.substring(colon + 1)));
    }

    private Names build(KeyId key) {
        String base = prefix + ":{" + member(key) + "}:";
        return new Names(base + "minute", base + "day", base + "state", base + "pending");
    }
}
