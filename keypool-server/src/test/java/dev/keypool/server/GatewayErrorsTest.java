package dev.keypool.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.providers.fake.FakeOpenAi;
import dev.keypool.testing.CloseAfterEach;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The gateway's errors on OpenAI's endpoints, in OpenAI's shape: 400, 401, 404, 413, and an upstream client error. */
class GatewayErrorsTest {

    static final String KEY = "sk-proj-TEST.errors-test-key-000000";
    static final String CLIENT_TOKEN = "client-token-for-errors-test";

    @RegisterExtension
    final CloseAfterEach closing = new CloseAfterEach();
    private final FakeOpenAi openAi = closing.add(FakeOpenAi.start());
    private final TestGateway server = closing.add(start(openAi));

    private static TestGateway start(FakeOpenAi openAi) {
        KeypoolConfig config = TestGateway.openAiPool(KEY, openAi).setting("KEYPOOL_CLIENT_TOKENS", CLIENT_TOKEN).build();
        return TestGateway.start(config, java.time.Clock.systemUTC(), TestGateway.settings(config).withMaxBodyBytes(2048));
    }

    private HttpResponse<String> post(String body, String token) {
        return post("/v1/chat/completions", body, token);
    }

    private HttpResponse<String> post(String path, String body, String token) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(server.url(path)))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        return server.send(request);
    }

    private static JsonNode error(HttpResponse<String> response) {
        JsonNode error = TestGateway.json(response).get("error");
        assertThat(error.has("message") && error.has("type") && error.has("code")).as(response.body()).isTrue();
        return error;
    }

    @ParameterizedTest
    @ValueSource(strings = {"{\"model\": \"gpt-4o\", \"messages\": [", "[1, 2]", "not json at all"})
    void malformedJson_is400(String body) {
        HttpResponse<String> response = post(body, CLIENT_TOKEN);

        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(error(response).get("type").asText()).isEqualTo("invalid_request_error");
    }

    /** What the gateway itself needs to route and reserve: without it nothing can be sent. */
    @ParameterizedTest
    @ValueSource(strings = {"{\"model\": \"gpt-4o\"}", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}",
            "{\"model\": \"gpt-4o\", \"messages\": []}", "{\"model\": 7, \"messages\": [{\"role\": \"user\"}]}",
            "{\"model\": \"gpt-4o\", \"max_tokens\": -3, \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}",
            "{\"model\": \"gpt-4o\", \"n\": 0, \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}"})
    void missingOrInvalidFields_theGatewayNeeds_are400(String body) {
        HttpResponse<String> response = post(body, CLIENT_TOKEN);

        assertThat(response.statusCode()).as(response.body()).isEqualTo(400);
        error(response);
        assertThat(openAi.requests()).isEmpty();
    }

    /**
     * What only OpenAI judges (a message's role or content) goes to OpenAI as it was written, and its
     * own 400 comes back as it came, the key untouched: keypool never refuses what the provider may accept.
     */
    @Test
    void fieldsOnlyTheProviderJudges_goUpstream_andItsRefusalComesBackAsItCame() {
        openAi.enqueue(FakeOpenAi.badRequest("Invalid value: 'wizard'. Supported values are: 'system', 'assistant', "
                + "'user', 'function', 'tool', and 'developer'.", "messages[0].role", "invalid_value"));
        String body = "{\"model\": \"gpt-4o\", \"messages\": [{\"role\": \"wizard\", \"content\": \"hi\"}]}";

        HttpResponse<String> response = post(body, CLIENT_TOKEN);

        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(error(response).get("param").asText()).isEqualTo("messages[0].role");
        assertThat(openAi.requests()).hasSize(1);
        assertThat(openAi.requests().get(0).body()).isEqualTo(body);
        assertThat(server.status().at("/providers/openai/keys/0/status").asText()).isEqualTo("active");
    }

    @Test
    void missingField_namesIt() {
        assertThat(error(post("{\"model\": \"gpt-4o\"}", CLIENT_TOKEN)).get("message").asText()).contains("messages");
    }

    @Test
    void oversizedBody_is413() {
        String body = "{\"model\": \"gpt-4o\", \"messages\": [{\"role\": \"user\", \"content\": \"" + "x".repeat(4000) + "\"}]}";

        HttpResponse<String> response = post(body, CLIENT_TOKEN);

        assertThat(response.statusCode()).isEqualTo(413);
        assertThat(error(response).get("code").asText()).isEqualTo("request_too_large");
        assertThat(openAi.requests()).isEmpty();
    }

    @Test
    void missingOrWrongClientToken_is401() {
        String body = "{\"model\": \"gpt-4o\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}";

        HttpResponse<String> none = post(body, null);
        HttpResponse<String> wrong = post(body, "not-a-client-token");

        assertThat(none.statusCode()).isEqualTo(401);
        assertThat(wrong.statusCode()).isEqualTo(401);
        assertThat(error(wrong).get("code").asText()).isEqualTo("invalid_api_key");
        assertThat(post(body, CLIENT_TOKEN).statusCode()).isEqualTo(200);
        assertThat(openAi.requests()).hasSize(1);
    }

    @Test
    void upstreamClientError_isPassedBackWithItsStatusAndNoFailover() {
        openAi.enqueue(FakeOpenAi.badRequest("Unsupported parameter: 'max_tokens' is not supported with this model.",
                "max_tokens", "unsupported_parameter"));

        HttpResponse<String> response = post("{\"model\": \"gpt-4o\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}",
                CLIENT_TOKEN);

        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(error(response).get("message").asText()).contains("Unsupported parameter");
        assertThat(server.status().at("/providers/openai/keys/0/status").asText()).isEqualTo("active");
    }

    @Test
    void unknownV1Path_goesToOpenAi_whose404ComesBackInItsShape() {
        HttpResponse<String> response = post("/v1/no-such-thing", "{}", CLIENT_TOKEN);

        assertThat(response.statusCode()).isEqualTo(404);
        assertThat(error(response).get("message").asText()).contains("/v1/no-such-thing");
        assertThat(openAi.requests()).extracting(r -> r.path()).containsExactly("/v1/no-such-thing");
    }

    @Test
    void embeddingsWithoutAModel_is400NamingIt_beforeAnyUpstreamCall() {
        HttpResponse<String> response = post("/v1/embeddings", "{\"input\": \"hi\"}", CLIENT_TOKEN);

        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(error(response).get("param").asText()).isEqualTo("model");
        assertThat(openAi.requests()).isEmpty();
    }
}
