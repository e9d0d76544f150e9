package dev.keypool.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.providers.fake.FakeOpenAi;
import dev.keypool.providers.fake.FakeUpstream;
import dev.keypool.usage.DurableUsageStore;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The embedded store across a crash: the real gateway in a child JVM, traffic, a key cooled down
 * by a 429, {@code kill -9}, and a new process on the same data directory that carries on with
 * the same key states and never admits again what the crash may have lost.
 */
class EmbeddedStoreRestartTest {

    static final String KEY0 = "sk-proj-TEST.restart-test-aaaaaaaa-key0";
    static final String KEY1 = "sk-proj-TEST.restart-test-bbbbbbbb-key1";

    @TempDir
    Path work;

    private FakeOpenAi openAi;
    private Path dataDir;

    @BeforeEach
    void start() throws IOException {
        openAi = FakeOpenAi.start();
        dataDir = Files.createDirectories(work.resolve("data"));
    }

    @AfterEach
    void stop() {
        openAi.close();
    }

    private Map<String, String> environment() {
        Map<String, String> env = new HashMap<>();
        env.put("OPENAI_API_KEYS", KEY0 + "," + KEY1);
        env.put("OPENAI_MAX_TOKENS_PER_DAY_0", "1000000");
        env.put("OPENAI_MAX_TOKENS_PER_DAY_1", "1000000");
        env.put("OPENAI_BASE_URL", openAi.baseUrl());
        env.put("OLLAMA_HOST", FakeUpstream.unreachableUrl());
        env.put("KEYPOOL_PROVIDER_PRIORITY", "openai");
        env.put("KEYPOOL_SELECTION_STRATEGY", "fill_first");
        env.put("KEYPOOL_HOST", "127.0.0.1");
        env.put("KEYPOOL_PORT", "0");
        env.put("KEYPOOL_ADMIN_TOKEN", TestGateway.ADMIN_TOKEN);
        env.put("KEYPOOL_DATA_DIR", dataDir.toString());
        return env;
    }

