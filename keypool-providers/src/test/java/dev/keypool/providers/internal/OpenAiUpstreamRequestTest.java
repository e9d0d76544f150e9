package dev.keypool.providers.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.providers.openai.OpenAiApi;
import dev.keypool.providers.relay.Call;
import dev.keypool.providers.relay.Header;
import dev.keypool.providers.relay.Inbound;
import dev.keypool.providers.relay.TestContext;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * What an OpenAI request becomes on its way to a pooled key: the caller's bytes, but for the few
 * edits {@code keypool-server/README.md} lists (a routed model, {@code include_usage} on a stream,
 * an enforced cap when the operator opted in), each made in place.
 */
class OpenAiUpstreamRequestTest {

    private static final String KEY = "sk-proj-TEST.upstream-request-000000000001";
    private static final String MESSAGES = "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]";

    // ---- stream_options ---------------------------------------------------------------------------

    @Test
    void stream_withoutStreamOptions_getsThemAddedAtTheEnd() {
        String body = "{\"model\":\"gpt-4o\"," + MESSAGES + ",\"stream\":true}";

        assertThat(sentBody(body)).isEqualTo("{\"model\":\"gpt-4o\"," + MESSAGES
                + ",\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
        assertThat(chat(body).answer().editor()).as("the usage keypool asked for is hidden again").isNotNull();
    }

    @Test
    void stream_withNullStreamOptions_getsThemInItsPlace() {
        String body = "{\"model\":\"gpt-4o\",\"stream\":true,\"stream_options\":null," + MESSAGES + "}";

        assertThat(sentBody(body)).isEqualTo("{\"model\":\"gpt-4o\",\"stream\":true,"
                + "\"stream_options\":{\"include_usage\":true}," + MESSAGES + "}");
    }

    @Test
    void stream_withEmptyStreamOptions_getsIncludeUsageInside() {
        assertThat(sentBody("{\"model\":\"gpt-4o\"," + MESSAGES + ",\"stream\":true,\"stream_options\":{}}"))
                .isEqualTo("{\"model\":\"gpt-4o\"," + MESSAGES + ",\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
        assertThat(sentBody("{\"model\":\"gpt-4o\"," + MESSAGES + ",\"stream\":true,\"stream_options\":{ }}"))
                .isEqualTo("{\"model\":\"gpt-4o\"," + MESSAGES + ",\"stream\":true,\"stream_options\":{\"include_usage\":true }}");
    }

    @Test
    void stream_withAnotherStreamOption_keepsIt_andGetsIncludeUsageFirst() {
        String body = "{\"model\":\"gpt-4o\"," + MESSAGES + ",\"stream\":true,\"stream_options\":{\"include_obfuscation\":false}}";

        assertThat(sentBody(body)).isEqualTo("{\"model\":\"gpt-4o\"," + MESSAGES
                + ",\"stream\":true,\"stream_options\":{\"include_usage\":true,\"include_obfuscation\":false}}");
    }

    @Test
    void stream_withIncludeUsageFalse_hasItTurnedTrue_inPlace() {
        String body = "{\"model\":\"gpt-4o\"," + MESSAGES
                + ",\"stream\":true,\"stream_options\":{\"include_usage\" : false, \"include_obfuscation\":false}}";

        assertThat(sentBody(body)).isEqualTo("{\"model\":\"gpt-4o\"," + MESSAGES
                + ",\"stream\":true,\"stream_options\":{\"include_usage\" : true, \"include_obfuscation\":false}}");
        assertThat(chat(body).answer().editor()).isNotNull();
    }

    @Test
    void stream_withIncludeUsageTrue_isSentUnchanged_andItsUsageShown() {
        String body = "{\"model\":\"gpt-4o\"," + MESSAGES + ",\"stream\":true,\"stream_options\":{\"include_usage\":true}}";

        assertThat(sentBody(body)).isEqualTo(body);
        assertThat(chat(body).answer().editor()).as("the caller asked for the usage chunk: it is not hidden").isNull();
    }

    @Test
    void streamOptionsBeforeStream_areDecidedTheSame() {
        String body = "{\"stream_options\":{\"include_usage\":false},\"model\":\"gpt-4o\"," + MESSAGES + ",\"stream\":true}";

        assertThat(sentBody(body)).isEqualTo("{\"stream_options\":{\"include_usage\":true},\"model\":\"gpt-4o\","
                + MESSAGES + ",\"stream\":true}");
    }

    @Test
    void notAStream_isSentUnchanged_whateverItsStreamOptions() {
        for (String body : List.of(
                "{\"model\":\"gpt-4o\"," + MESSAGES + "}",
                "{\"model\":\"gpt-4o\"," + MESSAGES + ",\"stream\":false,\"stream_options\":{\"include_usage\":false}}",
                "{\"stream_options\":null,\"model\":\"gpt-4o\"," + MESSAGES + ",\"stream\":null}")) {
            assertThat(sentBody(body)).as(body).isEqualTo(body);
            assertThat(chat(body).answer().editor()).isNull();
        }
    }

    @Test
    void legacyCompletionStream_getsIncludeUsageTheSameWay() {
        String body = "{\"model\":\"gpt-3.5-turbo-instruct\",\"prompt\":\"Say this\",\"stream\":true}";

        UpstreamRequest request = prepare("/v1/completions", body, config -> { }).upstream(KEY, null);

        assertThat(text(request.body())).isEqualTo("{\"model\":\"gpt-3.5-turbo-instruct\",\"prompt\":\"Say this\","
                + "\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
    }

    // ---- the model --------------------------------------------------------------------------------

    @Test
    void model_chosenByTheRoute_replacesOnlyTheModelsValue() {
        assertThat(sentBody("{\"model\" :  \"auto\"," + MESSAGES + "}", "gpt-4o-mini"))
                .isEqualTo("{\"model\" :  \"gpt-4o-mini\"," + MESSAGES + "}");
        assertThat(sentBody("{" + MESSAGES + ",\"model\":\"openai/gpt-4o\"}", "gpt-4o"))
                .isEqualTo("{" + MESSAGES + ",\"model\":\"gpt-4o\"}");
        // a KEYPOOL_FALLBACKS stand-in on the same provider
        assertThat(sentBody("{\"model\":\"gpt-4o\"," + MESSAGES + "}", "gpt-4.1"))
                .isEqualTo("{\"model\":\"gpt-4.1\"," + MESSAGES + "}");
    }

    @Test
    void model_asAskedFor_isSentAsWritten() {
        String escaped = "{\"model\":\"gpt\\u002d4o\"," + MESSAGES + "}";

        assertThat(sentBody(escaped, "gpt-4o")).isEqualTo(escaped);
        assertThat(sentBody(escaped, null)).isEqualTo(escaped);
    }

    // ---- KEYPOOL_ENFORCE_OUTPUT_CAP --------------------------------------------------------------

    @Test
    void noCapIsSent_unlessTheOperatorEnforcesOne() {
        String body = "{\"model\":\"gpt-4o\"," + MESSAGES + "}";

        assertThat(sentBody(body)).isEqualTo(body);
    }

    @Test
    void anEnforcedCap_isTheReserve_underTheFieldTheModelTakes() {
        Consumer<KeypoolConfig.Builder> enforce = config -> config.setting("KEYPOOL_ENFORCE_OUTPUT_CAP", "true")
                .setting("KEYPOOL_OUTPUT_RESERVE_TOKENS", "300");

        assertThat(sent("{\"model\":\"gpt-4o\"," + MESSAGES + "}", null, enforce))
                .isEqualTo("{\"model\":\"gpt-4o\"," + MESSAGES + ",\"max_tokens\":300}");
        assertThat(sent("{\"model\":\"gpt-4.1-mini\"," + MESSAGES + "}", null, enforce)).endsWith(",\"max_tokens\":300}");
        for (String reasoning : List.of("o1", "o3-mini", "o4-mini-2025-04-16", "gpt-5", "gpt-5-mini")) {
            assertThat(sent("{\"model\":\"" + reasoning + "\"," + MESSAGES + "}", null, enforce)).as(reasoning)
                    .endsWith(",\"max_completion_tokens\":300}");
        }
        // the model the route chose decides, not the one asked for
        assertThat(sent("{\"model\":\"auto\"," + MESSAGES + "}", "o3", enforce))
                .isEqualTo("{\"model\":\"o3\"," + MESSAGES + ",\"max_completion_tokens\":300}");
    }

    @Test
    void anEnforcedCap_neverOverridesTheCallersOwn() {
        Consumer<KeypoolConfig.Builder> enforce = config -> config.setting("KEYPOOL_ENFORCE_OUTPUT_CAP", "true");

        for (String body : List.of("{\"model\":\"gpt-4o\"," + MESSAGES + ",\"max_tokens\":50}",
                "{\"model\":\"o3\"," + MESSAGES + ",\"max_completion_tokens\":9999}",
                "{\"model\":\"gpt-4o\",\"max_tokens\":10," + MESSAGES + ",\"max_completion_tokens\":20}")) {
            assertThat(sent(body, null, enforce)).as(body).isEqualTo(body);
        }
    }

    // ---- everything else, byte for byte -----------------------------------------------------------

    @Test
    void everythingButTheDocumentedEdits_goesByteForByte() {
        String before = "{ \"messages\" : [ {\"role\":\"user\",\"content\":\"caf\\u00e9 caf\u00e9 \\ud83d\\ude00 \uD83D\uDE00\","
                + "\"name\":\"x\"} ],\n  \"temperature\":1.0e2, \"top_p\":0.10, \"seed\":12345678901234567890,"
                + " \"logit_bias\":{\"50256\":-100},\n  \"model\" : \"auto\",\t\"n\":1, \"stream\" : true,"
                + " \"tools\":[], \"x_unknown\": {\"nested\":[1,2.50,-0,true,null,\"\\\"quoted\\\"\"]}\n}";
        String after = "{ \"messages\" : [ {\"role\":\"user\",\"content\":\"caf\\u00e9 caf\u00e9 \\ud83d\\ude00 \uD83D\uDE00\","
                + "\"name\":\"x\"} ],\n  \"temperature\":1.0e2, \"top_p\":0.10, \"seed\":12345678901234567890,"
                + " \"logit_bias\":{\"50256\":-100},\n  \"model\" : \"gpt-4o\",\t\"n\":1, \"stream\" : true,"
                + " \"tools\":[], \"x_unknown\": {\"nested\":[1,2.50,-0,true,null,\"\\\"quoted\\\"\"]}\n"
                + ",\"stream_options\":{\"include_usage\":true},\"max_tokens\":1024}";

        assertThat(sent(before, "gpt-4o", config -> config.setting("KEYPOOL_ENFORCE_OUTPUT_CAP", "true")))
                .isEqualTo(after);
    }

    @Test
    void aRequestNeedingNoEdit_isTheCallersVeryBytes() {
        byte[] body = ("{\"model\":\"gpt-4o\"," + MESSAGES + ",\"temperature\":0.7}").getBytes(StandardCharsets.UTF_8);

        UpstreamRequest request = new OpenAiApi(TestContext.of(config -> { })).operation("POST", "/v1/chat/completions")
                .prepare(Inbound.json("/v1/chat/completions", body)).upstream(KEY, "gpt-4o");

        assertThat(request.body()).isSameAs(body);
    }

    // ---- address and headers ----------------------------------------------------------------------

    @Test
    void address_isTheBaseUrlAndTheCallersPathAndQuery() {
        Inbound inbound = new Inbound("GET", "/v1/files/file-abc123/content", "limit=2&after=x%20y", List.of(), null);

        UpstreamRequest request = api(config -> config.baseUrl(Provider.OPENAI, "http://127.0.0.1:9/openai/v1"))
                .operation("GET", inbound.path()).prepare(inbound).upstream(KEY, null);

        assertThat(request.uri()).hasToString("http://127.0.0.1:9/openai/v1/files/file-abc123/content?limit=2&after=x%20y");
        assertThat(request.method().text()).isEqualTo("GET");
        assertThat(request.body()).isNull();
    }

    @Test
    void headers_thePooledKeyAndOrganizationReplaceTheCallers_theRestPassInOrder() {
        Inbound inbound = new Inbound("POST", "/v1/chat/completions", null, List.of(
                new Header("Content-Type", "application/json"),
                new Header("Authorization", "Bearer sk-callers-own-key"),
                new Header("OpenAI-Organization", "org-caller"),
                new Header("OpenAI-Project", "proj-caller"),
                new Header("X-Stainless-Lang", "java"),
                new Header("Cookie", "session=1"),
                new Header("Accept-Encoding", "gzip"),
                new Header("Content-Length", "57"),
                new Header("Host", "gateway:8080"),
                new Header("Connection", "keep-alive"),
                new Header("x-keypool-session", "s"),
                new Header("x-keypool-provider", "openai"),
                new Header("OpenAI-Beta", "assistants=v2")),
                ("{\"model\":\"gpt-4o\"," + MESSAGES + "}").getBytes(StandardCharsets.UTF_8));

        UpstreamRequest request = api(config -> config.openAiOrgId("org-keypool")).chat().prepare(inbound)
                .upstream(KEY, null);

        assertThat(request.headers()).extracting(io.helidon.http.Header::name, io.helidon.http.Header::value)
                .containsExactly(
                        org.assertj.core.groups.Tuple.tuple("Content-Type", "application/json"),
                        org.assertj.core.groups.Tuple.tuple("X-Stainless-Lang", "java"),
                        org.assertj.core.groups.Tuple.tuple("OpenAI-Beta", "assistants=v2"),
                        org.assertj.core.groups.Tuple.tuple("Authorization", "Bearer " + KEY),
                        org.assertj.core.groups.Tuple.tuple("OpenAI-Organization", "org-keypool"));
        assertThat(request.headers()).filteredOn(header -> header.name().equals("Authorization"))
                .singleElement().extracting(io.helidon.http.Header::sensitive).isEqualTo(true);
        assertThat(request.toString()).doesNotContain(KEY);
    }

    // ---- helpers ----------------------------------------------------------------------------------

    private static OpenAiApi api(Consumer<KeypoolConfig.Builder> config) {
        return new OpenAiApi(TestContext.of(config));
    }

    private static Call prepare(String path, String body, Consumer<KeypoolConfig.Builder> config) {
        return api(config).operation("POST", path).prepare(Inbound.json(path, body.getBytes(StandardCharsets.UTF_8)));
    }

    private static Call chat(String body) {
        return prepare("/v1/chat/completions", body, config -> { });
    }

    private static String sentBody(String body) {
        return sent(body, null, config -> { });
    }

    private static String sentBody(String body, String routedModel) {
        return sent(body, routedModel, config -> { });
    }

    private static String sent(String body, String routedModel, Consumer<KeypoolConfig.Builder> config) {
        return text(prepare("/v1/chat/completions", body, config).upstream(KEY, routedModel).body());
    }

    private static String text(byte[] body) {
        return new String(body, StandardCharsets.UTF_8);
    }
}
