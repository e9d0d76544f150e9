package dev.keypool.providers.ollama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.keypool.config.Provider;
import dev.keypool.failure.FailureKind;
import dev.keypool.failure.UpstreamException;
import dev.keypool.providers.fake.FakeOllama;
import dev.keypool.providers.fake.FakeUpstream;
import dev.keypool.providers.fake.Reply;
import dev.keypool.providers.internal.Upstream;
import dev.keypool.providers.relay.Inbound;
import dev.keypool.providers.relay.TestContext;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Ollama's own API: its pulled models, and its {@code {"error": "…"}} answers classified (it has no key to blame). */
class OllamaApiTest {

    private final FakeOllama fake = FakeOllama.start();
    private final Upstream upstream = new Upstream(Duration.ofSeconds(10), Duration.ofSeconds(10));
    private final OllamaApi api = api(fake.baseUrl());

    @AfterEach
    void close() {
        upstream.close();
        fake.close();
    }

    @Test
    void tags_listsThePulledModels() {
        fake.setModels("qwen3:8b", "deepseek-coder:1.3b");

        assertThat(api.tags(Duration.ofSeconds(5))).extracting(OllamaApi.Tag::name).containsExactly("qwen3:8b", "deepseek-coder:1.3b");
    }

    @Test
    void notRunning_isUnreachable() {
        OllamaApi nowhere = api(FakeUpstream.unreachableUrl());

        assertThat(catchThrowableOfType(UpstreamException.class, () -> nowhere.tags(Duration.ofSeconds(5))).kind())
                .isEqualTo(FailureKind.UNREACHABLE);
        assertThat(catchThrowableOfType(UpstreamException.class, () -> upstream.send(nowhere.operation("POST", "/api/chat")
                .prepare(chat("llama3.2")).upstream(null, null), null)).kind()).isEqualTo(FailureKind.UNREACHABLE);
    }

    @Test
    void modelNotPulled_goesBackToTheCaller() {
        UpstreamException failure = failing(chat("mistral"));

        assertThat(failure.kind()).isEqualTo(FailureKind.CLIENT_ERROR);
        assertThat(failure.status()).isEqualTo(404);
        assertThat(failure.getMessage()).isEqualTo("model 'mistral' not found");
    }

    @Test
    void busy_isAServerError() {
        fake.enqueue(FakeOllama.serverBusy());

        UpstreamException failure = failing(chat("llama3.2"));

        assertThat(failure.kind()).isEqualTo(FailureKind.SERVER_ERROR);
        assertThat(failure.status()).isEqualTo(503);
        assertThat(failure.getMessage()).startsWith("server busy");
    }

    @Test
    void aRefusalOfACloudModel_isTheCallers_forThereIsNoKeyToRetire() {
        fake.enqueue(FakeOllama.error(401, "unauthorized"));

        assertThat(failing(chat("llama3.2")).kind()).isEqualTo(FailureKind.CLIENT_ERROR);
    }

    @Test
    void anAnswerThatIsNotOllamas_saysSo() {
        fake.enqueue(Reply.body(502, "text/html", "<html>502 Bad Gateway</html>"));

        UpstreamException failure = failing(chat("llama3.2"));

        assertThat(failure.kind()).isEqualTo(FailureKind.SERVER_ERROR);
        assertThat(failure.getMessage()).isEqualTo("HTTP 502 from Ollama with a body that is not an Ollama error");
    }

    private OllamaApi api(String baseUrl) {
        return new OllamaApi(TestContext.of(config -> config.baseUrl(Provider.OLLAMA, baseUrl)), upstream);
    }

    private static Inbound chat(String model) {
        return Inbound.json("/api/chat", ("{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                + "\"stream\":false}").getBytes(StandardCharsets.UTF_8));
    }

    /** Ollama's answer to a request sent as the relay sends it, classified. */
    private UpstreamException failing(Inbound request) {
        Upstream.Response response = upstream.send(api.operation("POST", "/api/chat").prepare(request)
                .upstream(null, null), null);
        assertThat(response.status()).as("an error answer").isGreaterThanOrEqualTo(400);
        return api.failure(response.status(), response.headers(), response.body(), null);
    }
}
