package dev.keypool.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.config.KeypoolConfig;
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

    static ServerSettings settings(KeypoolConfig config) {
        try {
            return settings(config, Files.createTempDirectory("keypool-test-data"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The test settings on a data directory of the test's choosing, for a restart on the same one. */
    static ServerSettings settings(KeypoolConfig config, Path dataDir) {
        return new ServerSettings("127.0.0.1", 0, ADMIN_TOKEN, false, config.clientTokens(),
                ServerSettings.DEFAULT_MAX_BODY_BYTES, false, false, dataDir, Duration.ofSeconds(10));
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
        try {
            return Json.MAPPER.readTree(response.body());
        } catch (IOException e) {
            throw new UncheckedIOException("not JSON: " + response.body(), e);
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
