package dev.keypool.providers;

import dev.keypool.config.KeyConfig;
import dev.keypool.providers.internal.ForwardedHeaders;
import dev.keypool.providers.relay.Call;
import dev.keypool.providers.relay.Inbound;
import dev.keypool.providers.relay.Served;
import dev.keypool.rotation.ApiKeyManager;
import dev.keypool.usage.AffinityStore;
import dev.keypool.usage.KeyFingerprint;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * Which key a request must or should go to, as the {@link AffinityStore} remembers it. A request
 * that names an object one key created (a stored response, a cached content, an archived search)
 * must go to that key ({@link #pinned}); a request that names a session should go to the key that
 * served the session last ({@link #session}, {@link #remember(Sticky, Served)}).
 *
 * <p>The store never sees a key or a caller's text. A key is named by its fingerprint, which every
 * instance and every restart agree on whatever the key's position in {@code .env}; a session by a
 * hash of its name, under its own prefix beside the objects' ids. A session is written when its key
 * changed, or when half its time to live has passed, so an active session stays remembered without
 * a write per request.
 */
final class KeyAffinity implements AutoCloseable {

    /** The header that names a session on any endpoint; it never goes upstream ({@link ForwardedHeaders}). */
    static final String SESSION_HEADER = "x-keypool-session";
    /** How long an object's key is remembered: OpenAI keeps stored responses for 30 days. */
    private static final long OBJECT_MILLIS = Duration.ofDays(30).toMillis();

    private final AffinityStore store;
    private final ApiKeyManager manager;
    private final Clock clock;
    private final Duration sessionTtl;

    KeyAffinity(AffinityStore store, ApiKeyManager manager, Clock clock, Duration sessionTtl) {
        this.store = Objects.requireNonNull(store, "affinity");
        this.manager = manager;
        this.clock = clock;
        this.sessionTtl = sessionTtl;
    }

    /** A session's key as remembered ({@code null} when none is), and when it was. */
    record Sticky(String id, KeyConfig key, long rememberedMillis) {
    }

    /** The key a request must go to, when it names an object one key created; {@code null} otherwise. */
    KeyConfig pinned(Call call) {
        if (call.references().isEmpty()) {
            return null;
        }
        long now = clock.millis();
        for (String reference : call.references()) {
            String ref = store.recall(reference, now);
            if (ref != null) {
                KeyConfig key = keyOfRef(ref);
                if (key != null) {
                    return key;
                }
            }
        }
        return null;
    }

    /** Remembers that the objects {@code ids} live on {@code key}. */
    void rememberObjects(List<String> ids, KeyConfig key) {
        long expires = clock.millis() + OBJECT_MILLIS;
        for (String id : ids) {
            store.remember(id, keyRef(key), expires);
        }
    }

    /**
     * The session the request names (the {@code x-keypool-session} header, else the body's,
     * {@link Call#session()}), with the key that served it last while that is remembered and still
     * configured; {@code null} when the request names no session.
     */
    Sticky session(Inbound request, Call call) {
        String session = request.header(SESSION_HEADER);
        session = session != null && !session.isBlank() ? session.strip() : call.session();
        if (session == null) {
            return null;
        }
        String id = sessionId(session);
        String value = store.recall(id, clock.millis());
        if (value == null) {
            return new Sticky(id, null, 0);
        }
        int bar = value.lastIndexOf('|');
        KeyConfig key = keyOfRef(bar < 0 ? value : value.substring(0, bar));
        long remembered = 0;
        if (bar >= 0) {
            try {
                remembered = Long.parseLong(value.substring(bar + 1));
            } catch (NumberFormatException e) {
                // written by someone else: remembered again below
            }
        }
        return new Sticky(id, key, remembered);
    }

    /** The session follows the key that served it (written only when needed, see the class note). */
    void remember(Sticky sticky, Served served) {
        if (served == null || served.keyIndex() < 0 || !served.provider().usesKeys()) {
            return;
        }
        KeyConfig key = manager.keys(served.provider()).stream().filter(k -> k.index() == served.keyIndex())
                .findFirst().orElse(null);
        if (key == null) {
            return;
        }
        long now = clock.millis();
        long ttl = sessionTtl.toMillis();
        if (sticky.key() != null && key.id().equals(sticky.key().id()) && now - sticky.rememberedMillis() < ttl / 2) {
            return;
        }
        store.remember(sticky.id(), keyRef(key) + "|" + now, now + ttl);
    }

    @Override
    public void close() {
        store.close();
    }

    /** The store's name for a session: a hash, never the caller's text (a {@code user} may name a person). */
    private static String sessionId(String session) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(session.getBytes(StandardCharsets.UTF_8));
            return "session:" + HexFormat.of().formatHex(digest, 0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    /**
     * How the store names a key: its fingerprint; its handle only while the store cannot tell the
     * fingerprint (Redis unreachable since start-up), which then holds for this process.
     */
    private String keyRef(KeyConfig key) {
        KeyFingerprint fingerprint = manager.store().fingerprint(key.id());
        return fingerprint != null ? fingerprint.toString() : key.id().toString();
    }

    private KeyConfig keyOfRef(String ref) {
        for (KeyConfig key : manager.allKeys()) {
            if (keyRef(key).equals(ref)) {
                return key;
            }
        }
        return null;
    }
}
