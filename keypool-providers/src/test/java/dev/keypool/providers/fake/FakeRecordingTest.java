package dev.keypool.providers.fake;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.keypool.testing.ManualClock;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What the fakes record: each request's raw bytes and arrival, each answer byte for byte. */
class FakeRecordingTest {

    private static final String KEY = "sk-test-000000000000";
    private static final String CHAT = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]";

    @Test
    void request_keepsItsRawBytes_andItsArrivalOnTheFakesClock() {
        ManualClock clock = ManualClock.atNoonish();
        try (FakeOllama fake = FakeOllama.start()) {
            fake.setClock(clock);
            byte[] binary = new byte[256];
            for (int i = 0; i < binary.length; i++) {
                binary[i] = (byte) i;
            }

            Http.send("POST", fake.baseUrl() + "/api/blobs/sha256-x", HttpRequest.BodyPublishers.ofByteArray(binary));
            clock.advance(Duration.ofSeconds(30));
            Http.get(fake.baseUrl() + "/api/version");

            assertThat(fake.requests().get(0).bodyBytes()).isEqualTo(binary);
            assertThat(fake.requests().get(0).arrivedAt()).isEqualTo(Instant.parse("2026-01-15T10:00:00Z"));
            assertThat(fake.requests().get(1).arrivedAt()).isEqualTo(Instant.parse("2026-01-15T10:00:30Z"));
            assertThat(fake.requests().get(1).bodyBytes()).isEmpty();
        }
    }

    @Test
    void response_isRecordedByteForByte_statusHeadersAndBody() {
        try (FakeOpenAi fake = FakeOpenAi.start()) {
            HttpResponse<String> received = Http.post(fake.baseUrl() + "/chat/completions", CHAT + "}",
                    "Authorization", "Bearer " + KEY);

            RecordedResponse sent = fake.responseTo(fake.requests().get(0));
            assertThat(sent).isSameAs(fake.lastResponse()).isSameAs(fake.responses().get(0));
            assertThat(sent.status()).isEqualTo(received.statusCode()).isEqualTo(200);
            assertThat(sent.bodyText()).isEqualTo(received.body());
            assertThat(sent.header("content-length")).isEqualTo(String.valueOf(received.body().length()));
            assertThat(sent.header("x-request-id")).isEqualTo(received.headers().firstValue("x-request-id").orElseThrow());
            assertThat(sent.header("date")).isNotNull();
            assertThat(sent.ending()).isEqualTo(Reply.Ending.CLOSE);
            assertThat(sent.chunks()).hasSize(1);
        }
    }

    @Test
    void streamedResponse_recordsEachChunkInOrder_andHowItEnded() {
        try (FakeOllama fake = FakeOllama.start()) {
            fake.enqueue(FakeOllama.streamThenError(List.of("Par", "tial"), "an error was encountered while running the model"));
            fake.enqueue(FakeOllama.streamThenDrop("cut"));
            String chat = "{\"model\":\"llama3.2\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

            HttpResponse<String> errored = Http.post(fake.baseUrl() + "/api/chat", chat);
            Throwable dropped = catchThrowable(() -> Http.post(fake.baseUrl() + "/api/chat", chat));

            RecordedResponse first = fake.responses().get(0);
            assertThat(first.chunks()).hasSize(3);
            assertThat(new String(first.chunks().get(2))).isEqualTo("{\"error\":\"an error was encountered while running the model\"}\n");
            assertThat(first.bodyText()).isEqualTo(errored.body());
            assertThat(first.header("transfer-encoding")).isEqualTo("chunked");
            assertThat(first.ending()).isEqualTo(Reply.Ending.CLOSE);
            assertThat(dropped).isNotNull();
            assertThat(fake.responses().get(1).ending()).isEqualTo(Reply.Ending.DROP);
            assertThat(fake.responses().get(1).bodyText()).contains("\"content\":\"cut\"");
        }
    }

    @Test
    void defaultHeaders_neverOverrideTheOnesAReplySets() {
        try (FakeOpenAi fake = FakeOpenAi.start()) {
            fake.enqueue(FakeOpenAi.completion("Hi", 3, 1).withHeaders("x-ratelimit-remaining-tokens", "5"));

            HttpResponse<String> response = Http.post(fake.baseUrl() + "/chat/completions", CHAT + "}",
                    "Authorization", "Bearer " + KEY);

            assertThat(response.headers().allValues("x-ratelimit-remaining-tokens")).containsExactly("5");
            assertThat(response.headers().allValues("x-ratelimit-limit-tokens")).containsExactly("30000000");
            assertThat(fake.lastResponse().headers().get("x-ratelimit-remaining-tokens")).containsExactly("5");
        }
    }

    @Test
    void maxInAnyWindow_isTheBusiestHalfOpenSpanOfArrivals() {
        ManualClock clock = ManualClock.atNoonish();
        try (FakeOllama fake = FakeOllama.start()) {
            fake.setClock(clock);
            arrive(fake, 10);
            clock.advance(Duration.ofSeconds(30));
            arrive(fake, 20);
            clock.advance(Duration.ofMillis(29_999));
            arrive(fake, 5);
            clock.advanceMillis(1);
            arrive(fake, 7);

            // [t, t+60s) holds 10 + 20 + 5; the 7 arriving exactly 60 s after the 10 is in the next span.
            assertThat(fake.maxInAnyWindow(null, Duration.ofMinutes(1), r -> r.json().path("tokens").asLong()))
                    .isEqualTo(35);
            assertThat(fake.maxInAnyWindow(null, Duration.ofMinutes(1), r -> 1)).isEqualTo(3);
            assertThat(fake.maxInAnyWindow("sk-other", Duration.ofMinutes(1), r -> 1)).isZero();
        }
    }

    @Test
    void reset_forgetsTheObjectsTheProviderStored() {
        try (FakeOpenAi fake = FakeOpenAi.start()) {
            String id = Http.json(Http.post(fake.baseUrl() + "/responses", "{\"model\":\"gpt-4o\",\"input\":\"hi\"}",
                    "Authorization", "Bearer " + KEY)).path("id").asText();

            fake.reset();

            assertThat(Http.get(fake.baseUrl() + "/responses/" + id, "Authorization", "Bearer " + KEY).statusCode())
                    .isEqualTo(404);
            assertThat(fake.requests()).hasSize(1);
        }
    }

    private static void arrive(FakeOllama fake, int tokens) {
        Http.post(fake.baseUrl() + "/api/nowhere", "{\"tokens\":" + tokens + "}");
    }
}
