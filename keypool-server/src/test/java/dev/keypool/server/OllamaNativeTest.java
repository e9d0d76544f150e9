package dev.keypool.server;

import static dev.keypool.server.Fidelity.bytes;
import static dev.keypool.server.Fidelity.fieldNames;
import static dev.keypool.server.Fidelity.single;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.providers.fake.FakeOllama;
import dev.keypool.providers.fake.FakeUpstream;
import dev.keypool.providers.fake.Gate;
import dev.keypool.providers.fake.RecordedRequest;
import dev.keypool.providers.fake.RecordedResponse;
import dev.keypool.providers.internal.Json;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Ollama's native API through the gateway, against the fake's own record: requests arrive as the
 * caller sent them (only a caller's bearer token, which Ollama never needs, stays behind), answers
 * and NDJSON streams come back as Ollama sent them, the counts Ollama reported are what the report
 * holds, and the endpoints that change the operator's Ollama are refused in Ollama's shape unless
 * {@code KEYPOOL_OLLAMA_MANAGEMENT=true}.
 */
class OllamaNativeTest {

    static final String CALLERS_TOKEN = "ollama-callers-bearer-token-never-forwarded";
    static final String[] HEADERS = {"Content-Type", "application/json", "Accept", "application/x-ndjson",
        "Authorization", "Bearer " + CALLERS_TOKEN};
    static final String CHAT = """
            {"model": "llama3.2", "messages": [{"role": "system", "content": "Be brief."},
             {"role": "user", "content": "Why is the sky blue?", "images": null}],
             "options": {"temperature": 0.1, "num_ctx": 4096, "seed": 7}, "keep_alive": "10m", "think": false""";

    private FakeOllama ollama;
    private TestGateway server;

    @BeforeEach
    void start() {
        ollama = FakeOllama.start();
        server = start(false);
    }

    private TestGateway start(boolean management) {
        return TestGateway.start(KeypoolConfig.builder()
                .baseUrl(Provider.OLLAMA, ollama.baseUrl())
                .setting("KEYPOOL_OLLAMA_MANAGEMENT", Boolean.toString(management))
                .build());
    }

    @AfterEach
    void stop() {
        server.close();
        ollama.close();
    }

    // ---- generation ---------------------------------------------------------------------------------

    @Test
    void chat_plain_isPassedThroughAndItsCountsReported() {
        String body = CHAT + ", \"stream\": false}";
        ollama.enqueue(FakeOllama.chat("Rayleigh scattering.", 31, 4));

        HttpResponse<byte[]> response = Fidelity.post(server.url("/api/chat"), body, HEADERS);

        RecordedRequest received = single(ollama.requests("/api/chat"));
        Fidelity.assertForwarded(received, "POST", "/api/chat", bytes(body), HEADERS, null, null);
        Fidelity.assertNeverReached(ollama, CALLERS_TOKEN);
        RecordedResponse sent = ollama.responseTo(received);
        Fidelity.assertReturned(response, sent);
        assertReported(List.of(sent.json()));
    }

    @Test
    void chat_stream_isOllamasNdjsonAsSentAndTheLastLinesCountsReported() {
        String body = CHAT + "}";
        ollama.enqueue(FakeOllama.streamed(List.of("Rayleigh", " scattering", " of sunlight."), 28, 6));

        HttpResponse<byte[]> response = Fidelity.post(server.url("/api/chat"), body, HEADERS);

        RecordedRequest received = single(ollama.requests("/api/chat"));
        Fidelity.assertForwarded(received, "POST", "/api/chat", bytes(body), HEADERS, null, null);
        RecordedResponse sent = ollama.responseTo(received);
        assertThat(sent.header("content-type")).isEqualTo("application/x-ndjson");
        Fidelity.assertReturned(response, sent);
        List<String> lines = sent.bodyText().lines().toList();
        assertThat(lines).hasSize(4);
        assertReported(List.of(Json.parseOrMissing(lines.get(3))));
    }

    @Test
    void chat_stream_eachLineReachesTheCallerBeforeOllamaSendsTheNext() throws Exception {
        String first = "{\"model\":\"llama3.2\",\"created_at\":\"2026-01-15T10:00:00Z\",\"message\":{\"role\":"
                + "\"assistant\",\"content\":\"Hel\"},\"done\":false}\n";
        String last = "{\"model\":\"llama3.2\",\"created_at\":\"2026-01-15T10:00:01Z\",\"message\":{\"role\":"
                + "\"assistant\",\"content\":\"\"},\"done_reason\":\"stop\",\"done\":true,\"prompt_eval_count\":3,"
                + "\"eval_count\":2}\n";
        Gate gate = new Gate();
        ollama.enqueue(Fidelity.heldBetween("application/x-ndjson", first, gate, last));

        Fidelity.assertEventByEvent(Fidelity.request(server.url("/api/chat"), HEADERS)
                .POST(HttpRequest.BodyPublishers.ofString(CHAT + "}")), first, gate, last);

        JsonNode report = server.usage("ollama");
        assertThat(report.get("prompt_tokens").asLong()).isEqualTo(3);
        assertThat(report.get("completion_tokens").asLong()).isEqualTo(2);
    }

    @Test
    void generate_stream_isPassedThroughWithItsContextAndCountsReported() {
        String body = "{\"model\": \"llama3.2\", \"prompt\": \"Why is the sky blue?\", \"raw\": false,"
                + " \"options\": {\"num_predict\": 64}}";
        ollama.enqueue(FakeOllama.chat("Because of scattering.", 14, 3));

        HttpResponse<byte[]> response = Fidelity.post(server.url("/api/generate"), body, HEADERS);

        RecordedRequest received = single(ollama.requests("/api/generate"));
        Fidelity.assertForwarded(received, "POST", "/api/generate", bytes(body), HEADERS, null, null);
        RecordedResponse sent = ollama.responseTo(received);
        Fidelity.assertReturned(response, sent);
        List<String> lines = sent.bodyText().lines().toList();
        JsonNode last = Json.parseOrMissing(lines.get(lines.size() - 1));
        assertThat(last.path("context").size()).isEqualTo(17);
        assertReported(List.of(last));
    }

    @Test
    void embed_isPassedThroughAndItsPromptCountReported() {
        String body = "{\"model\": \"llama3.2\", \"input\": [\"first text\", \"a second, longer text\"],"
                + " \"dimensions\": 4, \"truncate\": true}";

        HttpResponse<byte[]> response = Fidelity.post(server.url("/api/embed"), body, HEADERS);

        RecordedRequest received = single(ollama.requests("/api/embed"));
        Fidelity.assertForwarded(received, "POST", "/api/embed", bytes(body), HEADERS, null, null);
        RecordedResponse sent = ollama.responseTo(received);
        assertThat(sent.json().path("embeddings").size()).isEqualTo(2);
        Fidelity.assertReturned(response, sent);
        assertReported(List.of(sent.json()));
    }

    @Test
    void ollamasOwnError_comesBackAsOllamaSentIt() {
        String body = "{\"model\": \"not-pulled\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}";

        HttpResponse<byte[]> response = Fidelity.post(server.url("/api/chat"), body, HEADERS);

        RecordedResponse sent = ollama.responseTo(single(ollama.requests("/api/chat")));
        assertThat(sent.status()).isEqualTo(404);
        assertThat(sent.bodyText()).isEqualTo("{\"error\":\"model 'not-pulled' not found\"}");
        Fidelity.assertReturned(response, sent);
    }

    // ---- reads ---------------------------------------------------------------------------------------

    @Test
    void tagsShowVersionAndPs_arePassedThroughAsOllamaAnswers() {
        ollama.enqueue(FakeOllama.chat("Loaded.", 3, 1));
        assertThat(Fidelity.post(server.url("/api/chat"), CHAT + ", \"stream\": false}", HEADERS).statusCode())
                .as("a chat loads the model, so that ps has something to list").isEqualTo(200);
        String show = "{\"model\": \"llama3.2\", \"verbose\": false}";

        HttpResponse<byte[]> tags = Fidelity.get(server.url("/api/tags"), "Authorization", "Bearer " + CALLERS_TOKEN);
        HttpResponse<byte[]> shown = Fidelity.post(server.url("/api/show"), show, HEADERS);
        HttpResponse<byte[]> version = Fidelity.get(server.url("/api/version"));
        HttpResponse<byte[]> ps = Fidelity.get(server.url("/api/ps"));

        Fidelity.assertReturned(tags, ollama.responseTo(last("/api/tags")));
        Fidelity.assertForwarded(last("/api/show"), "POST", "/api/show", bytes(show), HEADERS, null, null);
        Fidelity.assertReturned(shown, ollama.responseTo(last("/api/show")));
        assertThat(Json.parseOrMissing(Fidelity.text(shown)).at("/model_info/llama.context_length").asLong())
                .isEqualTo(131072);
        Fidelity.assertReturned(version, ollama.responseTo(last("/api/version")));
        assertThat(Fidelity.text(version)).isEqualTo("{\"version\":\"0.12.6\"}");
        Fidelity.assertReturned(ps, ollama.responseTo(last("/api/ps")));
        assertThat(Json.parseOrMissing(Fidelity.text(ps)).at("/models/0/name").asText()).isEqualTo("llama3.2:latest");
        Fidelity.assertNeverReached(ollama, CALLERS_TOKEN);
        JsonNode report = server.usage("ollama");
        assertThat(report.get("prompt_tokens").asLong()).as("only the chat reported counts").isEqualTo(3);
        assertThat(report.get("completion_tokens").asLong()).isEqualTo(1);
    }

    // ---- model management --------------------------------------------------------------------------

    @Test
    void management_isRefusedWith403InOllamasShapeAndNeverReachesOllama() {
        List<HttpResponse<byte[]>> refused = List.of(
                Fidelity.post(server.url("/api/pull"), "{\"model\": \"llama3.2\"}", HEADERS),
                Fidelity.post(server.url("/api/push"), "{\"model\": \"me/llama3.2\"}", HEADERS),
                Fidelity.post(server.url("/api/create"), "{\"model\": \"mine\", \"from\": \"llama3.2\"}", HEADERS),
                Fidelity.post(server.url("/api/copy"), "{\"source\": \"llama3.2\", \"destination\": \"x\"}", HEADERS),
                Fidelity.send(Fidelity.request(server.url("/api/delete"), HEADERS)
                        .method("DELETE", HttpRequest.BodyPublishers.ofString("{\"model\": \"llama3.2\"}"))),
                Fidelity.post(server.url("/api/blobs/sha256:29fdb92e57cf082e"), "GGUF", "Content-Type",
                        "application/octet-stream"));

        for (HttpResponse<byte[]> response : refused) {
            assertThat(response.statusCode()).as(response.uri().getPath()).isEqualTo(403);
            JsonNode body = Json.parseOrMissing(Fidelity.text(response));
            assertThat(fieldNames(body)).as("Ollama's {\"error\": \"…\"}").containsExactly("error");
            assertThat(body.path("error").asText()).contains(response.uri().getPath())
                    .contains("KEYPOOL_OLLAMA_MANAGEMENT=true");
        }
        assertThat(ollama.requests()).extracting(RecordedRequest::path)
                .noneMatch(path -> path.matches("/api/(pull|push|create|copy|delete|blobs/.*)"));
    }

    @Test
    void management_whenAllowed_isPassedToOllamaAndItsAnswerBack() {
        server.close();
        server = start(true);
        String pull = "{\"model\": \"llama3.2\", \"insecure\": false}";

        HttpResponse<byte[]> pulled = Fidelity.post(server.url("/api/pull"), pull, HEADERS);
        HttpResponse<byte[]> deleted = Fidelity.send(Fidelity.request(server.url("/api/delete"), HEADERS)
                .method("DELETE", HttpRequest.BodyPublishers.ofString("{\"model\": \"llama3.2\"}")));

        Fidelity.assertForwarded(single(ollama.requests("/api/pull")), "POST", "/api/pull", bytes(pull), HEADERS, null,
                null);
        Fidelity.assertReturned(pulled, ollama.responseTo(single(ollama.requests("/api/pull"))));
        Fidelity.assertForwarded(single(ollama.requests("/api/delete")), "DELETE", "/api/delete",
                bytes("{\"model\": \"llama3.2\"}"), HEADERS, null, null);
        Fidelity.assertReturned(deleted, ollama.responseTo(single(ollama.requests("/api/delete"))));
    }

    // ---- Ollama not running --------------------------------------------------------------------------

    @Test
    void ollamaNotRunning_isAnOllamaShapedError() {
        server.close();
        server = TestGateway.start(KeypoolConfig.builder().baseUrl(Provider.OLLAMA, FakeUpstream.unreachableUrl())
                .build());

        HttpResponse<byte[]> chat = Fidelity.post(server.url("/api/chat"), CHAT + "}", HEADERS);
        HttpResponse<byte[]> tags = Fidelity.get(server.url("/api/tags"));

        for (HttpResponse<byte[]> response : List.of(chat, tags)) {
            assertThat(response.statusCode()).as(Fidelity.text(response)).isEqualTo(503);
            JsonNode body = Json.parseOrMissing(Fidelity.text(response));
            assertThat(fieldNames(body)).as("Ollama's {\"error\": \"…\"}").containsExactly("error");
            assertThat(body.path("error").isTextual()).isTrue();
            assertThat(body.path("error").asText()).containsIgnoringCase("ollama");
        }
    }

    // ---- helpers -------------------------------------------------------------------------------------

    /** The report holds exactly the counts Ollama's answers reported, and nothing else happened. */
    private void assertReported(List<JsonNode> answers) {
        long prompt = 0;
        long completion = 0;
        for (JsonNode answer : answers) {
            assertThat(answer.path("prompt_eval_count").isNumber()).as("Ollama reported counts: %s", answer).isTrue();
            prompt += answer.path("prompt_eval_count").asLong();
            completion += answer.path("eval_count").asLong(0);
        }
        JsonNode report = server.usage("ollama");
        assertThat(report.get("requests").asLong()).isEqualTo(answers.size());
        assertThat(report.get("successes").asLong()).isEqualTo(answers.size());
        assertThat(report.get("prompt_tokens").asLong()).isEqualTo(prompt);
        assertThat(report.get("completion_tokens").asLong()).isEqualTo(completion);
        assertThat(server.status().at("/providers/ollama/tokens_today").asLong()).isEqualTo(prompt + completion);
        assertThat(server.gateway.manager().store().pendingCount()).isZero();
    }

    private RecordedRequest last(String path) {
        List<RecordedRequest> requests = ollama.requests(path);
        assertThat(requests).isNotEmpty();
        return requests.get(requests.size() - 1);
    }

}
