package dev.keypool.faults;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keypool.providers.fake.FakeOpenAi;
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
import java.util.Collections;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Answers that test the relay: a 50 MB answer and a 50 MB stream, far above what the gateway
 * buffers (256 KiB), must reach the caller whole while the process's memory stays well below
 * the answer's size; a stream the provider cuts must look cut to the caller (no {@code finish_reason}
 * and no {@code [DONE]} the provider did not send) and be charged its whole reservation, which
 * the provider's log shows: answers it may have billed in full never put a key over its limit.
 */
class AnswersTest {

    private static final int HUGE = 50 << 20;
    private static final int CHUNK = 64 << 10;

    @TempDir
    Path work;

    @Test
    void hugeAnswerAndHugeStream_reachTheCallerWhole_withBoundedMemory() throws Exception {
        try (FaultRun run = new FaultRun(work); HttpClient http = HttpClient.newHttpClient()) {
            GatewayProcess gateway = run.start("relay", Map.of("KEYPOOL_DATA_DIR", run.directory("data").toString()));
            Load.Statuses seen = new Load.Statuses();
            assertThat(Load.send(http, gateway, Load.chat(false))).isEqualTo("200");
            long atRestKib = gateway.rssKib();

            run.openAi.enqueue(hugeAnswer());
            Received plain = post(http, gateway, Load.chat(false));
            seen.count(plain.outcome());
            assertThat(plain.status()).isEqualTo(200);
            assertThat(plain.bytes()).isGreaterThan(HUGE);
            assertThat(plain.tail()).contains("\"total_tokens\":41");

            run.openAi.enqueue(FakeOpenAi.streamed(Collections.nCopies(HUGE / CHUNK, "x".repeat(CHUNK)),
                    FaultRun.PROMPT_TOKENS, Load.MAX_TOKENS));
            Received streamed = post(http, gateway, Load.chat(true));
            seen.count(streamed.outcome());
            assertThat(streamed.status()).isEqualTo(200);
            assertThat(streamed.bytes()).isGreaterThan(HUGE);
            assertThat(streamed.tail()).contains("data: [DONE]");

            long grownMib = (gateway.peakRssKib() - atRestKib) / 1024;
            assertThat(grownMib).as("resident memory added while relaying 50 MB answers (MiB)").isLessThan(HUGE >> 20);
            run.judge("10-huge-answers", "a 50 MB answer, then a 50 MB stream (800 events of 64 KiB)", seen,
                    "resident memory grew " + grownMib + " MiB above " + atRestKib / 1024 + " MiB at rest while relaying them");
        }
    }

    @Test
    void cutStreams_lookCutToTheCaller_andAreChargedTheirReservation() throws Exception {
        try (FaultRun run = new FaultRun(work); HttpClient http = HttpClient.newHttpClient()) {
            run.openAi.replyByDefault(FakeOpenAi.streamThenDrop("This", " is", " a"));
            GatewayProcess gateway = run.start("relay", Map.of("KEYPOOL_DATA_DIR", run.directory("data").toString()));
            Load.Statuses seen = new Load.Statuses();
            // More cut streams than the keys' budgets hold if they were charged nothing.
            for (int i = 0; i < 40; i++) {
                Received cut = post(http, gateway, Load.chat(true));
                seen.count(cut.outcome());
                if (cut.status() == 200) {
                    assertThat(cut.text()).contains("\" a\"").doesNotContain("[DONE]")
                            .doesNotContainPattern("\"finish_reason\"\\s*:\\s*\"");
                }
            }
            assertThat(seen.of("200, cut") + seen.of("200")).as("cut streams relayed").isGreaterThan(0);
            assertThat(seen.of("429")).as("refused once the cut streams' reservations spent the keys").isGreaterThan(0);
            run.judge("11-cut-streams", "40 streams the provider cuts after three deltas", seen,
                    "each billed as if the provider generated all of `max_tokens`");
        }
    }

    /** A chat completion whose message is {@value #HUGE} bytes of text, usage last. */
    private static Reply hugeAnswer() {
        return exchange -> {
            String head = "{\"id\":\"chatcmpl-huge\",\"object\":\"chat.completion\",\"created\":1733100000,\"model\":\"gpt-4o\","
                    + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"";
            String tail = "\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":40,"
                    + "\"total_tokens\":41}}";
            byte[] body = new byte[head.length() + HUGE + tail.length()];
            System.arraycopy(head.getBytes(StandardCharsets.US_ASCII), 0, body, 0, head.length());
            java.util.Arrays.fill(body, head.length(), head.length() + HUGE, (byte) 'x');
            System.arraycopy(tail.getBytes(StandardCharsets.US_ASCII), 0, body, head.length() + HUGE, tail.length());
            exchange.respond(200, "application/json", body);
        };
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
