package dev.keypool.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.config.WindowLimits;
import dev.keypool.providers.fake.FakeOpenAi;
import dev.keypool.testing.ManualClock;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Closing the gateway (what SIGTERM does) drains requests in flight and settles their reservations. */
class ShutdownTest {

    @Test
    void close_refusesNewWorkLetsTheRequestInFlightFinishAndSettlesIt() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        try (FakeOpenAi openAi = FakeOpenAi.start()) {
            openAi.enqueue(exchange -> {
                try {
                    release.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                FakeOpenAi.completion("finished during the drain", 7, 4).send(exchange);
            });
            KeypoolConfig config = TestGateway.openAiOnly(openAi)
                    .addKey(Provider.OPENAI, "sk-proj-TEST.shutdown-test-key-0000", "gpt-4o", WindowLimits.of(10_000, 100_000))
                    .build();
            // A drain far longer than any run: that the close still waits says it waits for the
            // request, not that the drain's time had not yet run out.
            ServerSettings test = TestGateway.settings(config);
            TestGateway server = TestGateway.start(config, ManualClock.atNoonish(), new ServerSettings(test.host(),
                    test.port(), test.adminToken(), false, test.clientTokens(), test.maxBodyBytes(), false, false,
                    test.dataDir(), Duration.ofHours(1)));
            // Own threads, not the common pool: with 2 cores it has one worker, which blocking here would starve.
            ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();
            Future<HttpResponse<String>> inFlight = threads.submit(() -> server.send(chat(server)));
            await().atMost(10, TimeUnit.SECONDS).until(() -> openAi.requests().size() == 1);
            assertThat(server.gateway.manager().store().pendingCount()).isEqualTo(1);

            Future<?> closing = threads.submit(server.gateway::close);
            await().atMost(10, TimeUnit.SECONDS).until(() -> server.get("/health").statusCode() == 503);

            HttpResponse<String> refused = server.send(chat(server));
            assertThat(refused.statusCode()).isEqualTo(503);
            assertThat(TestGateway.json(refused).at("/error/code").asText()).isEqualTo("shutting_down");
            assertThat(closing.isDone()).isFalse();

            release.countDown();

            HttpResponse<String> finished = inFlight.get(30, TimeUnit.SECONDS);
            assertThat(finished.statusCode()).isEqualTo(200);
            assertThat(finished.body()).contains("finished during the drain");
            closing.get(30, TimeUnit.SECONDS);
            assertThat(server.gateway.manager().store().pendingCount()).isZero();
            assertThat(openAi.requests()).hasSize(1);
            server.http.close();
            threads.close();
        }
    }

    private static HttpRequest.Builder chat(TestGateway server) {
        return HttpRequest.newBuilder(URI.create(server.url("/v1/chat/completions")))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(
                        "{\"model\": \"gpt-4o\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}"));
    }
}
