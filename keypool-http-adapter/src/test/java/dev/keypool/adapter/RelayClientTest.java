package dev.keypool.adapter;

import static dev.keypool.adapter.AdapterPool.KEY_A;
import static dev.keypool.adapter.AdapterPool.KEY_B;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keypool.config.Provider;
import dev.keypool.providers.fake.FakeOpenAi;
import dev.keypool.providers.relay.Header;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** What a framework's client sees through the relay: the provider's answer, or keypool's refusal in its shape. */
class RelayClientTest {

    private static final URI CHAT = URI.create("https://api.openai.com/v1/chat/completions");
    private static final byte[] BODY = """
            {"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say this is a test!"}]}"""
            .getBytes(StandardCharsets.UTF_8);
    private static final List<Header> HEADERS = List.of(new Header("Content-Type", "application/json"),
            new Header("Authorization", "Bearer framework-placeholder"));

    private final FakeOpenAi openai = FakeOpenAi.start();
    private final AdapterPool pool = new AdapterPool(openai, KEY_A, KEY_B);

    @AfterEach
    void close() {
        pool.close();
        openai.close();
    }

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
        byte[] streaming = """
                {"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Say this is a test!"}]}"""
                .getBytes(StandardCharsets.UTF_8);

        try (RelayedResponse response = pool.client.exchange("POST", CHAT, HEADERS, streaming)) {
            assertThat(response.header("Content-Type")).startsWith("text/event-stream");
            String events = new String(response.body().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(events).contains("\" is\"", "[DONE]");
        }

        assertThat(pool.minuteTokens(Provider.OPENAI, KEY_A)).isEqualTo(13 + 4);
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
