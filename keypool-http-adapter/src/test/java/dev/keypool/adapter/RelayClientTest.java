package dev.keypool.adapter;

import static dev.keypool.adapter.AdapterPool.KEY_A;
import static dev.keypool.adapter.AdapterPool.KEY_B;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keypool.config.Provider;
import dev.keypool.providers.fake.FakeOpenAi;
import dev.keypool.providers.relay.Header;
import dev.keypool.event.KeyEvent;
import dev.keypool.testing.CloseAfterEach;
import dev.keypool.usage.KeyStatus;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** What a framework's client sees through the relay: the provider's answer, or keypool's refusal in its shape. */
class RelayClientTest {

    private static final URI CHAT = URI.create("https://api.openai.com/v1/chat/completions");
    private static final byte[] BODY = """
            {"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say this is a test!"}]}"""
            .getBytes(StandardCharsets.UTF_8);
    private static final byte[] STREAM = """
            {"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Say this is a test!"}]}"""
            .getBytes(StandardCharsets.UTF_8);
    private static final List<Header> HEADERS = List.of(new Header("Content-Type", "application/json"),
            new Header("Authorization", "Bearer framework-placeholder"));

    @RegisterExtension
    final CloseAfterEach closing = new CloseAfterEach();
    private final FakeOpenAi openai = closing.add(FakeOpenAi.start());
    private final AdapterPool pool = closing.add(new AdapterPool(openai, KEY_A, KEY_B));

    @Test
    void aRateLimitOnTheFirstKey_isServedByTheNext_andChargedToIt() throws IOException {
        openai.enqueue(KEY_A, FakeOpenAi.rateLimitedTokens("20s"));

        try (RelayedResponse response = pool.client.exchange("POST", CHAT, HEADERS, BODY)) {
            assertThat(response.status()).isEqualTo(200);
            assertThat(new String(response.body().readAllBytes(), StandardCharsets.UTF_8)).contains("This is a test!");
            assertThat(response.refusal()).isNull();
        }

        assertThat(openai.keys()).containsExactly(KEY_A, KEY_B);
        assertThat(openai.requests()).allSatisfy(request ->
                assertThat(request.header("authorization")).doesNotContain("framework-placeholder"));
        assertThat(pool.minuteTokens(Provider.OPENAI, KEY_B)).isEqualTo(13 + 5);
    }

    @Test
    void aSpentPool_isA429InOpenAisShape_withTheTimeUntilAKeyFreesUp() throws IOException {
        openai.reply(KEY_A, FakeOpenAi.rateLimitedTokens("20s"));
        openai.reply(KEY_B, FakeOpenAi.rateLimitedTokens("20s"));

        try (RelayedResponse response = pool.client.exchange("POST", CHAT, HEADERS, BODY)) {
            assertThat(response.status()).isEqualTo(429);
            assertThat(response.header("Retry-After")).isNotNull();
            assertThat(response.header("X-Should-Retry")).isEqualTo("false");
            assertThat(response.refusal().retryAfter()).isPositive();
            assertThat(new String(response.body().readAllBytes(), StandardCharsets.UTF_8))
                    .contains("\"code\":\"keys_exhausted\"", "\"type\":\"rate_limit_exceeded\"");
        }
    }

    @Test
    void aStream_comesThroughEventByEvent_andCommitsTheReportedUsage() throws IOException {
        openai.enqueue(FakeOpenAi.streamed(List.of("This", " is", " a", " test!"), 13, 4));
        try (RelayedResponse response = pool.client.exchange("POST", CHAT, HEADERS, STREAM)) {
            assertThat(response.header("Content-Type")).startsWith("text/event-stream");
            String events = new String(response.body().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(events).contains("\" is\"", "[DONE]");
        }

        assertThat(pool.minuteTokens(Provider.OPENAI, KEY_A)).isEqualTo(13 + 4);
    }

    @Test
    void aStreamTheCallerAbandons_isChargedItsWholeReservation_andNoKeyIsBlamed() throws Exception {
        List<String> deltas = new ArrayList<>();
        for (int i = 0; i < 4000; i++) {
            deltas.add(" word" + "x".repeat(120));
        }
        openai.enqueue(FakeOpenAi.streamed(deltas, 13, deltas.size()));
        CompletableFuture<Long> reserved = new CompletableFuture<>();
        CompletableFuture<KeyEvent.UsageCommitted> settled = new CompletableFuture<>();
        pool.manager.events().addListener(event -> {
            switch (event) {
                case KeyEvent.KeyAcquired acquired -> reserved.complete(acquired.tokens());
                case KeyEvent.UsageCommitted committed -> settled.complete(committed);
                default -> {
                }
            }
        });

        try (RelayedResponse response = pool.client.exchange("POST", CHAT, HEADERS, STREAM)) {
            assertThat(response.body().read(new byte[64])).isPositive();
        }

        KeyEvent.UsageCommitted committed = settled.get(30, TimeUnit.SECONDS);
        assertThat(committed.totalTokens()).isEqualTo(reserved.get());
        assertThat(pool.status(Provider.OPENAI, KEY_A).status()).isEqualTo(KeyStatus.ACTIVE);
        assertThat(openai.keys()).containsExactly(KEY_A);
    }

    @Test
    void aStreamThatBreaksOff_reachesTheReaderAsAnIOException_afterWhatCameBeforeIt() throws IOException {
        openai.enqueue(FakeOpenAi.streamThenDrop("This", " is"));

        try (RelayedResponse response = pool.client.exchange("POST", CHAT, HEADERS, STREAM)) {
            InputStream body = response.body();
            ByteArrayOutputStream read = new ByteArrayOutputStream();
            assertThatThrownBy(() -> body.transferTo(read)).isInstanceOf(IOException.class);
            assertThat(read.toString(StandardCharsets.UTF_8)).contains("\" is\"");
        }
    }

    @Test
    void aBasePath_isTakenOffAndTheProtocolToldByThePath() {
        RelayClient client = pool.client.basePath("/proxy/");

        assertThat(client.inbound("POST", URI.create("http://x/proxy/v1/embeddings?a=b"), List.of(), null).path())
                .isEqualTo("/v1/embeddings");
        assertThat(RelayClient.protocolOf("/v1beta/models/gemini-2.5-flash:generateContent")).isEqualTo(Provider.GEMINI);
        assertThat(RelayClient.protocolOf("/api/chat")).isEqualTo(Provider.OLLAMA);
        assertThat(RelayClient.protocolOf("/v1/chat/completions")).isEqualTo(Provider.OPENAI);
    }
}
