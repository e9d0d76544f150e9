package dev.keypool.providers;

import dev.keypool.config.Provider;
import dev.keypool.providers.internal.ProviderSettings;
import dev.keypool.providers.internal.SerpApiClient;
import dev.keypool.providers.internal.Upstream;
import dev.keypool.rotation.ApiKeyRotator;
import dev.keypool.rotation.TokenUsage;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * SerpApi searches on the pool's SERP keys: each search reserves and commits one "token" (SerpApi
 * counts searches), and a key that is rate-limited, out of searches or invalid hands over to the
 * next, each key once, as {@link LlmService} does within a provider.
 *
 * <p>Thread-safe; one instance serves a whole process.
 */
public final class SearchService implements AutoCloseable {

    private static volatile SearchService global;

    private final Upstream upstream;
    private final SerpApiClient client;
    private final KeyRotation rotation;

    /** A service on {@code rotator}'s pool, with its own kept-alive connections to SerpApi. */
    public SearchService(ApiKeyRotator rotator) {
        Objects.requireNonNull(rotator, "rotator");
        ProviderSettings settings = ProviderSettings.from(rotator.manager().config());
        this.upstream = new Upstream(settings.upstreamTimeout(), settings.streamIdleTimeout());
        this.client = new SerpApiClient(upstream, rotator.manager().config().baseUrl(Provider.SERP),
                rotator.manager().clock());
        this.rotation = new KeyRotation(rotator);
    }

    /** The process-wide service, on {@link ApiKeyRotator#getApiKeyRotator()}. */
    public static SearchService getSearchService() {
        SearchService service = global;
        if (service == null) {
            synchronized (SearchService.class) {
                service = global;
                if (service == null) {
                    service = new SearchService(ApiKeyRotator.getApiKeyRotator());
                    global = service;
                }
            }
        }
        return service;
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
        Map<String, List<String>> query = new LinkedHashMap<>(Objects.requireNonNull(params, "params"));
        query.remove("api_key");
        return rotation.run(Provider.SERP, null, 1, new ArrayList<>(), reservation -> {
            Upstream.Response response = client.search(reservation.apiKey(), query);
            reservation.commit(TokenUsage.total(1));
            return new SearchResult(response.status(), response.body(), reservation.index(), reservation.maskedKey());
        });
    }

    /** Closes the connections to SerpApi. */
    @Override
    public void close() {
        upstream.close();
    }
}
