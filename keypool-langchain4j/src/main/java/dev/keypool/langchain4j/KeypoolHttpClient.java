package dev.keypool.langchain4j;

import dev.keypool.adapter.PoolRefusal;
import dev.keypool.adapter.RelayClient;
import dev.keypool.adapter.RelayedResponse;
import dev.keypool.providers.relay.Header;
import dev.langchain4j.http.client.HttpClient;
import dev.langchain4j.http.client.HttpRequest;
import dev.langchain4j.http.client.SuccessfulHttpResponse;
import dev.langchain4j.http.client.sse.ServerSentEventListener;
import dev.langchain4j.http.client.sse.ServerSentEventParser;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * LangChain4j's {@link HttpClient} over a keypool pool: each request a LangChain4j model sends goes
 * to a pooled key (its own {@code Authorization} is replaced), fails over to the next key on a rate
 * limit, spent quota, an invalid key or a server error, and its tokens are reserved from the request
 * and committed from the answer's usage on the key that served, streamed answers included. A spent
 * pool is a 429 that LangChain4j raises as its {@code RateLimitException}, whose cause, a
 * {@link KeypoolHttpException}, says how long until a key frees up.
 *
 * <p>Made by {@link KeypoolHttpClientBuilder}; the timeouts LangChain4j sets on the builder are
 * the pool's to keep ({@code KEYPOOL_UPSTREAM_TIMEOUT_SECONDS}, {@code KEYPOOL_STREAM_IDLE_TIMEOUT_SECONDS}).
 */
public final class KeypoolHttpClient implements HttpClient {

    private final RelayClient client;

    KeypoolHttpClient(RelayClient client) {
        this.client = Objects.requireNonNull(client, "client");
    }

    @Override
    public SuccessfulHttpResponse execute(HttpRequest request) {
        try (RelayedResponse response = exchange(request)) {
            byte[] body = response.body().readAllBytes();
            if (response.status() < 200 || response.status() >= 300) {
                throw failure(response, body);
            }
            return SuccessfulHttpResponse.builder().statusCode(response.status()).headers(headers(response))
                    .body(body).build();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Runs on a virtual thread of its own, as LangChain4j's clients run streams: {@code onOpen},
     * each event as the provider sends it, then {@code onClose}; or {@code onError}. A listener that
     * cancels the parsing closes the answer, and the relay settles the reservation on the safe side.
     */
    @Override
    public void execute(HttpRequest request, ServerSentEventParser parser, ServerSentEventListener listener) {
        Thread.ofVirtual().name("keypool-langchain4j-stream").start(() -> {
            try (RelayedResponse response = exchange(request)) {
                if (response.status() < 200 || response.status() >= 300) {
                    listener.onError(failure(response, response.body().readAllBytes()));
                    return;
                }
                listener.onOpen(SuccessfulHttpResponse.builder().statusCode(response.status())
                        .headers(headers(response)).build());
                parser.parse(response.body(), listener);
                listener.onClose();
            } catch (Exception e) {
                listener.onError(e);
            }
        });
    }

    private RelayedResponse exchange(HttpRequest request) throws IOException {
        if (!request.formDataFields().isEmpty() || !request.formDataFiles().isEmpty()) {
            throw new IllegalArgumentException("keypool's HTTP client does not send multipart form data yet: "
                    + request.method() + " " + URI.create(request.url()).getPath());
        }
        List<Header> headers = new ArrayList<>();
        for (Map.Entry<String, List<String>> header : request.headers().entrySet()) {
            for (String value : header.getValue()) {
                headers.add(new Header(header.getKey(), value));
            }
        }
        byte[] body = request.body() == null ? null : request.body().getBytes(StandardCharsets.UTF_8);
        return client.exchange(request.method().name(), URI.create(request.url()), headers, body);
    }

    private static KeypoolHttpException failure(RelayedResponse response, byte[] body) {
        PoolRefusal refusal = response.refusal();
        if (refusal != null) {
            return new KeypoolHttpException(response.status(), refusal.message(), refusal.retryAfter(), true);
        }
        return new KeypoolHttpException(response.status(), new String(body, StandardCharsets.UTF_8),
                seconds(response.header("Retry-After")), false);
    }

    private static Duration seconds(String retryAfter) {
        try {
            return retryAfter == null ? null : Duration.ofSeconds(Long.parseLong(retryAfter.strip()));
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static Map<String, List<String>> headers(RelayedResponse response) {
        Map<String, List<String>> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        for (Header header : response.headers()) {
            headers.computeIfAbsent(header.name(), name -> new ArrayList<>(1)).add(header.value());
        }
        return new LinkedHashMap<>(headers);
    }
}
