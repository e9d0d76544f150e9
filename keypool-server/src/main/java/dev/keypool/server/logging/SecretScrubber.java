package dev.keypool.server.logging;

import dev.keypool.config.KeyMask;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The last line of defence against a secret in a log line: every configured key is registered here
 * at start-up, and the Redis password, and the log layout replaces any of them it meets. Keys become
 * their mask ({@code sk-p…key1}); a password becomes {@value #PASSWORD_MASK}, since even its ends are
 * secret. Keypool's own code logs masked keys only; this catches what a library might print (an
 * upstream's error body that echoes the key, an HTTP client's debug output, the Redis client's
 * {@code AUTH} and {@code HELLO} commands at TRACE).
 */
public final class SecretScrubber {

    static final String PASSWORD_MASK = "****";

    /** Each secret and what replaces it. */
    private static final Map<String, String> SECRETS = new ConcurrentHashMap<>();

    private SecretScrubber() {
    }

    public static void register(Collection<String> secrets) {
        for (String secret : secrets) {
            if (secret != null && !secret.isBlank()) {
                SECRETS.put(secret, KeyMask.mask(secret));
            }
        }
    }

    /**
     * Registers the password of a {@code redis://user:password@host} URL, as written and as decoded
     * (what the client sends); nothing when the URL has none.
     */
    public static void registerUrlPassword(String url) {
        if (url == null) {
            return;
        }
        String userInfo;
        try {
            userInfo = URI.create(url.trim()).getRawUserInfo();
        } catch (IllegalArgumentException e) {
            return;
        }
        if (userInfo == null) {
            return;
        }
        int colon = userInfo.indexOf(':');
        // redis://password@host is a password alone for Lettuce, as redis://:password@host is.
        String raw = colon >= 0 ? userInfo.substring(colon + 1) : userInfo;
        if (!raw.isEmpty()) {
            SECRETS.put(raw, PASSWORD_MASK);
            SECRETS.put(URLDecoder.decode(raw.replace("+", "%2B"), StandardCharsets.UTF_8), PASSWORD_MASK);
        }
    }

    public static String scrub(String text) {
        if (text == null || text.isEmpty() || SECRETS.isEmpty()) {
            return text;
        }
        String scrubbed = text;
        for (Map.Entry<String, String> secret : SECRETS.entrySet()) {
            if (scrubbed.contains(secret.getKey())) {
                scrubbed = scrubbed.replace(secret.getKey(), secret.getValue());
            }
        }
        return scrubbed;
    }
}
