package dev.keypool.providers.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.failure.FailureKind;
import dev.keypool.failure.UpstreamException;
import dev.keypool.providers.fake.FakeOllama;
import dev.keypool.providers.fake.FakeUpstream;
import dev.keypool.rotation.TokenUsage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class OllamaClientTest {

    private final FakeOllama fake = FakeOllama.start();
    private final ClientTestSupport support = new ClientTestSupport();
    private final OllamaClient client = new OllamaClient(support.upstream, fake.baseUrl());

    @AfterEach
    void close() {
        fake.close();
        support.close();
    }

    @Test
    void complete_asksForOneAnswer_withTheCapAsNumPredict() {
        fake.enqueue(FakeOllama.chat("Understood.", 44, 4));

        Completion completion = client.complete(call("llama3.2"));

        JsonNode body = fake.requests().get(0).json();
        assertThat(body.path("stream").asBoolean(true)).isFalse();
        assertThat(body.path("model").asText()).isEqualTo("llama3.2");
        assertThat(body.path("options").path("num_predict").asInt()).isEqualTo(64);
        assertThat(body.path("options").path("temperature").asDouble()).isEqualTo(0.7);
        assertThat(body.path("messages").get(0).path("role").asText()).isEqualTo("system");
        assertThat(fake.requests().get(0).header("authorization")).isNull();
        assertThat(completion.text()).isEqualTo("Understood.");
        assertThat(completion.usage()).isEqualTo(TokenUsage.of(44, 4));
        assertThat(completion.finishReason()).isEqualTo("stop");
    }

    @Test
    void stream_readsNdjson_andTheCountsOfTheDoneLine() {
        fake.enqueue(FakeOllama.streamed(List.of("我是", "Q", "wen"), 32, 53));
        List<String> deltas = new ArrayList<>();

        Completion completion = client.stream(call("llama3.2"), deltas::add);

        assertThat(fake.requests().get(0).json().path("stream").asBoolean()).isTrue();
        assertThat(deltas).containsExactly("我是", "Q", "wen");
        assertThat(completion.usage()).isEqualTo(TokenUsage.of(32, 53));
    }

    @Test
    void stream_errorLine_afterItStarted_isAServerError() {
        fake.enqueue(FakeOllama.streamThenError(List.of("Hel"), "out of memory"));
        List<String> deltas = new ArrayList<>();

        UpstreamException failure = catchThrowableOfType(UpstreamException.class, () -> client.stream(call("llama3.2"), deltas::add));

        assertThat(deltas).containsExactly("Hel");
        assertThat(failure.kind()).isEqualTo(FailureKind.SERVER_ERROR);
        assertThat(failure.getMessage()).isEqualTo("out of memory");
    }

    @Test
    void modelNotPulled_goesBackToTheCaller() {
        UpstreamException failure = catchThrowableOfType(UpstreamException.class, () -> client.complete(call("mistral")));

        assertThat(failure.kind()).isEqualTo(FailureKind.CLIENT_ERROR);
        assertThat(failure.status()).isEqualTo(404);
        assertThat(failure.getMessage()).isEqualTo("model 'mistral' not found");
    }

    @Test
    void busy_isAServerError() {
        fake.enqueue(FakeOllama.serverBusy());

        assertThat(catchThrowableOfType(UpstreamException.class, () -> client.complete(call("llama3.2"))).kind())
                .isEqualTo(FailureKind.SERVER_ERROR);
    }

    @Test
    void notRunning_isUnreachable() {
        OllamaClient nowhere = new OllamaClient(support.upstream, FakeUpstream.unreachableUrl());

        assertThat(catchThrowableOfType(UpstreamException.class, () -> nowhere.complete(call("llama3.2"))).kind())
                .isEqualTo(FailureKind.UNREACHABLE);
        assertThat(catchThrowableOfType(UpstreamException.class, () -> nowhere.tags(Duration.ofSeconds(1))).kind())
                .isEqualTo(FailureKind.UNREACHABLE);
    }

    @Test
    void tags_listsThePulledModels() {
        fake.setModels("qwen3:8b", "deepseek-coder:1.3b");

        assertThat(client.tags(Duration.ofSeconds(1))).containsExactly("qwen3:8b", "deepseek-coder:1.3b");
    }

    private UpstreamCall call(String model) {
        return support.call(null, model, 64, Map.of());
    }
}
