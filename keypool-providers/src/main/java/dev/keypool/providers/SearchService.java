package dev.keypool.providers;

import dev.keypool.config.Provider;
import dev.keypool.providers.relay.Head;
import dev.keypool.providers.relay.Inbound;
import dev.keypool.providers.relay.Outcome;
import dev.keypool.providers.relay.Sink;
import dev.keypool.rotation.ApiKeyRotator;
import dev.keypool.rotation.ProcessWide;
import dev.keypool.usage.InMemoryAffinityStore;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.StringJoiner;

/**
 * SerpApi searches on the pool's SERP keys: each search reserves and commits one "token" (SerpApi
 * counts searches), and a key that is rate-limited, out of searches or invalid hands over to the
 * next, each key once, through the same {@link Relay} as the gateway's {@code /search}.
 *
 * <p>Thread-safe; one instance serves a whole process.
 */
public final class SearchService implements AutoCloseable {

    private final Relay relay;
    private final boolean ownsRelay;

    /** A service on {@code rotator}'s pool, with its own kept-alive connections to SerpApi. */
    public SearchService(ApiKeyRotator rotator) {
        this.relay = Relay.create(Objects.requireNonNull(rotator, "rotator"), new InMemoryAffinityStore());
        this.ownsRelay = true;
    }

    /** A service on a relay another owner closes (the gateway's). */
    public SearchService(Relay relay) {
        this.relay = Objects.requireNonNull(relay, "relay");
        this.ownsRelay = false;
    }

    /** The process-wide service, on {@link ApiKeyRotator#getApiKeyRotator()}. */
    public static SearchService getSearchService() {
        return ProcessWide.get(SearchService.class, SearchService::new);
    }

    /**
     * Runs one search.
     *
     * @param params the caller's query parameters ({@code engine}, {@code q}, …); any {@code api_key}
     *               among them is dropped and the pooled key used instead
     * @throws dev.keypool.rotation.NoAvailableKeyException when no SERP key can search
     * @throws dev.keypool.failure.UpstreamException         a client error (a missing {@code q}),
     *                                                      with SerpApi's status and message
     */
    public SearchResult search(Map<String, List<String>> params) {
        StringJoiner query = new StringJoiner("&");
        Objects.requireNonNull(params, "params").forEach((name, values) -> {
            if (!name.equals("api_key") && values != null) {
                for (String value : values) {
                    query.add(encode(name) + "=" + encode(value == null ? "" : value));
                }
            }
        });
        ByteArrayOutputStream body = new ByteArrayOutputStream(4096);
        Outcome outcome = relay.relay(Provider.SERP, new Inbound("GET", "/search.json",
                query.length() == 0 ? null : query.toString(), List.of(), null), new Sink() {
                    @Override
                    public OutputStream begin(Head head) {
                        return body;
                    }
                });
        return new SearchResult(outcome.status(), body.toString(StandardCharsets.UTF_8), outcome.served().keyIndex(),
                outcome.served().maskedKey());
    }

    /** Closes the connections to SerpApi, when this service made its own relay. */
    @Override
    public void close() {
        if (ownsRelay) {
            relay.close();
        }
    }

    private static String encode(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8);
    }
}
