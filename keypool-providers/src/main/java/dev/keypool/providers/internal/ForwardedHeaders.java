package dev.keypool.providers.internal;

import dev.keypool.providers.relay.Header;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Which headers cross the gateway, each way. Everything passes but what must not: the hop-by-hop
 * headers of each connection, the framing the gateway redoes, the credentials (the caller's never
 * reaches a provider; the pooled key is put on by the provider's package), and what identifies the
 * pooled key's account to the caller. {@code keypool-server/README.md} lists both sets.
 */
public final class ForwardedHeaders {

    /**
     * Hop-by-hop (RFC 9110 §7.6.1; {@code HTTP2-Settings}, RFC 7540 §3.2.1) and framing headers: each
     * side's connection has its own. So are the headers a {@code Connection} header names.
     */
    private static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "proxy-connection",
            "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade",
            "http2-settings", "content-length", "host", "expect");

    /**
     * Caller headers that never go upstream: credentials (replaced by the pooled key), the caller's
     * account headers (the pooled key's are put on instead), cookies, keypool's own, and
     * {@code Accept-Encoding} (the gateway reads the answer's usage, so it asks for it uncompressed).
     */
    private static final Set<String> NOT_UPSTREAM = Set.of("authorization", "api-key", "x-api-key",
            "x-goog-api-key", "openai-organization", "openai-project", "cookie", "accept-encoding",
            "x-keypool-session");

    /**
     * Provider headers that never reach the caller: cookies set for the provider's domain, the
     * provider's own server identity and date (the gateway sends its own), and the headers that
     * name the pooled key's organization and project.
     */
    private static final Set<String> NOT_DOWNSTREAM = Set.of("set-cookie", "date", "server", "alt-svc",
            "openai-organization", "openai-project", "x-goog-api-key");

    private ForwardedHeaders() {
    }

    /** The caller's headers that go upstream, in order. */
    public static List<Header> upstream(List<Header> callerHeaders) {
        Set<String> named = namedByConnection(callerHeaders);
        List<Header> passed = new ArrayList<>(callerHeaders.size());
        for (Header header : callerHeaders) {
            String name = header.name().toLowerCase(Locale.ROOT);
            if (!HOP_BY_HOP.contains(name) && !NOT_UPSTREAM.contains(name) && !name.startsWith("x-keypool-")
                    && !named.contains(name)) {
                passed.add(header);
            }
        }
        return passed;
    }

    /** The header names the {@code Connection} headers list, lower-cased (usually none). */
    private static Set<String> namedByConnection(List<Header> headers) {
        Set<String> named = Set.of();
        for (Header header : headers) {
            if (header.name().equalsIgnoreCase("connection")) {
                if (named.isEmpty()) {
                    named = new HashSet<>();
                }
                for (String token : header.value().split(",")) {
                    named.add(token.strip().toLowerCase(Locale.ROOT));
                }
            }
        }
        return named;
    }

    /** Whether a provider's answer header reaches the caller. */
    public static boolean downstream(String name) {
        String lower = name.toLowerCase(Locale.ROOT);
        return !HOP_BY_HOP.contains(lower) && !NOT_DOWNSTREAM.contains(lower) && !lower.startsWith("x-keypool-");
    }
}
