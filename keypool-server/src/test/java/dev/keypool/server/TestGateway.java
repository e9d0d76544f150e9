package dev.keypool.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.config.WindowLimits;
import dev.keypool.failure.Failure;
import dev.keypool.providers.fake.FakeGemini;
import dev.keypool.providers.fake.FakeOllama;
import dev.keypool.providers.fake.FakeOpenAi;
import dev.keypool.providers.fake.FakeUpstream;
import dev.keypool.providers.internal.Json;
import dev.keypool.rotation.Reservation;
import dev.keypool.rotation.TokenUsage;
import dev.keypool.testing.ManualClock;
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
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.LongSupplier;

/** A real gateway on 127.0.0.1 and a free port, with a plain HTTP client pointed at it. */
final class TestGateway implements AutoCloseable {

    static final String ADMIN_TOKEN = "test-admin-token-0123456789";

    final Gateway gateway;
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final List<OpenAIClient> sdkClients = new CopyOnWriteArrayList<>();

    private TestGateway(Gateway gateway) {
        this.gateway = gateway;
    }

    /**
     * On a clock of its own that moves only when a test moves it (issue 13: integration tests on the
     * system clock failed when a run crossed UTC midnight, or a minute boundary, between two asserts).
     */
    static TestGateway start(KeypoolConfig config) {
        return start(config, ManualClock.atNoonish());
    }

    static TestGateway start(KeypoolConfig config, Clock clock) {
        return start(config, clock, settings(config));
    }

    static TestGateway start(KeypoolConfig config, Clock clock, ServerSettings settings) {
        return new TestGateway(Gateway.start(config, settings, clock));
    }

    /** Reading {@code source} again on a reload, as a gateway {@link Main} started does. */
    static TestGateway start(KeypoolConfig config, Clock clock, ServerSettings settings, ConfigReload.Source source) {
        return new TestGateway(Gateway.start(config, settings, clock, System::nanoTime, source));
    }

    /** With the ticker connection timeouts are measured with; the test moves it and sweeps. */
    static TestGateway start(KeypoolConfig config, ServerSettings settings, LongSupplier ticker) {
        return new TestGateway(Gateway.start(config, settings, ManualClock.atNoonish(), ticker));
    }

    /** A gateway with no keys and Ollama unreachable: for what the gateway answers itself. */
    static TestGateway startWithoutKeys() {
        return start(KeypoolConfig.builder().baseUrl(Provider.OLLAMA, FakeUpstream.unreachableUrl()).build());
    }

    /** One OpenAI key on {@code openAi}, no limits, no Ollama: the pool most gateway tests need. */
    static KeypoolConfig.Builder openAiPool(String key, FakeOpenAi openAi) {
        return openAiOnly(openAi).addKey(Provider.OPENAI, key, "gpt-4o", WindowLimits.NONE);
    }

    /** OpenAI on {@code openAi} as the only provider (Ollama unreachable), keys to be added. */
    static KeypoolConfig.Builder openAiOnly(FakeOpenAi openAi) {
        return KeypoolConfig.builder()
                .baseUrl(Provider.OPENAI, openAi.baseUrl())
                .baseUrl(Provider.OLLAMA, FakeUpstream.unreachableUrl())
                .providerPriority(List.of(Provider.OPENAI));
    }

    /**
     * One OpenAI key and one Gemini key on their fakes, with tokens to spare, OpenAI first; Ollama on
     * its fake with llama3.2 and gemma3 (vision, no tools): the pool an OpenAI request is translated
     * over to Gemini or Ollama.
     */
    static KeypoolConfig.Builder openAiGeminiAndOllama(FakeOpenAi openAi, String openAiKey, FakeGemini gemini,
            String geminiKey, FakeOllama ollama) {
        ollama.setModels("llama3.2:latest", "gemma3:latest");
        ollama.setCapabilities("gemma3", "completion", "vision");
        return KeypoolConfig.builder()
                .addKey(Provider.OPENAI, openAiKey, "gpt-4o", WindowLimits.of(100_000, 1_000_000))
                .addKey(Provider.GEMINI, geminiKey, "gemini-2.5-flash", WindowLimits.of(100_000, 1_000_000))
                .baseUrl(Provider.OPENAI, openAi.baseUrl())
                .baseUrl(Provider.GEMINI, gemini.baseUrl())
                .baseUrl(Provider.OLLAMA, ollama.baseUrl())
                .providerPriority(List.of(Provider.OPENAI));
    }

