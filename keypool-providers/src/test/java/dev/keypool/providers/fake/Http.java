package dev.keypool.providers.fake;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.providers.internal.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

/** A plain JDK client for the fakes' own tests: what any caller of the real provider would send. */
final class Http {

    private static final HttpClient CLIENT = HttpClient.newHttpClient();

    private Http() {
    }

    /**
     * Calls one fake as its provider's clients do: the key in the provider's own header, bodies in
     * JSON, {@code key} unless another is named.
     */
    record Keyed(FakeUpstream fake, String header, String prefix, String key) {

        /** OpenAI's {@code Authorization: Bearer <key>}. */
        static Keyed bearer(FakeUpstream fake, String key) {
            return new Keyed(fake, "Authorization", "Bearer ", key);
        }

        /** Gemini's {@code x-goog-api-key: <key>}. */
        static Keyed googApiKey(FakeUpstream fake, String key) {
            return new Keyed(fake, "x-goog-api-key", "", key);
        }

        HttpResponse<String> post(String path, String body) {
            return post(path, body, key);
        }

        HttpResponse<String> post(String path, String body, String key) {
            return Http.post(fake.baseUrl() + path, body, header, prefix + key, "Content-Type", "application/json");
        }

        HttpResponse<String> get(String path, String key) {
            return Http.get(fake.baseUrl() + path, header, prefix + key);
        }
    }

    static HttpResponse<String> get(String url, String... headers) {
        return send("GET", url, HttpRequest.BodyPublishers.noBody(), headers);
    }

    static HttpResponse<String> delete(String url, String... headers) {
        return send("DELETE", url, HttpRequest.BodyPublishers.noBody(), headers);
    }

    static HttpResponse<String> post(String url, String body, String... headers) {
        return send("POST", url, HttpRequest.BodyPublishers.ofString(body), headers);
    }

    static HttpResponse<String> send(String method, String url, HttpRequest.BodyPublisher body, String... headers) {
        return exchange(request(method, url, body, headers), HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<byte[]> getBytes(String url, String... headers) {
        return exchange(request("GET", url, HttpRequest.BodyPublishers.noBody(), headers),
                HttpResponse.BodyHandlers.ofByteArray());
    }

    private static HttpRequest request(String method, String url, HttpRequest.BodyPublisher body, String... headers) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url)).method(method, body);
        if (headers.length > 0) {
            request.headers(headers);
        }
        return request.build();
    }

    private static <T> HttpResponse<T> exchange(HttpRequest request, HttpResponse.BodyHandler<T> handler) {
        try {
            return CLIENT.send(request, handler);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static JsonNode json(HttpResponse<String> response) {
        return Json.parseOrMissing(response.body());
    }
}
