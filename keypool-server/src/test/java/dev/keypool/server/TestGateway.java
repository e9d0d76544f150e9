package dev.keypool.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.config.WindowLimits;
import dev.keypool.providers.fake.FakeOpenAi;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.function.LongSupplier;

/** A real gateway on 127.0.0.1 and a free port, with a plain HTTP client pointed at it. */
final class TestGateway implements AutoCloseable {

    static final String ADMIN_TOKEN = "test-admin-token-0123456789";

    final Gateway gateway;
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private TestGateway(Gateway gateway) {
        this.gateway = gateway;
    }

    static TestGateway start(KeypoolConfig config) {
        return start(config, Clock.systemUTC());
    }

    static TestGateway start(KeypoolConfig config, Clock clock) {
        return start(config, clock, settings(config));
    }

    static TestGateway start(KeypoolConfig config, Clock clock, ServerSettings settings) {
        return new TestGateway(Gateway.start(config, settings, clock));
    }

    /** With the ticker connection timeouts are measured with; the test moves it and sweeps. */
    static TestGateway start(KeypoolConfig config, ServerSettings settings, LongSupplier ticker) {
        return new TestGateway(Gateway.start(config, settings, Clock.systemUTC(), ticker));
    }

    /** One OpenAI key on {@code openAi}, no limits, no Ollama: the pool most gateway tests need. */
    static KeypoolConfig.Builder openAiPool(String key, FakeOpenAi openAi) {
        return KeypoolConfig.builder()
                .addKey(Provider.OPENAI, key, "gpt-4o", WindowLimits.NONE)
                .baseUrl(Provider.OPENAI, openAi.baseUrl())
                .baseUrl(Provider.OLLAMA, "http://127.0.0.1:9")
                .providerPriority(List.of(Provider.OPENAI));
    }

    static ServerSettings settings(KeypoolConfig config) {
        try {
            Path dataDir = Files.createTempDirectory("keypool-test-data");
            return new ServerSettings("127.0.0.1", 0, ADMIN_TOKEN, false, config.clientTokens(),
                    ServerSettings.DEFAULT_MAX_BODY_BYTES, false, false, dataDir, Duration.ofSeconds(10));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    String url(String path) {
        return gateway.baseUrl() + path;
    }

    HttpResponse<String> get(String path) {
        return send(HttpRequest.newBuilder(URI.create(url(path))).GET());
    }

    HttpResponse<String> adminGet(String path) {
        return send(HttpRequest.newBuilder(URI.create(url(path))).header("Authorization", "Bearer " + ADMIN_TOKEN).GET());
    }

    HttpResponse<String> adminPost(String path, String json) {
        return send(HttpRequest.newBuilder(URI.create(url(path)))
                .header("Authorization", "Bearer " + ADMIN_TOKEN)
                .header("Content-Type", "application/json")
                .POST(json == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json)));
    }

    HttpResponse<String> send(HttpRequest.Builder request) {
        return send(http, request);
    }

    /** Sends with a 30 s bound and unchecked failures; shared with {@link ChildGateway}. */
    static HttpResponse<String> send(HttpClient http, HttpRequest.Builder request) {
        try {
            return http.send(request.timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static JsonNode json(HttpResponse<String> response) {
        return json(response.body());
    }

    static JsonNode json(String body) {
        try {
            return Json.MAPPER.readTree(body);
        } catch (IOException e) {
            throw new UncheckedIOException("not JSON: " + body, e);
        }
    }

    JsonNode status() {
        return json(adminGet("/api/admin/api-key-status/"));
    }

    @Override
    public void close() {
        gateway.close();
        http.close();
    }
}
