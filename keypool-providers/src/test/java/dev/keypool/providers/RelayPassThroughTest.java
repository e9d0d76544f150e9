package dev.keypool.providers;

import static dev.keypool.providers.Keys.GEMINI_0;
import static dev.keypool.providers.Keys.OPENAI_0;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keypool.config.Provider;
import dev.keypool.providers.fake.FakeGemini;
import dev.keypool.providers.fake.FakeOpenAi;
import dev.keypool.providers.fake.Reply;
import dev.keypool.providers.relay.Head;
import dev.keypool.providers.relay.Header;
import dev.keypool.providers.relay.Inbound;
import dev.keypool.providers.relay.Outcome;
import dev.keypool.providers.relay.Sink;
import dev.keypool.rotation.TokenUsage;
import dev.keypool.usage.InMemoryAffinityStore;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The relay as the gateway drives it: a caller's request in a provider's own protocol, the answer
 * collected byte for byte by a sink. What the caller gets is compared with what the fake sent.
 */
class RelayPassThroughTest {

    private final FakeOpenAi openai = FakeOpenAi.start();
    private final FakeGemini gemini = FakeGemini.start();
    private TestPool pool;
    private Relay relay;

    @AfterEach
    void close() {
        if (relay != null) {
            relay.close();
        }
        if (pool != null) {
            pool.close();
        }
        openai.close();
        gemini.close();
    }

    private Relay relay() {
        pool = TestPool.builder().keys(openai, OPENAI_0).keys(gemini, GEMINI_0).build();
        relay = Relay.create(pool.rotator, new InMemoryAffinityStore());
        return relay;
    }

    @Test
    void aStreamThatDidNotAskForUsage_getsTheProvidersBytes_withoutWhatKeypoolAskedFor() {
        relay();
        String first = "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":"
                + "{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":null}],\"usage\":null,\"obfuscation\":\"a\"}\n\n";
        String last = "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{},"
                + "\"finish_reason\":\"stop\"}],\"usage\":null}\n\n";
        String usage = "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":"
                + "{\"prompt_tokens\":13,\"completion_tokens\":5,\"total_tokens\":18}}\n\n";
        openai.enqueue(Reply.stream(200, "text/event-stream; charset=utf-8", List.of(first, last, usage, "data: [DONE]\n\n"),
                Reply.Ending.CLOSE));
        Collected answer = new Collected();

        Outcome outcome = relay.relay(Provider.OPENAI, Inbound.json("/v1/chat/completions",
                bytes("{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":true}")), answer);

        assertThat(openai.requests().get(0).json().path("stream_options").path("include_usage").asBoolean()).isTrue();
        assertThat(answer.text()).isEqualTo(first.replace(",\"usage\":null", "") + last.replace(",\"usage\":null", "")
                + "data: [DONE]\n\n");
        assertThat(outcome.usage()).as("the hidden chunk's usage is still committed").isEqualTo(TokenUsage.of(13, 5));
        assertThat(pool.status(Provider.OPENAI, 0).minuteTokens()).isEqualTo(18);
    }

    @Test
    void aStreamThatAskedForUsage_getsTheProvidersBytesUnchanged() {
        relay();
        openai.enqueue(FakeOpenAi.streamed(List.of("This is", " a test!"), 13, 5));
        Collected answer = new Collected();

        Outcome outcome = relay.relay(Provider.OPENAI, Inbound.json("/v1/chat/completions",
                bytes("{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":true,"
                        + "\"stream_options\":{\"include_usage\":true}}")), answer);

        assertThat(answer.text()).contains("\"usage\":null").contains("\"choices\":[],\"usage\":{\"prompt_tokens\":13")
                .endsWith("data: [DONE]\n\n");
        assertThat(answer.head.header("x-request-id")).startsWith("req_");
        assertThat(answer.head.header("openai-organization")).as("the pooled key's account stays hidden").isNull();
        assertThat(outcome.usage()).isEqualTo(TokenUsage.of(13, 5));
    }

    @Test
    void geminisStreamWithoutAltSse_passesAsOneJsonArray_andTheLastCumulativeUsageIsCommitted() {
        relay();
        gemini.enqueue(FakeGemini.streamed(List.of("As of", " July."), 21, 43, 481));
        Collected answer = new Collected();
        String path = "/v1beta/models/gemini-2.5-flash:streamGenerateContent";

        Outcome outcome = relay.relay(Provider.GEMINI, new Inbound("POST", path, "key=AIza-callers-own",
                List.of(new Header("Content-Type", "application/json")),
                bytes("{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}]}")), answer);

        assertThat(gemini.requests().get(0).key()).isEqualTo(GEMINI_0);
        assertThat(gemini.requests().get(0).query()).isNull();
        assertThat(answer.text()).startsWith("[{").contains(",\r\n{").endsWith("}]");
        assertThat(dev.keypool.providers.internal.Json.parseOrMissing(answer.text()).size()).isEqualTo(2);
        assertThat(outcome.usage()).isEqualTo(TokenUsage.of(21, 524));
        assertThat(pool.status(Provider.GEMINI, 0).minuteTokens()).isEqualTo(545);
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    /** The answer as a gateway's response would carry it. */
    private static final class Collected implements Sink {

        private final ByteArrayOutputStream body = new ByteArrayOutputStream();
        private Head head;

        @Override
        public OutputStream begin(Head head) {
            this.head = head;
            return body;
        }

        String text() {
            return body.toString(StandardCharsets.UTF_8);
        }
    }
}
