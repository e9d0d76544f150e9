package dev.keypool.faults;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keypool.config.WindowLimits;
import dev.keypool.providers.fake.FakeOpenAi;
import dev.keypool.providers.fake.FakeUpstream;
import dev.keypool.providers.fake.RecordedRequest;
import dev.keypool.providers.fake.RecordedResponse;
import dev.keypool.providers.fake.Reply;
import dev.keypool.testing.ArrivalLedger;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * One scenario: a recording fake OpenAI, the gateways started against it, and the judgement from
 * the fake's own log. Two keys: one limited per minute, one per day, both small (600 tokens), so a
 * window's budget is spent within a second of load and a second helping would show at once,
 * without waiting for any window to pass.
 *
 * <p>Tokens are counted as the provider bills them: the usage its answer reported, and for an
 * answer it began but did not finish (a stream cut, a caller that went away, a gateway killed
 * while it waited), the whole generation it was asked for ({@code max_tokens}) plus the prompt: it
 * may have generated all of it. A refusal costs nothing.
 */
final class FaultRun implements AutoCloseable {

    static final String MINUTE_KEY = "sk-proj-TEST.faults-minute-aaaaaaaaaaaa-key0";
    static final String DAY_KEY = "sk-proj-TEST.faults-day-bbbbbbbbbbbbbbbbb-key1";
    static final long LIMIT = 600;
    static final String ADMIN_TOKEN = "faults-admin-token-0123456789";
    /**
     * The prompt tokens the fake reports for every request: what the gateway estimates for its
     * message, so that each answer bills exactly what its request reserved (53) and a single request
     * admitted beyond a limit shows in the log.
     */
    static final int PROMPT_TOKENS = 13;
    private static final ObjectMapper JSON = new ObjectMapper();

    final FakeOpenAi openAi = FakeOpenAi.start();
    private final Path work;
    private final List<GatewayProcess> gateways = new CopyOnWriteArrayList<>();

    FaultRun(Path work) {
        this.work = work;
        openAi.replyByDefault(billed(Duration.ofMillis(100)));
    }

    /**
     * An answer after {@code delay} (the provider's time to generate) that bills
     * {@value #PROMPT_TOKENS} prompt tokens and {@code max_tokens} completion tokens: what the
     * gateway reserved, never more, so any excess in the log is over-admission, not an overshoot.
     */
    static Reply billed(Duration delay) {
        return Reply.delayed(delay, exchange -> FakeOpenAi.completion("This is a test!", PROMPT_TOKENS,
                exchange.request().json().path("max_tokens").asInt(Load.MAX_TOKENS)).send(exchange));
    }

    /** The pool's environment; {@code extra} adds or replaces variables. */
    Map<String, String> environment(Map<String, String> extra) {
        Map<String, String> env = new HashMap<>();
        env.put("OPENAI_API_KEYS", MINUTE_KEY + "," + DAY_KEY);
        env.put("OPENAI_MAX_TOKENS_PER_MINUTE_0", Long.toString(LIMIT));
        env.put("OPENAI_MAX_TOKENS_PER_DAY_1", Long.toString(LIMIT));
        env.put("OPENAI_BASE_URL", openAi.baseUrl());
        env.put("OLLAMA_HOST", FakeUpstream.unreachableUrl());
        env.put("KEYPOOL_PROVIDER_PRIORITY", "openai");
        env.put("KEYPOOL_HOST", "127.0.0.1");
        env.put("KEYPOOL_PORT", "0");
        env.put("KEYPOOL_ADMIN_TOKEN", ADMIN_TOKEN);
        env.put("KEYPOOL_DAY_ZONE", "UTC");
        env.putAll(extra);
        return env;
    }

