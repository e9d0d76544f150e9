package dev.keypool.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.config.WindowLimits;
import dev.keypool.event.KeyEvent;
import dev.keypool.providers.fake.FakeGemini;
import dev.keypool.providers.fake.FakeOpenAi;
import dev.keypool.testing.CloseAfterEach;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * An OpenAI chat request routed to another provider: translated when that provider can carry it,
 * skipped (and said so) when another route can, refused with a 400 naming the parameter when none
 * can. Never an answer that silently lost a feature.
 */
class CrossProviderRoutesTest {

    static final String OPENAI_KEY = "sk-proj-TEST.cross-provider-aaaaaaaa-key0";
    static final String GEMINI_KEY = "AIzaSyCrossProviderTest-0000000000000";
    /** A parameter only OpenAI has: neither Gemini nor Ollama can carry it. */
    static final String LOGIT_BIAS = "\"logit_bias\":{\"50256\":-100}";

    @RegisterExtension
    final CloseAfterEach closing = new CloseAfterEach();
    private final FakeOpenAi openAi = closing.add(FakeOpenAi.start());
    private final FakeGemini gemini = closing.add(FakeGemini.start());
    private final List<KeyEvent> events = new CopyOnWriteArrayList<>();
    private TestGateway server;

    private void start(List<Provider> priority, Map<String, String> fallbacks) {
        start(priority, fallbacks, true);
    }

    private void start(List<Provider> priority, Map<String, String> fallbacks, boolean openAiKeys) {
        KeypoolConfig.Builder builder = KeypoolConfig.builder();
        if (openAiKeys) {
            builder.addKey(Provider.OPENAI, OPENAI_KEY, "gpt-4o", WindowLimits.of(100_000, 1_000_000));
        }
        builder.addKey(Provider.GEMINI, GEMINI_KEY, "gemini-2.5-flash", WindowLimits.of(100_000, 1_000_000))
                .baseUrl(Provider.OPENAI, openAi.baseUrl())
                .baseUrl(Provider.GEMINI, gemini.baseUrl())
                .baseUrl(Provider.OLLAMA, "http://127.0.0.1:9")
                .providerPriority(priority);
        fallbacks.forEach(builder::fallback);
        server = closing.add(TestGateway.start(builder.build()));
        server.gateway.manager().events().addListener(events::add);
    }

    private HttpResponse<String> chat(String body) {
        return server.postJson("/v1/chat/completions", body);
    }

    @Test
    void geminiModelAskedForWhatOnlyOpenAiHas_is400NamingTheParameter_beforeAnyCall_andNothingIsReserved() {
        start(List.of(Provider.GEMINI, Provider.OPENAI), Map.of());

        HttpResponse<String> response = chat("{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\","
                + "\"content\":\"Weather in Paris?\"}]," + LOGIT_BIAS + "}");

        assertThat(response.statusCode()).isEqualTo(400);
        JsonNode error = TestGateway.json(response).path("error");
        assertThat(error.path("code").asText()).isEqualTo("unsupported_parameter");
        assertThat(error.path("param").asText()).isEqualTo("logit_bias");
        assertThat(error.path("type").asText()).isEqualTo("invalid_request_error");
        assertThat(gemini.requests()).isEmpty();
        assertThat(openAi.requests()).isEmpty();
        assertThat(events).noneMatch(KeyEvent.KeyAcquired.class::isInstance);
    }

    @Test
    void remoteImageForGemini_isRefusedNamingThePart_forKeypoolFetchesNoCallersUrl() {
        start(List.of(Provider.GEMINI), Map.of());

        HttpResponse<String> response = chat("{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\","
                + "\"content\":[{\"type\":\"text\",\"text\":\"What is it?\"},{\"type\":\"image_url\","
                + "\"image_url\":{\"url\":\"http://169.254.169.254/latest/meta-data/cat.png\"}}]}]}");

        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(TestGateway.json(response).at("/error/param").asText()).startsWith("messages[0].content[1]");
        assertThat(gemini.requests()).isEmpty();
    }

    @Test
    void autoWithWhatOnlyOpenAiHas_skipsTheRouteThatCannotCarryIt_servesFromOneThatCan_andSaysWhy() {
        start(List.of(Provider.GEMINI, Provider.OPENAI), Map.of());

        HttpResponse<String> response = chat("{\"model\":\"auto\",\"messages\":[{\"role\":\"user\","
                + "\"content\":\"Weather in Paris?\"}]," + LOGIT_BIAS + "}");

        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        assertThat(response.headers().firstValue("x-keypool-provider")).contains("openai");
        assertThat(response.headers().firstValue("x-keypool-failover").orElseThrow())
                .contains("gemini").contains("skipped").contains("logit_bias");
        assertThat(gemini.requests()).isEmpty();
        // auto was written as the model; the key's configured model is what OpenAI got
        assertThat(openAi.requests().get(0).json().path("model").asText()).isEqualTo("gpt-4o");
        assertThat(openAi.requests().get(0).json().path("logit_bias").path("50256").asInt()).isEqualTo(-100);
    }

    @Test
    void fallbackThatCannotCarryTheRequest_isSkipped_andTheFirstRoutesOwnFailureIsTheAnswer() {
        start(List.of(Provider.OPENAI), Map.of("gpt-4o", "gemini-2.5-flash"));
        openAi.replyByDefault(FakeOpenAi.rateLimitedTokens("20s"));

        HttpResponse<String> response = chat("{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\","
                + "\"content\":\"Weather in Paris?\"}]," + LOGIT_BIAS + "}");

        assertThat(response.statusCode()).isEqualTo(429);
        assertThat(response.headers().firstValue("retry-after")).isPresent();
        assertThat(gemini.requests()).isEmpty();
    }

    @Test
    void modelNoRuleAndNoKeyPlaces_is404ModelNotFound_withoutAnUpstreamCall() {
        start(List.of(Provider.GEMINI), Map.of(), false);

        HttpResponse<String> response = chat("{\"model\":\"no-such-model\",\"messages\":[{\"role\":\"user\","
                + "\"content\":\"hi\"}]}");

        assertThat(response.statusCode()).isEqualTo(404);
        assertThat(TestGateway.json(response).at("/error/code").asText()).isEqualTo("model_not_found");
        assertThat(gemini.requests()).isEmpty();
    }

    @Test
    void textOnlyRequestForGemini_isTranslated_andAnsweredInOpenAisShape() {
        start(List.of(Provider.GEMINI), Map.of());
        gemini.enqueue(FakeGemini.generated("Bonjour !", 7, 3));

        HttpResponse<String> response = chat("{\"model\":\"gemini-2.5-flash\",\"temperature\":0.2,\"max_tokens\":50,"
                + "\"messages\":[{\"role\":\"system\",\"content\":\"Answer in French.\"},{\"role\":\"user\",\"content\":\"Hello\"}]}");

        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        JsonNode answer = TestGateway.json(response);
        assertThat(answer.path("object").asText()).isEqualTo("chat.completion");
        assertThat(answer.at("/choices/0/message/content").asText()).isEqualTo("Bonjour !");
        assertThat(answer.at("/usage/total_tokens").asInt()).isEqualTo(10);
        JsonNode sent = gemini.requests().get(0).json();
        assertThat(sent.at("/systemInstruction/parts/0/text").asText()).isEqualTo("Answer in French.");
        assertThat(sent.at("/generationConfig/maxOutputTokens").asInt()).isEqualTo(50);
        assertThat(sent.at("/generationConfig/temperature").asDouble()).isEqualTo(0.2);
        assertThat(gemini.requests().get(0).key()).isEqualTo(GEMINI_KEY);
    }
}
