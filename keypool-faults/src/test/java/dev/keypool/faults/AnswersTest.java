package dev.keypool.faults;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.providers.fake.Exchange;
import dev.keypool.providers.fake.FakeOpenAi;
import dev.keypool.providers.fake.Gate;
import dev.keypool.providers.fake.Reply;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Answers that test the relay: a 50 MB answer and a 50 MB stream, far above what the gateway
 * buffers (256 KiB), must reach the caller whole, and while 40 MB of one have passed and the
 * provider holds the rest back, the gateway's heap after a full collection must hold less than
 * those 40 MB; a stream the provider cuts must look cut to the caller (no {@code finish_reason}
 * and no {@code [DONE]} the provider did not send) and be charged its whole reservation, which
 * the provider's log shows: answers it may have billed in full never put a key over its limit.
 */
class AnswersTest {

    private static final int HUGE = 50 << 20;
    /** How much of an answer has passed when the provider holds the rest back and the heap is measured. */
    private static final int HELD = 40 << 20;
    private static final int CHUNK = 64 << 10;
    private static final String CHUNK_TEXT = "x".repeat(CHUNK);
    private static final int BILLED = FaultRun.PROMPT_TOKENS + Load.MAX_TOKENS;
    private static final String USAGE = "{\"prompt_tokens\":" + FaultRun.PROMPT_TOKENS + ",\"completion_tokens\":"
            + Load.MAX_TOKENS + ",\"total_tokens\":" + BILLED + "}";

    @TempDir
    Path work;

    @Test
    void hugeAnswerAndHugeStream_reachTheCallerWhole_neverHeldWhole() throws Exception {
        try (FaultRun run = new FaultRun(work); HttpClient http = HttpClient.newHttpClient()) {
            GatewayProcess gateway = run.start("relay", Map.of("KEYPOOL_DATA_DIR", run.directory("data").toString()));
            Load.Statuses seen = new Load.Statuses();
            seen.count(Load.send(http, gateway, Load.chat(false)));
            long atRestKib = gateway.liveHeapKib();

            long plainHeldKib = relay(run, http, gateway, seen, false, atRestKib);
            long streamHeldKib = relay(run, http, gateway, seen, true, atRestKib);

            run.judge("10-huge-answers", "a 50 MB answer, then a 50 MB stream (64 KiB events)", seen,
                    "heap after a full collection with " + (HELD >> 20) + " MB relayed and the rest held back: "
                            + plainHeldKib / 1024 + " MiB (answer), " + streamHeldKib / 1024 + " MiB (stream), "
                            + atRestKib / 1024 + " MiB at rest");
        }
    }

    /**
     * Relays one 50 MB answer, JSON or SSE; when {@value #HELD} bytes of it have reached the caller the
     * provider holds the rest back, and the gateway's live heap is measured then: it must have grown
     * by less than what passed. Returns it (KiB).
     */
    private static long relay(FaultRun run, HttpClient http, GatewayProcess gateway, Load.Statuses seen, boolean stream,
            long atRestKib) throws Exception {
        Gate rest = new Gate();
        CompletableFuture<Void> held = new CompletableFuture<>();
        run.openAi.enqueue(stream ? hugeStream(held, rest) : hugeAnswer(held, rest));
        try (ExecutorService caller = Executors.newVirtualThreadPerTaskExecutor()) {
            Future<Received> answer = caller.submit(() -> post(http, gateway, Load.chat(stream)));
            held.get(60, TimeUnit.SECONDS);
            long heldKib = gateway.liveHeapKib();
            rest.open();
            Received received = answer.get(60, TimeUnit.SECONDS);
            seen.count(received.outcome());
            assertThat(received.status()).isEqualTo(200);
            assertThat(received.bytes()).isGreaterThan(HUGE);
            assertThat(received.tail()).contains(stream ? "data: [DONE]" : "\"total_tokens\":" + BILLED);
            assertThat(heldKib - atRestKib).as("live heap added (KiB) while %s bytes of the answer had passed", HELD)
                    .isLessThan(HELD / 1024);
            return heldKib;
        }
    }