    /** A data directory of its own under this scenario's work directory. */
    Path directory(String name) {
        try {
            return Files.createDirectories(work.resolve(name));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    GatewayProcess start(String name, Map<String, String> extra) {
        GatewayProcess gateway = GatewayProcess.start(name, environment(extra), directory("cwd-" + name));
        gateways.add(gateway);
        return gateway;
    }

    /** Starts several gateways at once (their JVMs start side by side) and waits until all listen. */
    List<GatewayProcess> startTogether(Map<String, String> extra, String... names) {
        List<GatewayProcess> started = new java.util.ArrayList<>();
        for (String name : names) {
            GatewayProcess gateway = GatewayProcess.launch(name, environment(extra), directory("cwd-" + name));
            gateways.add(gateway);
            started.add(gateway);
        }
        started.forEach(GatewayProcess::port);
        return started;
    }

    /** Every gateway started, the killed ones included. */
    List<GatewayProcess> gateways() {
        return gateways;
    }

    /** The gateways not killed on purpose: what the load calls. */
    List<GatewayProcess> serving() {
        return gateways.stream().filter(GatewayProcess::alive).toList();
    }

    /** The chat requests that reached the provider so far. */
    long arrivals() {
        return openAi.requests("/v1/chat/completions").size();
    }

    /** What each key received, when, and what it was billed, from the fake's log. */
    ArrivalLedger<String> ledger() {
        ArrivalLedger<String> ledger = new ArrivalLedger<>();
        for (RecordedRequest request : openAi.requests("/v1/chat/completions")) {
            RecordedResponse response = openAi.responseTo(request);
            ledger.arrived(request.key(), request.arrivedAt().toEpochMilli(), billedTokens(request, response));
        }
        return ledger;
    }

    static long billedTokens(RecordedRequest request, RecordedResponse response) {
        if (response != null && response.status() != 0 && response.status() != 200) {
            return 0;
        }
        long reported = response == null || response.ending() != Reply.Ending.CLOSE ? -1 : reportedUsage(response);
        return reported >= 0 ? reported : PROMPT_TOKENS + request.json().path("max_tokens").asLong(Load.MAX_TOKENS);
    }

    /** {@code usage.total_tokens} of a JSON answer or of a stream's usage chunk; -1 when none. */
    private static long reportedUsage(RecordedResponse response) {
        String body = new String(response.body(), StandardCharsets.UTF_8);
        JsonNode whole = response.json();
        if (whole.path("usage").has("total_tokens")) {
            return whole.path("usage").path("total_tokens").asLong();
        }
        long usage = -1;
        for (String line : body.split("\n")) {
            if (line.startsWith("data: {")) {
                try {
                    JsonNode event = JSON.readTree(line.substring(6));
                    if (event.path("usage").has("total_tokens")) {
                        usage = event.path("usage").path("total_tokens").asLong();
                    }
                } catch (IOException e) {
                    // not JSON: not a usage chunk
                }
            }
        }
        return usage;
    }

    /**
     * Asserts the promise from the provider's side (no 60-second span and no day above a key's
     * limit) and that no gateway died but those killed on purpose, then writes the report's row.
     */
    Row judge(String order, String fault, Load.Statuses clients, String notes) {
        ArrivalLedger<String> ledger = ledger();
        int deaths = (int) gateways.stream().filter(GatewayProcess::died).count();
        long peakRss = gateways.stream().mapToLong(GatewayProcess::peakRssKib).max().orElse(0);
        Row row = new Row(order, fault, clients.toString(), ledger.mostInAMinute(MINUTE_KEY),
                ledger.mostInADay(DAY_KEY, ZoneOffset.UTC), LIMIT, deaths, peakRss / 1024, notes);
        row.write();
        try {
            assertThat(gateways).as("gateways that died by themselves").noneMatch(GatewayProcess::died);
            ledger.assertNoKeyExceeds(Map.of(
                    MINUTE_KEY, WindowLimits.of(LIMIT, WindowLimits.UNLIMITED),
                    DAY_KEY, WindowLimits.of(WindowLimits.UNLIMITED, LIMIT)), ZoneOffset.UTC);
            assertThat(clients.asMap().keySet()).as("outcomes the clients saw").noneMatch(
                    outcome -> outcome.contains("without Retry-After") || outcome.startsWith("5") && !outcome.equals("503"));
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "\n" + timeline(), e);
        }
        return row;
    }

    /** What happened, for a failure's message: every arrival at the provider, and each gateway's log. */
    private String timeline() {
        StringBuilder text = new StringBuilder("arrivals at the provider (time, key, tokens billed, status):\n");
        for (RecordedRequest request : openAi.requests("/v1/chat/completions")) {
            RecordedResponse response = openAi.responseTo(request);
            text.append("  ").append(request.arrivedAt()).append(' ')
                    .append(request.key() == null ? "-" : request.key().substring(request.key().length() - 4)).append(' ')
                    .append(billedTokens(request, response)).append(' ')
                    .append(response == null ? 0 : response.status()).append('\n');
        }
        for (GatewayProcess gateway : gateways) {
            text.append("--- ").append(gateway.name()).append(" (pid ").append(gateway.pid()).append(")\n")
                    .append(gateway.output()).append('\n');
        }
        return text.toString();
    }

    @Override
    public void close() {
        gateways.forEach(GatewayProcess::close);
        openAi.close();
    }

    /** One line of {@code docs/RELIABILITY.md}, as {@code bench/run-faults.sh} puts it together. */
    record Row(String order, String fault, String clients, long minuteKeyMost, long dayKeyMost, long limit, int deaths,
            long peakRssMib, String notes) {

        void write() {
            String directory = System.getProperty("keypool.reliability.rows");
            if (directory == null) {
                return;
            }
            String line = String.join("\t", fault, clients, Long.toString(minuteKeyMost), Long.toString(dayKeyMost),
                    Long.toString(limit), Integer.toString(deaths), Long.toString(peakRssMib), notes) + "\n";
            try {
                Path rows = Files.createDirectories(Path.of(directory));
                Files.writeString(rows.resolve(order + ".tsv"), line);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
