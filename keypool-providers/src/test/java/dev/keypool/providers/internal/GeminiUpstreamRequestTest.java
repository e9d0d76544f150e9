package dev.keypool.providers.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.groups.Tuple.tuple;

import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.providers.gemini.GeminiApi;
import dev.keypool.providers.relay.Header;
import dev.keypool.providers.relay.Inbound;
import dev.keypool.providers.relay.TestContext;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * What a native Gemini request becomes on its way to a pooled key: the caller's key, in the header
 * or the query, is replaced by the pooled key in {@code x-goog-api-key} (never the URL); the body
 * goes as written unless the operator enforces an output cap.
 */
class GeminiUpstreamRequestTest {

    private static final String KEY = "AIzaSyD-TEST.upstream-request-000000000001";
    private static final String GENERATE = "/v1beta/models/gemini-2.5-flash:generateContent";
    private static final String CONTENTS = "\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}]";

    @Test
    void theCallersKey_inTheQueryOrTheHeader_isReplacedByThePooledKey_inTheHeaderOnly() {
        Inbound inbound = new Inbound("POST", "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
                "key=AIza-callers-own&alt=sse&$fields=candidates", List.of(
                        new Header("Content-Type", "application/json"),
                        new Header("x-goog-api-key", "AIza-callers-own"),
                        new Header("x-goog-api-client", "google-genai-sdk/1.0.0 gl-java/21"),
                        new Header("Authorization", "Bearer ya29.callers")),
                ("{" + CONTENTS + "}").getBytes(StandardCharsets.UTF_8));

        UpstreamRequest request = api(config -> config.baseUrl(Provider.GEMINI, "http://127.0.0.1:9"))
                .operation("POST", inbound.path()).prepare(inbound).upstream(KEY, null);

        assertThat(request.uri()).hasToString(
                "http://127.0.0.1:9/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse&$fields=candidates");
        assertThat(request.headers()).extracting(io.helidon.http.Header::name, io.helidon.http.Header::value)
                .containsExactly(tuple("Content-Type", "application/json"),
                        tuple("x-goog-api-client", "google-genai-sdk/1.0.0 gl-java/21"),
                        tuple("x-goog-api-key", KEY));
        assertThat(request.headers()).last().extracting(io.helidon.http.Header::sensitive).isEqualTo(true);
        assertThat(text(request.body())).isEqualTo("{" + CONTENTS + "}");
    }

    @Test
    void aQueryOfOnlyTheKey_leavesNoQuery() {
        Inbound inbound = new Inbound("POST", GENERATE, "key=AIza-callers-own", List.of(),
                ("{" + CONTENTS + "}").getBytes(StandardCharsets.UTF_8));

        UpstreamRequest request = api(config -> config.baseUrl(Provider.GEMINI, "http://127.0.0.1:9"))
                .operation("POST", GENERATE).prepare(inbound).upstream(KEY, null);

        assertThat(request.uri()).hasToString("http://127.0.0.1:9" + GENERATE);
    }

    @Test
    void noCapIsSent_unlessTheOperatorEnforcesOne() {
        String body = "{" + CONTENTS + ",\"generationConfig\":{\"temperature\":0.7}}";

        assertThat(sent(body, config -> { })).isEqualTo(body);
    }

    @Test
    void anEnforcedCap_goesIntoGenerationConfig_whereverItIs() {
        Consumer<KeypoolConfig.Builder> enforce = config -> config.setting("KEYPOOL_ENFORCE_OUTPUT_CAP", "true")
                .setting("KEYPOOL_OUTPUT_RESERVE_TOKENS", "300");

        assertThat(sent("{" + CONTENTS + "}", enforce))
                .isEqualTo("{" + CONTENTS + ",\"generationConfig\":{\"maxOutputTokens\":300}}");
        assertThat(sent("{\"generationConfig\":{},\n" + CONTENTS + "}", enforce))
                .isEqualTo("{\"generationConfig\":{\"maxOutputTokens\":300},\n" + CONTENTS + "}");
        assertThat(sent("{" + CONTENTS + ",\"generationConfig\": {\"temperature\": 0.7}}", enforce))
                .isEqualTo("{" + CONTENTS + ",\"generationConfig\": {\"maxOutputTokens\":300,\"temperature\": 0.7}}");
        assertThat(sent("{" + CONTENTS + ",\"generation_config\":{\"temperature\":0.7}}", enforce))
                .isEqualTo("{" + CONTENTS + ",\"generation_config\":{\"maxOutputTokens\":300,\"temperature\":0.7}}");
    }

    @Test
    void anEnforcedCap_neverOverridesTheCallersOwn() {
        Consumer<KeypoolConfig.Builder> enforce = config -> config.setting("KEYPOOL_ENFORCE_OUTPUT_CAP", "true");

        for (String body : List.of("{" + CONTENTS + ",\"generationConfig\":{\"maxOutputTokens\":64}}",
                "{" + CONTENTS + ",\"generation_config\":{\"max_output_tokens\":64}}")) {
            assertThat(sent(body, enforce)).as(body).isEqualTo(body);
        }
    }

    private static GeminiApi api(Consumer<KeypoolConfig.Builder> config) {
        return new GeminiApi(TestContext.of(config));
    }

    private static String sent(String body, Consumer<KeypoolConfig.Builder> config) {
        Inbound inbound = Inbound.json(GENERATE, body.getBytes(StandardCharsets.UTF_8));
        return text(api(config).operation("POST", GENERATE).prepare(inbound).upstream(KEY, null).body());
    }

    private static String text(byte[] body) {
        return new String(body, StandardCharsets.UTF_8);
    }
}