    @Test
    void cutStreams_lookCutToTheCaller_andAreChargedTheirReservation() throws Exception {
        try (FaultRun run = new FaultRun(work); HttpClient http = HttpClient.newHttpClient()) {
            run.openAi.replyByDefault(FakeOpenAi.streamThenDrop("This", " is", " a"));
            GatewayProcess gateway = run.start("relay", Map.of("KEYPOOL_DATA_DIR", run.directory("data").toString()));
            Load.Statuses seen = new Load.Statuses();
            // A cut stream blames its key (it rests): one per key, then the pool is refused.
            for (int i = 0; i < 3; i++) {
                Received cut = post(http, gateway, Load.chat(true));
                seen.count(cut.outcome());
                if (cut.status() == 200) {
                    assertThat(cut.text()).contains("\" a\"").doesNotContain("[DONE]")
                            .doesNotContainPattern("\"finish_reason\"\\s*:\\s*\"");
                }
            }
            assertThat(seen.of("200, cut") + seen.of("200")).as("cut streams relayed").isEqualTo(2);
            // Each key was charged its whole reservation, at least what the provider may have billed.
            JsonNode status = gateway.admin("/api/admin/api-key-status/");
            long charged = 0;
            for (JsonNode key : status.at("/providers/openai/keys")) {
                assertThat(key.path("tokens_used_day").asLong()).as("charged to key %s", key.path("index"))
                        .isGreaterThanOrEqualTo(BILLED);
                charged += key.path("tokens_used_day").asLong();
            }
            run.judge("11-cut-streams", "streams the provider cuts after three deltas", seen,
                    "no `finish_reason`, no `[DONE]` reached the caller; each cut charged its reservation ("
                            + charged + " tokens for two, the provider's bill at most "
                            + 2 * BILLED + "); a cut key rests, so the third is refused");
        }
    }

    /** A chat completion whose message is {@value #HUGE} bytes of text, usage last, sent in 64 KiB writes. */
    private static Reply hugeAnswer(CompletableFuture<Void> held, Gate rest) {
        return exchange -> {
            exchange.startStream(200, "application/json");
            exchange.write("{\"id\":\"chatcmpl-huge\",\"object\":\"chat.completion\",\"created\":1733100000,"
                    + "\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"");
            writeHuge(exchange, held, rest, CHUNK_TEXT);
            exchange.write("\"},\"finish_reason\":\"stop\"}],\"usage\":" + USAGE + "}");
            exchange.finish();
        };
    }

    /** A chat stream of {@value #HUGE} bytes of deltas, then its finish, its usage and {@code [DONE]}. */
    private static Reply hugeStream(CompletableFuture<Void> held, Gate rest) {
        String chunk = "{\"id\":\"chatcmpl-huge\",\"object\":\"chat.completion.chunk\",\"created\":1733100000,"
                + "\"model\":\"gpt-4o\",\"choices\":[";
        return exchange -> {
            exchange.startStream(200, "text/event-stream");
            exchange.write("data: " + chunk + "{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
                    + "\"finish_reason\":null}]}\n\n");
            writeHuge(exchange, held, rest, "data: " + chunk + "{\"index\":0,\"delta\":{\"content\":\"" + CHUNK_TEXT
                    + "\"},\"finish_reason\":null}]}\n\n");
            exchange.write("data: " + chunk + "{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n");
            exchange.write("data: " + chunk + "],\"usage\":" + USAGE + "}\n\n");
            exchange.write("data: [DONE]\n\n");
            exchange.finish();
        };
    }

    /** Writes {@code piece} until {@value #HUGE} bytes went out, holding once {@value #HELD} have until {@code rest} opens. */
    private static void writeHuge(Exchange exchange, CompletableFuture<Void> held, Gate rest, String piece)
            throws IOException {
        for (long written = 0; written < HUGE; written += piece.length()) {
            if (written >= HELD && !held.isDone()) {
                held.complete(null);
                exchange.await(rest);
            }
            exchange.write(piece);
        }
    }

    /** What the caller received: the status, how many bytes, the last ones, and whether the body ended properly. */
    private record Received(int status, long bytes, String text, boolean cut) {

        String tail() {
            return text.substring(Math.max(0, text.length() - 300));
        }

        /** The status, and {@code cut} when the body ended without its chunked encoding's proper end. */
        String outcome() {
            return status + (cut ? ", cut" : "");
        }
    }

    /** Reads an answer as it comes, keeping only its first and last 64 KiB. */
    private static Received post(HttpClient http, GatewayProcess gateway, String body) throws InterruptedException {
        HttpResponse<InputStream> response;
        try {
            response = http.send(HttpRequest.newBuilder(URI.create(gateway.url("/v1/chat/completions")))
                    .header("Content-Type", "application/json").timeout(Duration.ofSeconds(60))
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofInputStream());
        } catch (IOException e) {
            return new Received(0, 0, e.toString(), true);
        }
        long bytes = 0;
        ByteArrayOutputStream kept = new ByteArrayOutputStream();
        byte[] buffer = new byte[CHUNK];
        boolean cut = false;
        try (InputStream in = response.body()) {
            int read;
            while ((read = in.read(buffer)) > 0) {
                bytes += read;
                if (kept.size() < CHUNK || bytes > HUGE) {
                    kept.write(buffer, 0, read);
                }
            }
        } catch (IOException e) {
            cut = true;
        }
        return new Received(response.statusCode(), bytes, kept.toString(StandardCharsets.UTF_8), cut);
    }
}