    @Test
    void killMinus9_thenRestart_bringsBackDayCountersAndCoolingKeys() throws IOException {
        Path snapshot = dataDir.resolve(DurableUsageStore.FILE_NAME);
        Path history = dataDir.resolve("usage-history.bin");
        JsonNode before;
        try (ChildGateway first = ChildGateway.start(environment(), work)) {
            for (int i = 0; i < 5; i++) {
                assertThat(first.chat("gpt-4o", 20).statusCode()).isEqualTo(200);
            }
            // Key 0 is rate-limited for 20 minutes; the request fails over to key 1.
            openAi.reply(KEY0, FakeOpenAi.rateLimitedTokens("20m0s"));
            HttpResponse<String> failedOver = first.chat("gpt-4o", 20);
            assertThat(failedOver.statusCode()).isEqualTo(200);
            assertThat(failedOver.headers().firstValue("x-keypool-key-index")).hasValue("1");
            HttpResponse<String> last = first.chat("gpt-4o", 20);
            assertThat(last.headers().firstValue("x-keypool-key-index")).hasValue("1");
            Instant trafficEnded = Instant.now();

            before = TestGateway.json(first.adminGet("/api/admin/api-key-status/"));
            assertThat(key(before, 0).path("status").asText()).isEqualTo("cooling_down");
            assertThat(key(before, 0).path("tokens_used_day").asLong()).isEqualTo(5 * 18);
            assertThat(key(before, 1).path("tokens_used_day").asLong()).isEqualTo(2 * 18);

            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50))
                    .until(() -> writtenSince(snapshot, trafficEnded) && writtenSince(history, trafficEnded));
            first.kill();
        }

        try (ChildGateway second = ChildGateway.start(environment(), work)) {
            JsonNode after = TestGateway.json(second.adminGet("/api/admin/api-key-status/"));
            assertThat(key(after, 0).path("status").asText()).isEqualTo("cooling_down");
            assertThat(key(after, 0).path("available_at").asText()).isEqualTo(key(before, 0).path("available_at").asText());
            // After a kill the days restart from their saved ceilings: never less than was used, at
            // most one chunk (1/20 of the day limit) more.
            assertThat(key(after, 0).path("tokens_used_day").asLong()).isBetween(5L * 18, 5L * 18 + 1_000_000 / 20);
            assertThat(key(after, 1).path("tokens_used_day").asLong()).isBetween(2L * 18, 2L * 18 + 1_000_000 / 20);

            // The usage history continues: 6 attempts on key 0 (one rate-limited), 2 on key 1 (the last may be lost).
            JsonNode report = TestGateway.json(second.adminGet("/api/admin/api-key-usage-report/"));
            JsonNode openai = report.path("providers").path("openai");
            assertThat(openai.path("keys").get(0).path("requests").asLong()).isEqualTo(6);
            assertThat(openai.path("keys").get(0).path("failures_by_kind").path("rate_limited").asLong()).isEqualTo(1);
            assertThat(openai.path("keys").get(1).path("requests").asLong()).isBetween(1L, 2L);
            long minuteRequests = 0;
            for (JsonNode minute : report.path("history")) {
                minuteRequests += minute.path("requests").asLong();
            }
            assertThat(minuteRequests).isEqualTo(openai.path("requests").asLong());
            assertThat(report.path("days")).singleElement()
                    .satisfies(day -> assertThat(day.path("requests").asLong()).isEqualTo(openai.path("requests").asLong()));

            // The cooling key stays skipped after the restart.
            HttpResponse<String> next = second.chat("gpt-4o", 20);
            assertThat(next.statusCode()).isEqualTo(200);
            assertThat(next.headers().firstValue("x-keypool-key-index")).hasValue("1");
            JsonNode continued = TestGateway.json(second.adminGet("/api/admin/api-key-usage-report/"));
            assertThat(continued.path("providers").path("openai").path("requests").asLong())
                    .isEqualTo(openai.path("requests").asLong() + 1);
        }
        assertThat(openAi.keys().stream().filter(KEY0::equals)).hasSize(6);
    }

    /**
     * Issue 11: kill -9 lost the last second of accounting and the restarted gateway admitted it
     * again: the upstream saw 1,200 tokens in 3.4 s against a 600-per-minute key.
     */
    @Test
    void killMinus9_rightAfterAMinutesWorthOfTraffic_theRestartAdmitsNothingMoreThatMinute() {
        Map<String, String> env = environment();
        env.put("OPENAI_API_KEYS", KEY0);
        env.remove("OPENAI_MAX_TOKENS_PER_DAY_1");
        env.put("OPENAI_MAX_TOKENS_PER_MINUTE_0", "600");
        int served = 0;
        try (ChildGateway first = ChildGateway.start(env, work)) {
            while (served < 100 && first.chat("gpt-4o", 20).statusCode() == 200) {
                served++;
            }
            // No waiting for the snapshot: the kill comes right after the last request.
            first.kill();
        }
        assertThat(served).as("the minute filled up").isBetween(5, 99);
        int receivedBefore = openAi.keys().size();

        try (ChildGateway second = ChildGateway.start(env, work)) {
            HttpResponse<String> refused = second.chat("gpt-4o", 20);
            assertThat(refused.statusCode()).isEqualTo(429);
            assertThat(refused.headers().firstValue("Retry-After").map(Long::parseLong).orElseThrow())
                    .isBetween(1L, 61L);
            JsonNode status = TestGateway.json(second.adminGet("/api/admin/api-key-status/"));
            assertThat(key(status, 0).path("minute_usage_percent").asDouble()).isEqualTo(100.0);
        }
        assertThat(openAi.keys()).as("the upstream received nothing more that minute").hasSize(receivedBefore);
    }

    @Test
    void corruptSnapshot_stopsStartUpNamingTheFile() throws IOException {
        Path snapshot = dataDir.resolve(DurableUsageStore.FILE_NAME);
        Files.write(snapshot, "not a snapshot at all, and long enough to have a header".getBytes());

        ChildGateway child = ChildGateway.launch(environment(), work);
        int exitCode = child.awaitExit();
        child.close();

        assertThat(exitCode).isNotZero();
        assertThat(child.output()).contains(snapshot.toString()).contains("cannot be read back")
                .doesNotContain("listening on");
        assertThat(Files.readAllBytes(snapshot)).asString().startsWith("not a snapshot");
    }

    @Test
    void corruptHistory_stopsStartUpNamingTheFile() throws IOException {
        Path history = dataDir.resolve("usage-history.bin");
        Files.write(history, new byte[64]);
        ByteArrayOutputStream err = new ByteArrayOutputStream();

        Main.Started started = Main.start(new String[0], environment(), new PrintStream(OutputStream.nullOutputStream()),
                new PrintStream(err, true, StandardCharsets.UTF_8));

        assertThat(started.gateway()).isNull();
        assertThat(started.exitCode()).isEqualTo(Main.EXIT_FAILURE);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains(history.toString()).contains("cannot be read back");
    }

    private static boolean writtenSince(Path file, Instant moment) throws IOException {
        return Files.exists(file) && Files.getLastModifiedTime(file).compareTo(FileTime.from(moment)) > 0;
    }

    private static JsonNode key(JsonNode status, int index) {
        return status.path("providers").path("openai").path("keys").get(index);
    }
}