    /** Gemini on {@code gemini} as the only provider (Ollama unreachable), keys to be added. */
    static KeypoolConfig.Builder geminiOnly(FakeGemini gemini) {
        return KeypoolConfig.builder()
                .baseUrl(Provider.GEMINI, gemini.baseUrl())
                .baseUrl(Provider.OLLAMA, FakeUpstream.unreachableUrl())
                .providerPriority(List.of(Provider.GEMINI));
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
        return new ServerSettings("127.0.0.1", 0, ADMIN_TOKEN, false, ServerSettings.clientTokens(config),
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

    /** A caller's JSON {@code POST} to {@code path}, without a token. */
    HttpResponse<String> postJson(String path, String json) {
        return send(HttpRequest.newBuilder(URI.create(url(path))).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)));
    }

    HttpResponse<String> send(HttpRequest.Builder request) {
        return send(http, request);
    }

    /** The official OpenAI SDK as {@code client} configures it, on this gateway's {@code /v1}; closed with the gateway. */
    OpenAIClient openAiSdk(OpenAIOkHttpClient.Builder client) {
        OpenAIClient sdk = client.baseUrl(url("/v1")).build();
        sdkClients.add(sdk);
        return sdk;
    }

    /** Sends with a 30 s bound and unchecked failures; shared with {@link ChildGateway}. */
    static HttpResponse<String> send(HttpClient http, HttpRequest.Builder request) {
        return send(http, request, HttpResponse.BodyHandlers.ofString());
    }

    /** Sends with a 30 s bound (for the answer's headers) and unchecked failures, the body as {@code body} reads it. */
    static <T> HttpResponse<T> send(HttpClient http, HttpRequest.Builder request, HttpResponse.BodyHandler<T> body) {
        try {
            return http.send(request.timeout(Duration.ofSeconds(30)).build(), body);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static JsonNode json(String body) {
        try {
            return Json.readTree(body);
        } catch (IOException e) {
            throw new UncheckedIOException("not JSON: " + body, e);
        }
    }

    /** {@code settings} keeping their state in {@code dataDir}, so a second gateway can continue where one stopped. */
    static ServerSettings inDataDir(ServerSettings settings, java.nio.file.Path dataDir) {
        return new ServerSettings(settings.host(), settings.port(), settings.adminToken(), settings.adminTokenGenerated(),
                settings.clientTokens(), settings.maxBodyBytes(), settings.allowPublic(), settings.demo(), dataDir,
                settings.drainTimeout(), settings.instances(), settings.edge(), settings.alertWebhooks());
    }

    static JsonNode json(HttpResponse<String> response) {
        return json(response.body());
    }


    JsonNode status() {
        return json(adminGet("/api/admin/api-key-status/"));
    }

    /** One key's entry in the status ({@code tokens_used_day}, {@code status}, …). */
    JsonNode keyStatus(String provider, int index) {
        return status().at("/providers/" + provider + "/keys/" + index);
    }

    /** The usage report's entry for {@code provider} ({@code prompt_tokens}, {@code keys}, …). */
    JsonNode usage(String provider) {
        return json(adminGet("/api/admin/api-key-usage-report/")).at("/providers/" + provider);
    }

    /** A request on {@code model} that a key served and that used {@code usage}: reserved, committed, released. */
    void served(Provider provider, String model, long estimate, TokenUsage usage) {
        try (Reservation reservation = gateway.rotator().acquire(provider, model, estimate)) {
            reservation.commit(usage);
        }
    }

    /** A request on {@code model} that the key it reached failed with {@code failure}. */
    void failed(Provider provider, String model, long estimate, Failure failure) {
        gateway.rotator().acquire(provider, model, estimate).fail(failure);
    }

    /** Takes a key out of service, as the dashboard does, so that a test can steer a request to another. */
    void deactivate(String provider, int index) {
        HttpResponse<String> response = adminPost("/api/admin/keys/" + provider + "/" + index + "/deactivate", null);
        if (response.statusCode() != 200) {
            throw new IllegalStateException("deactivate answered " + response.statusCode() + ": " + response.body());
        }
    }

    /** Puts a key back in service. */
    void activate(String provider, int index) {
        HttpResponse<String> response = adminPost("/api/admin/keys/" + provider + "/" + index + "/activate", null);
        if (response.statusCode() != 200) {
            throw new IllegalStateException("activate answered " + response.statusCode() + ": " + response.body());
        }
    }

    @Override
    public void close() {
        sdkClients.forEach(OpenAIClient::close);
        gateway.close();
        http.close();
    }
}
