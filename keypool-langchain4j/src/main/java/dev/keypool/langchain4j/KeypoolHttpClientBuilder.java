package dev.keypool.langchain4j;

import dev.keypool.adapter.RelayClient;
import dev.langchain4j.http.client.HttpClientBuilder;
import java.time.Duration;
import java.util.Objects;

/**
 * The {@link HttpClientBuilder} to give a LangChain4j model so that it pools keys:
 *
 * <pre>{@code
 * RelayClient pool = RelayClient.create(new ApiKeyRotator(ApiKeyManager.fromEnvironment()));
 * ChatModel model = OpenAiChatModel.builder()
 *         .httpClientBuilder(KeypoolHttpClientBuilder.on(pool))
 *         .apiKey("pooled")            // LangChain4j wants one; keypool puts a pooled key instead
 *         .modelName("gpt-4o-mini")
 *         .build();
 * }</pre>
 *
 * The same {@link RelayClient} may serve any number of models; closing it closes the relay's
 * connections. The connect and read timeouts LangChain4j sets are kept for it to read back and
 * otherwise unused: the relay's own timeouts apply ({@code KEYPOOL_UPSTREAM_TIMEOUT_SECONDS},
 * {@code KEYPOOL_STREAM_IDLE_TIMEOUT_SECONDS}), one setting for the whole pool.
 */
public final class KeypoolHttpClientBuilder implements HttpClientBuilder {

    private final RelayClient client;
    private Duration connectTimeout;
    private Duration readTimeout;

    private KeypoolHttpClientBuilder(RelayClient client) {
        this.client = Objects.requireNonNull(client, "client");
    }

    /** A builder of clients on {@code client}'s pool. */
    public static KeypoolHttpClientBuilder on(RelayClient client) {
        return new KeypoolHttpClientBuilder(client);
    }

    @Override
    public Duration connectTimeout() {
        return connectTimeout;
    }

    @Override
    public KeypoolHttpClientBuilder connectTimeout(Duration timeout) {
        this.connectTimeout = timeout;
        return this;
    }

    @Override
    public Duration readTimeout() {
        return readTimeout;
    }

    @Override
    public KeypoolHttpClientBuilder readTimeout(Duration timeout) {
        this.readTimeout = timeout;
        return this;
    }

    @Override
    public KeypoolHttpClient build() {
        return new KeypoolHttpClient(client);
    }
}
