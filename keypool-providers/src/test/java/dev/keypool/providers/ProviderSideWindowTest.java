package dev.keypool.providers;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.config.SelectionStrategy;
import dev.keypool.config.WindowLimits;
import dev.keypool.providers.fake.FakeOpenAi;
import dev.keypool.providers.fake.FakeUpstream;
import dev.keypool.providers.fake.RecordedRequest;
import dev.keypool.rotation.ApiKeyManager;
import dev.keypool.rotation.ApiKeyRotator;
import dev.keypool.rotation.NoAvailableKeyException;
import dev.keypool.rotation.Reservation;
import dev.keypool.rotation.TokenUsage;
import dev.keypool.testing.ArrivalLedger;
import dev.keypool.testing.ManualClock;
import dev.keypool.usage.DurableUsageStore;
import dev.keypool.usage.InMemoryUsageStore;
import dev.keypool.usage.UsageStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The minute window judged where the provider counts it: by the arrival of each request, as the
 * fake upstream records it on the pool's own (manual) clock. A request is admitted, spends some
 * time getting to the provider (a cold connection, a queue, a slow network: here the clock moves
 * before the request is sent), and arrives later than it was admitted.
 *
 * <p>Issue 11: three cold gateways on one Redis admitted a minute's worth of requests in one
 * second and delivered them 1.2 to 1.5 s later; the window, anchored at admission, freed them 61 s
 * after admission, so in 60 s of arrivals the provider saw 1,200 tokens against 600. The checker
 * of the store's own concurrency tests judged by the store's timestamps and could not see it.
 */
class ProviderSideWindowTest {

    private static final String KEY = "sk-proj-TEST.provider-side-test-aaaaaaaa-key0";
    private static final WindowLimits SIX_HUNDRED_A_MINUTE = WindowLimits.of(600, WindowLimits.UNLIMITED);
    private static final long REQUEST_TOKENS = 600;

    @TempDir
    Path dataDir;

    private final ManualClock clock = ManualClock.atNoonish();
    private final FakeOpenAi openAi = FakeOpenAi.start();
    private final HttpClient http = HttpClient.newHttpClient();
    private ApiKeyManager manager;

    static Stream<Arguments> stores() {
        return Stream.of(
                Arguments.of("in memory", (Function<Path, UsageStore>) dir -> new InMemoryUsageStore()),
                Arguments.of("data directory", (Function<Path, UsageStore>) dir -> DurableUsageStore.open(dir)));
    }

    @AfterEach
    void stop() {
        if (manager != null) {
            manager.close();
            manager.store().close();
        }
        openAi.close();
        http.close();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("stores")
    void requestsDeliveredLateAfterAdmission_neverPutMoreThanTheLimitInSixtySecondsOfArrivals(String name,
            Function<Path, UsageStore> store) {
        openAi.setClock(clock);
        openAi.replyByDefault(FakeOpenAi.completion("This is a test!", 300, 300));
        manager = new ApiKeyManager(KeypoolConfig.builder()
                .selectionStrategy(SelectionStrategy.FILL_FIRST)
                .baseUrl(Provider.OPENAI, openAi.baseUrl())
                .baseUrl(Provider.OLLAMA, FakeUpstream.unreachableUrl())
                .addKey(Provider.OPENAI, KEY, "gpt-4o", SIX_HUNDRED_A_MINUTE)
                .build(), store.apply(dataDir), clock);
        ApiKeyRotator rotator = new ApiKeyRotator(manager);
        long start = clock.millis();

        // A minute's worth, admitted now and delivered 1.5 s later.
        assertThat(call(rotator, Duration.ofMillis(1_500))).isTrue();
        // Every half second, from the moment the window anchored at admission would have let go.
        clock.set(java.time.Instant.ofEpochMilli(start + 61_000));
        for (int i = 0; i < 8; i++) {
            call(rotator, Duration.ZERO);
            clock.advance(Duration.ofMillis(500));
        }

        ArrivalLedger<String> arrivals = new ArrivalLedger<>();
        for (RecordedRequest request : openAi.requests()) {
            arrivals.arrived(request.key(), request.arrivedAt().toEpochMilli(), REQUEST_TOKENS);
        }
        assertThat(arrivals.arrivals()).as("the next minute's request was served, once it could be").hasSize(2);
        arrivals.assertNoKeyExceeds(Map.of(KEY, SIX_HUNDRED_A_MINUTE), ZoneOffset.UTC);
    }

    /**
     * Reserves the request, lets {@code delivery} pass before it reaches the provider, sends it
     * and commits what the provider reported; false when no key had room.
     */
    private boolean call(ApiKeyRotator rotator, Duration delivery) {
        Reservation reservation;
        try {
            reservation = rotator.acquire(Provider.OPENAI, "gpt-4o", REQUEST_TOKENS);
        } catch (NoAvailableKeyException refused) {
            return false;
        }
        clock.advance(delivery);
        HttpResponse<String> response = send(reservation.apiKey());
        assertThat(response.statusCode()).isEqualTo(200);
        reservation.commit(TokenUsage.of(300, 300));
        return true;
    }

    private HttpResponse<String> send(String key) {
        try {
            return http.send(HttpRequest.newBuilder(URI.create(openAi.baseUrl() + "/chat/completions"))
                    .header("Authorization", "Bearer " + key)
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"gpt-4o\",\"max_tokens\":300,"
                            + "\"messages\":[{\"role\":\"user\",\"content\":\"Say this is a test!\"}]}"))
                    .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
