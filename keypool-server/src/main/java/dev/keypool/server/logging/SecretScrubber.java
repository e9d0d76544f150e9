package dev.keypool.server.logging;

import dev.keypool.config.KeyMask;
import java.util.Collection;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The last line of defence against a key in a log line: every configured key is registered here
 * at start-up, and the log layout replaces any of them it meets with its mask. Keypool's own code
 * logs masked keys only; this catches what a library might print (an upstream's error body that
 * echoes the key, an HTTP client's debug output).
 */
public final class SecretScrubber {

    private static final Set<String> SECRETS = ConcurrentHashMap.newKeySet();

    private SecretScrubber() {
    }

    public static void register(Collection<String> secrets) {
        for (String secret : secrets) {
            if (secret != null && !secret.isBlank()) {
                SECRETS.add(secret);
            }
        }
    }

    public static String scrub(String text) {
        if (text == null || text.isEmpty() || SECRETS.isEmpty()) {
            return text;
        }
        String scrubbed = text;
        for (String secret : SECRETS) {
            scrubbed = KeyMask.scrub(scrubbed, secret);
        }
        return scrubbed;
    }
}
