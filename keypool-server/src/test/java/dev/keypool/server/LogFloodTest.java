package dev.keypool.server;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.LoggerContext;
import dev.keypool.config.KeyId;
import dev.keypool.config.Provider;
import dev.keypool.providers.fake.FakeOpenAi;
import dev.keypool.server.logging.RepeatedWarningFilter;
import java.net.URI;
import java.net.http.HttpRequest;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * A flood of refused requests wrote one WARN line each (1,030,446 lines, 194 MB in 90 s at 11k
 * requests/s). Through the production logging (logback.xml's filter), repeats are summarised: the
 * lines written are bounded by the time the flood took, not by the requests.
 */
class LogFloodTest {

    private static final String KEY = "sk-proj-TEST.log-flood-test-key-000";
    private static final int REQUESTS = 400;

    @Test
    void refusedRequestFlood_logsOneWarningPerPeriodNotOnePerRequest() {
        try (FakeOpenAi openAi = FakeOpenAi.start();
                TestGateway server = TestGateway.start(TestGateway.openAiPool(KEY, openAi).build());
                LogCapture log = new LogCapture()) {
            productionFilter().forget();
            server.gateway.manager().deactivate(KeyId.of(Provider.OPENAI, 0), "test");
            long start = System.nanoTime();
            for (int i = 0; i < REQUESTS; i++) {
                assertThat(server.send(HttpRequest.newBuilder(URI.create(server.url("/v1/chat/completions")))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"gpt-4o\",\"max_tokens\":5,"
                                + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))).statusCode()).isEqualTo(429);
            }
            long periods = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start) / 10 + 1;

            long lines = log.text().lines().filter(line -> line.contains("No openai key can take")).count();

            assertThat(lines).isBetween(1L, 1 + periods);
        }
    }

    /** logback.xml's filter: process-wide, so an earlier test in this JVM may have opened its window. */
    private static RepeatedWarningFilter productionFilter() {
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        return context.getTurboFilterList().stream()
                .filter(RepeatedWarningFilter.class::isInstance)
                .map(RepeatedWarningFilter.class::cast)
                .findFirst()
                .orElseThrow(() -> new AssertionError("logback.xml has no RepeatedWarningFilter"));
    }
}
