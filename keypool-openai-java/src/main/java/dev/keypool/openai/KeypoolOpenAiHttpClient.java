package dev.keypool.openai;

import com.openai.client.OpenAIClient;
import com.openai.client.OpenAIClientImpl;
import com.openai.core.ClientOptions;
import com.openai.core.RequestOptions;
import com.openai.core.http.Headers;
import com.openai.core.http.HttpClient;
import com.openai.core.http.HttpRequest;
import com.openai.core.http.HttpRequestBody;
import com.openai.core.http.HttpResponse;
import dev.keypool.adapter.RelayClient;
import dev.keypool.adapter.RelayedResponse;
import dev.keypool.providers.relay.Header;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * The OpenAI Java SDK's {@link HttpClient} over a keypool pool: every call the SDK makes goes to a
 * pooled key (the SDK's own {@code Authorization} is replaced), fails over to the next key on a
 * rate limit, spent quota, an invalid key or a server error, and its tokens are reserved from the
 * request and committed from the answer's usage on the key that served, streams included (a stream
 * closed early is settled on the safe side). A spent pool is a 429 with {@code Retry-After} and
 * {@code X-Should-Retry: false}, which the SDK raises at once, without its retries, as its
 * {@code RateLimitException}; {@code e.headers().values("Retry-After")} says how long until a key
 * frees up.
 *
 * <pre>{@code
 * RelayClient pool = RelayClient.create(new ApiKeyRotator(ApiKeyManager.fromEnvironment()));
 * OpenAIClient openai = KeypoolOpenAiHttpClient.client(pool);
 * ChatCompletion answer = openai.chat().completions().create(ChatCompletionCreateParams.builder()
 *         .model(ChatModel.GPT_4O_MINI).addUserMessage("Say this is a test!").build());
 * }</pre>
 *
 * The SDK's timeouts ({@link RequestOptions}) are the pool's to keep: the relay's own apply
 * ({@code KEYPOOL_UPSTREAM_TIMEOUT_SECONDS}, {@code KEYPOOL_STREAM_IDLE_TIMEOUT_SECONDS}).
 */
public final class KeypoolOpenAiHttpClient implements HttpClient {

    private final RelayClient client;

    private KeypoolOpenAiHttpClient(RelayClient client) {
        this.client = Objects.requireNonNull(client, "client");
    }

    /** The SDK's HTTP client on {@code client}'s pool, for {@code ClientOptions.builder().httpClient(…)}. */
    public static KeypoolOpenAiHttpClient on(RelayClient client) {
        return new KeypoolOpenAiHttpClient(client);
    }

    /**
     * An {@link OpenAIClient} whose every call is pooled; the API key the SDK wants is a placeholder
     * that never leaves the process.
     */
    public static OpenAIClient client(RelayClient client) {
        return new OpenAIClientImpl(ClientOptions.builder().httpClient(on(client)).apiKey("keypool-pooled").build());
    }

    @Override
    public HttpResponse execute(HttpRequest request, RequestOptions requestOptions) {
        List<Header> headers = new ArrayList<>();
        Headers sent = request.headers();
        for (String name : sent.names()) {
            for (String value : sent.values(name)) {
                headers.add(new Header(name, value));
            }
        }
        byte[] body = null;
        HttpRequestBody requestBody = request.body();
        if (requestBody != null) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            requestBody.writeTo(bytes);
            body = bytes.toByteArray();
            String contentType = requestBody.contentType();
            if (contentType != null && Header.first(headers, "Content-Type") == null) {
                headers.add(new Header("Content-Type", contentType));
            }
        }
        try {
            return new Response(client.exchange(request.method().name(), URI.create(request.url()), headers, body));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public CompletableFuture<HttpResponse> executeAsync(HttpRequest request, RequestOptions requestOptions) {
        CompletableFuture<HttpResponse> answer = new CompletableFuture<>();
        Thread.ofVirtual().name("keypool-openai-async").start(() -> {
            try {
                answer.complete(execute(request, requestOptions));
            } catch (RuntimeException e) {
                answer.completeExceptionally(e);
            }
        });
        return answer;
    }

    /** The relay's connections are the {@link RelayClient}'s: closing the SDK's client leaves them to their owner. */
    @Override
    public void close() {
    }

    private static final class Response implements HttpResponse {

        private final RelayedResponse response;
        private final Headers headers;

        Response(RelayedResponse response) {
            this.response = response;
            Headers.Builder builder = Headers.builder();
            for (Header header : response.headers()) {
                builder.put(header.name(), header.value());
            }
            this.headers = builder.build();
        }

        @Override
        public int statusCode() {
            return response.status();
        }

        @Override
        public Headers headers() {
            return headers;
        }

        @Override
        public InputStream body() {
            return response.body();
        }

        @Override
        public void close() {
            response.close();
        }
    }
}
