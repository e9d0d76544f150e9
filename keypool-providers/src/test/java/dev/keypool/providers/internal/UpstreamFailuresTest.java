package dev.keypool.providers.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.keypool.failure.FailureKind;
import dev.keypool.failure.UpstreamException;
import dev.keypool.providers.fake.FakeOpenAi;
import dev.keypool.providers.fake.FakeUpstream;
import dev.keypool.providers.fake.RecordedRequest;
import dev.keypool.providers.fake.Reply;
import io.helidon.http.HeaderNames;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Transport trouble, as {@link Upstream} classifies it: what the provider did (dropped, stalled,
 * trickled, refused) becomes the failure kind that decides the key's reaction. The timeouts are
 * short and the fakes stall; the tests assert the classification, never a duration.
 */
class UpstreamFailuresTest {

    private static final String KEY = "sk-proj-TEST.transport-0000000000000001";
    private static final String CHAT = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    private static final String STREAM = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
            + "\"stream\":true}";

    private final FakeOpenAi fake = FakeOpenAi.start();
    private final Upstream upstream = new Upstream(Duration.ofSeconds(10), Duration.ofSeconds(10));
    /** Gives up after 300 ms without a whole answer, or 300 ms of silence in a stream. */
    private final Upstream impatient = new Upstream(Duration.ofMillis(300), Duration.ofMillis(300));

    @AfterEach
    void close() {
        fake.close();
        upstream.close();
        impatient.close();
    }

    @Test
    void droppedConnection_isAServerError() {
        fake.enqueue(Reply.dropConnection());

        UpstreamException failure = catchThrowableOfType(UpstreamException.class, () -> upstream.send(chat(CHAT), KEY));

        assertThat(failure.kind()).isEqualTo(FailureKind.SERVER_ERROR);
        assertThat(failure.status()).isZero();
    }

    @Test
    void noAnswer_timesOutAsAServerError() {
        fake.enqueue(Reply.noAnswer());

        UpstreamException failure = catchThrowableOfType(UpstreamException.class, () -> impatient.send(chat(CHAT), KEY));

        assertThat(failure.kind()).isEqualTo(FailureKind.SERVER_ERROR);
        assertThat(failure.getMessage()).contains("timed out");
    }

    @Test
    void bodyTricklingPastTheTimeout_timesOut_thoughEveryReadIsQuick() {
        fake.enqueue(TricklingReply.completion());

        UpstreamException failure = catchThrowableOfType(UpstreamException.class, () -> impatient.send(chat(CHAT), KEY));

        assertThat(failure.kind()).isEqualTo(FailureKind.SERVER_ERROR);
        assertThat(failure.getMessage()).contains("no complete answer within 300 ms");
    }

    @Test
    void refusedConnection_isUnreachable() {
        UpstreamRequest nowhere = UpstreamRequest.postJson(URI.create(FakeUpstream.unreachableUrl() + "/v1/chat/completions"),
                CHAT.getBytes(StandardCharsets.UTF_8));

        UpstreamException failure = catchThrowableOfType(UpstreamException.class, () -> upstream.send(nowhere, KEY));

        assertThat(failure.kind()).isEqualTo(FailureKind.UNREACHABLE);
        assertThat(catchThrowableOfType(UpstreamException.class, () -> upstream.open(nowhere, KEY)).kind())
                .isEqualTo(FailureKind.UNREACHABLE);
    }

    @Test
    void streamSilentPastTheIdleTimeout_failsAsAServerError_afterWhatItSent() throws Exception {
        fake.enqueue(FakeOpenAi.streamThenStall("This"));
        ByteArrayOutputStream received = new ByteArrayOutputStream();

        UpstreamException failure;
        try (Upstream.StreamingResponse response = impatient.open(chat(STREAM), KEY)) {
            assertThat(response.status()).isEqualTo(200);
            InputStream body = response.body();
            byte[] buffer = new byte[1024];
            failure = catchThrowableOfType(UpstreamException.class, () -> {
                int n;
                while ((n = body.read(buffer, 0, buffer.length)) >= 0) {
                    received.write(buffer, 0, n);
                }
            });
        }

        assertThat(failure.kind()).isEqualTo(FailureKind.SERVER_ERROR);
        assertThat(failure.getMessage()).contains("silent");
        assertThat(received.toString(StandardCharsets.UTF_8)).contains("\"content\":\"This\"");
    }

    @Test
    void streamDroppedMidway_failsAsAServerError() throws Exception {
        fake.enqueue(FakeOpenAi.streamThenDrop("This", " is"));

        UpstreamException failure;
        try (Upstream.StreamingResponse response = upstream.open(chat(STREAM), KEY)) {
            InputStream body = response.body();
            failure = catchThrowableOfType(UpstreamException.class, () -> {
                byte[] buffer = new byte[1024];
                while (body.read(buffer, 0, buffer.length) >= 0) {
                    // read to the break
                }
            });
        }

        assertThat(failure.kind()).isEqualTo(FailureKind.SERVER_ERROR);
    }

    @Test
    void callsInARow_reuseOneKeptAliveConnection_anErrorAnswerIncluded() {
        fake.enqueue(FakeOpenAi.completion("one", 1, 1), FakeOpenAi.completion("two", 1, 1),
                FakeOpenAi.rateLimitedTokens("2s"), FakeOpenAi.completion("four", 1, 1));

        assertThat(upstream.send(chat(CHAT), KEY).status()).isEqualTo(200);
        assertThat(upstream.send(chat(CHAT), KEY).status()).isEqualTo(200);
        assertThat(upstream.send(chat(CHAT), KEY).status()).isEqualTo(429);
        assertThat(upstream.send(chat(CHAT), KEY).status()).isEqualTo(200);

        // an error answer is read whole, so its connection is kept as well
        assertThat(fake.requests()).hasSize(4).extracting(RecordedRequest::clientPort)
                .containsOnly(fake.requests().get(0).clientPort());
    }

    @Test
    void aStreamReadToItsEnd_leavesItsConnectionForTheNextCall() throws Exception {
        fake.enqueue(FakeOpenAi.streamed(java.util.List.of("one"), 1, 1), FakeOpenAi.completion("two", 1, 1));

        try (Upstream.StreamingResponse response = upstream.open(chat(STREAM), KEY)) {
            response.body().readAllBytes();
        }
        upstream.send(chat(CHAT), KEY);

        assertThat(fake.requests()).hasSize(2).extracting(RecordedRequest::clientPort)
                .containsOnly(fake.requests().get(0).clientPort());
    }

    private UpstreamRequest chat(String body) {
        return UpstreamRequest.postJson(URI.create(fake.baseUrl() + "/chat/completions"), body.getBytes(StandardCharsets.UTF_8))
                .secretHeader(HeaderNames.AUTHORIZATION, "Bearer " + KEY);
    }
}
