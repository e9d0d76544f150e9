package dev.keypool.providers.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingRegistry;
import com.knuddels.jtokkit.api.ModelType;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.providers.gemini.GeminiApi;
import dev.keypool.providers.ollama.OllamaApi;
import dev.keypool.providers.openai.OpenAiApi;
import dev.keypool.providers.relay.Call;
import dev.keypool.providers.relay.Inbound;
import dev.keypool.providers.relay.ProviderApi;
import dev.keypool.providers.relay.RelayContext;
import dev.keypool.providers.relay.TestContext;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * What each provider's endpoint reserves before the call: the prompt estimate (text on the model's
 * tokenizer, media at {@link PromptTally#MEDIA_TOKENS} each, token ids one each, definitions as their
 * JSON) and the output (the caller's cap times its choices, or the configured reserve). Text counts
 * are judged against jtokkit's own count of the text, and OpenAI's cookbook framing of 3 tokens per
 * message and 3 for the reply.
 */
class PromptTallyTest {

    private static final EncodingRegistry JTOKKIT = Encodings.newLazyEncodingRegistry();
    /** gpt-4o's encoding, as jtokkit maps the model (also the base of the Gemini and Ollama approximation). */
    private static final Encoding O200K = JTOKKIT.getEncodingForModel(ModelType.GPT_4O);
    private static final Encoding GPT_4_TURBO = JTOKKIT.getEncodingForModel(ModelType.GPT_4_TURBO);
    private static final Encoding GPT_35 = JTOKKIT.getEncodingForModel(ModelType.GPT_3_5_TURBO);
    /** A few kilobytes of base64: thousands of tokens, were it counted as text. */
    private static final String BASE64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
            .repeat(60);

    // ---- OpenAI chat ------------------------------------------------------------------------------

    @Test
    void chat_countsEachMessagesRoleAndText_onTheModelsTokenizer_withTheCookbookFraming() {
        String system = "You are terse.";
        String user = "Explain how AI works in a few words, please, and in German if you can.";
        String body = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"system\",\"content\":" + json(system)
                + "},{\"role\":\"user\",\"content\":" + json(user) + "}]}";

        assertThat(chat(body).promptTokens()).isEqualTo(3 + (3 + count(O200K, "system") + count(O200K, system))
                + (3 + count(O200K, "user") + count(O200K, user)));
        assertThat(chat(body.replace("gpt-4o", "gpt-4-turbo")).promptTokens())
                .isEqualTo(3 + (3 + count(GPT_4_TURBO, "system") + count(GPT_4_TURBO, system))
                        + (3 + count(GPT_4_TURBO, "user") + count(GPT_4_TURBO, user)));
        assertThat(chat("{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"Say this is a test!\"}]}")
                .promptTokens()).as("OpenAI's own count for this prompt").isEqualTo(13);
    }

    @Test
    void chat_textParts_countAsTheirText() {
        String asString = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"What is in this picture?\"}]}";
        String asPart = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":"
                + "[{\"type\":\"text\",\"text\":\"What is in this picture?\"}]}]}";

        assertThat(chat(asPart).promptTokens()).isEqualTo(chat(asString).promptTokens());
    }

    @Test
    void chat_anImage_base64OrByUrl_isMedia_notText() {
        String text = "{\"type\":\"text\",\"text\":\"What is in this picture?\"}";
        long textOnly = chat(userParts(text)).promptTokens();

        long base64 = chat(userParts(text + ",{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,"
                + BASE64 + "\",\"detail\":\"high\"}}")).promptTokens();
        long byUrl = chat(userParts(text + ",{\"type\":\"image_url\",\"image_url\":{\"url\":"
                + "\"https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg\"}}")).promptTokens();

        assertThat(base64 - textOnly).isEqualTo(PromptTally.MEDIA_TOKENS);
        assertThat(byUrl - textOnly).isEqualTo(PromptTally.MEDIA_TOKENS);
        assertThat(count(O200K, BASE64)).as("what the image would have reserved as text").isGreaterThan(2 * PromptTally.MEDIA_TOKENS);
    }

    @Test
    void chat_audioAndFileParts_areMediaToo() {
        String text = "{\"type\":\"text\",\"text\":\"Transcribe it.\"}";
        long textOnly = chat(userParts(text)).promptTokens();

        long audio = chat(userParts(text + ",{\"type\":\"input_audio\",\"input_audio\":{\"data\":\"" + BASE64
                + "\",\"format\":\"wav\"}}")).promptTokens();
        long file = chat(userParts(text + ",{\"type\":\"file\",\"file\":{\"file_data\":\"data:application/pdf;base64,"
                + BASE64 + "\"}}")).promptTokens();

        assertThat(audio - textOnly).isEqualTo(PromptTally.MEDIA_TOKENS);
        assertThat(file - textOnly).isEqualTo(PromptTally.MEDIA_TOKENS);
    }

    @Test
    void aDataUrlAnywhere_isMedia_butTextThatMerelyStartsWithData_isText() {
        PromptTally tally = new PromptTally();
        tally.string("content", "data:image/jpeg;base64," + BASE64);
        assertThat(tally.tokens(new TokenEstimator(), dev.keypool.config.Provider.OPENAI, "gpt-4o"))
                .isEqualTo(PromptTally.MEDIA_TOKENS);

        PromptTally text = new PromptTally();
        text.string("content", "data: the table below, base64 encoded");
        assertThat(text.tokens(new TokenEstimator(), dev.keypool.config.Provider.OPENAI, "gpt-4o"))
                .isEqualTo(count(O200K, "data: the table below, base64 encoded"));
    }

    @Test
    void chat_definitions_countAsTheirJsonAsWritten() {
        String tools = "[{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": \"Get the"
                + " weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}}}}]";
        String format = "{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"w\",\"schema\":{\"type\":\"object\"}}}";
        String without = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"Weather in Paris?\"}]}";

        long withTools = chat(without.replace("}]}", "}],\"tools\":" + tools + "}")).promptTokens();
        long withFormat = chat(without.replace("}]}", "}],\"response_format\":" + format + "}")).promptTokens();

        assertThat(withTools - chat(without).promptTokens()).isEqualTo(count(O200K, tools));
        assertThat(withFormat - chat(without).promptTokens()).isEqualTo(count(O200K, format));
    }

    @Test
    void chat_output_isTheCapTimesTheChoices_elseTheReserve() {
        String messages = "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]";

        assertThat(chat("{\"model\":\"gpt-4o\"," + messages + ",\"max_tokens\":100,\"n\":3}").outputTokens()).isEqualTo(300);
        assertThat(chat("{\"model\":\"o3\"," + messages + ",\"max_completion_tokens\":50,\"max_tokens\":100}").outputTokens())
                .as("max_completion_tokens is the cap when both are set").isEqualTo(50);
        assertThat(chat("{\"model\":\"gpt-4o\"," + messages + ",\"max_tokens\":null,\"n\":null}").outputTokens())
                .isEqualTo(1024);
        Consumer<KeypoolConfig.Builder> reserve = config -> config.setting("KEYPOOL_OUTPUT_RESERVE_TOKENS", "777");
        assertThat(prepare(new OpenAiApi(TestContext.of(reserve)), "/v1/chat/completions",
                "{\"model\":\"gpt-4o\"," + messages + ",\"n\":2}").outputTokens()).isEqualTo(2 * 777);
    }

    // ---- OpenAI's other endpoints -----------------------------------------------------------------

    @Test
    void legacyCompletions_countTokenIdsOneEach_andTextOnTheTokenizer() {
        assertThat(completions("{\"model\":\"gpt-3.5-turbo-instruct\",\"prompt\":[1,2,3,4,5]}").promptTokens()).isEqualTo(5);
        assertThat(completions("{\"model\":\"gpt-3.5-turbo-instruct\",\"prompt\":[[1,2],[3],[]]}").promptTokens()).isEqualTo(3);
        assertThat(completions("{\"model\":\"gpt-3.5-turbo-instruct\",\"prompt\":[\"Hello world\",\"Bye\"]}")
                .promptTokens()).isEqualTo(count(GPT_35, "Hello world") + count(GPT_35, "Bye"));
        assertThat(completions("{\"model\":\"gpt-3.5-turbo-instruct\",\"prompt\":\"Say this is a test\","
                + "\"suffix\":\" and more\"}").promptTokens())
                .isEqualTo(count(GPT_35, "Say this is a test") + count(GPT_35, " and more"));
    }

    @Test
    void legacyCompletions_output_isMaxTokensTimesTheLargerOfNAndBestOf_sixteenByDefault() {
        String model = "\"model\":\"gpt-3.5-turbo-instruct\",\"prompt\":\"x\"";

        assertThat(completions("{" + model + "}").outputTokens()).isEqualTo(16);
        assertThat(completions("{" + model + ",\"n\":2,\"best_of\":5}").outputTokens()).isEqualTo(16 * 5);
        assertThat(completions("{" + model + ",\"max_tokens\":50,\"n\":3}").outputTokens()).isEqualTo(150);
        assertThat(completions("{" + model + ",\"max_tokens\":50,\"n\":3,\"best_of\":2}").outputTokens()).isEqualTo(150);
        assertThat(completions("{" + model + ",\"max_tokens\":null}").outputTokens()).isEqualTo(16);
    }

    @Test
    void embeddings_countTheirInput_andReserveNoOutput() {
        OpenAiApi api = new OpenAiApi(TestContext.of(config -> { }));
        String text = "The food was delicious and the waiter was friendly.";

        Call call = prepare(api, "/v1/embeddings", "{\"model\":\"text-embedding-3-small\",\"input\":" + json(text) + "}");
        assertThat(call.promptTokens()).isEqualTo(count(JTOKKIT.getEncodingForModel(ModelType.TEXT_EMBEDDING_3_SMALL), text));
        assertThat(call.outputTokens()).isZero();
        assertThat(prepare(api, "/v1/embeddings", "{\"model\":\"text-embedding-3-small\",\"input\":[[101,102,103],[7]]}")
                .promptTokens()).isEqualTo(4);
    }

    @Test
    void responses_countInputAndInstructions_imagesAsMedia_outputTheCapElseTheReserve() {
        OpenAiApi api = new OpenAiApi(TestContext.of(config -> { }));
        String text = "{\"type\":\"input_text\",\"text\":\"What is in this image?\"}";
        String input = "{\"model\":\"gpt-4.1\",\"instructions\":\"Be brief.\",\"input\":[{\"role\":\"user\",\"content\":["
                + text + "%s]}]%s}";

        Call plain = prepare(api, "/v1/responses", input.formatted("", ""));
        Call image = prepare(api, "/v1/responses", input.formatted(",{\"type\":\"input_image\",\"image_url\":"
                + "\"data:image/jpeg;base64," + BASE64 + "\"}", ",\"max_output_tokens\":500"));

        assertThat(image.promptTokens() - plain.promptTokens()).isEqualTo(PromptTally.MEDIA_TOKENS);
        assertThat(plain.promptTokens()).isGreaterThanOrEqualTo(count(O200K, "Be brief.") + count(O200K, "What is in this image?"));
        assertThat(plain.outputTokens()).isEqualTo(1024);
        assertThat(image.outputTokens()).isEqualTo(500);
    }

    // ---- Gemini -----------------------------------------------------------------------------------

    @Test
    void gemini_inlineDataAndFiles_areMedia_notText() {
        GeminiApi api = new GeminiApi(TestContext.of(config -> { }));
        String text = "{\"text\":\"What is in this picture?\"}";

        long textOnly = generate(api, text).promptTokens();
        long inline = generate(api, text + ",{\"inlineData\":{\"mimeType\":\"image/png\",\"data\":\"" + BASE64 + "\"}}")
                .promptTokens();
        Call file = generate(api, text + ",{\"fileData\":{\"mimeType\":\"application/pdf\","
                + "\"fileUri\":\"https://generativelanguage.googleapis.com/v1beta/files/abc-123\"}}");

        assertThat(inline - textOnly).isEqualTo(PromptTally.MEDIA_TOKENS);
        assertThat(file.promptTokens() - textOnly).isEqualTo(PromptTally.MEDIA_TOKENS);
        assertThat(file.references()).as("the file lives on the key that uploaded it").containsExactly("files/abc-123");
    }

    @Test
    void gemini_text_isReservedAtLeastAtItsO200kCount() {
        GeminiApi api = new GeminiApi(TestContext.of(config -> { }));
        String text = "Explain how AI works in a few words, please, and in German if you can.";

        long withText = generate(api, "{\"text\":" + json(text) + "}").promptTokens();
        long empty = generate(api, "{\"text\":\"\"}").promptTokens();

        // an approximation of Gemini's own tokenizer that errs on the side of reserving more
        assertThat(withText - empty).isBetween((long) count(O200K, text), (long) Math.ceil(count(O200K, text) * 1.25));
    }

    @Test
    void gemini_output_isCandidatesTimesTheCap_elseTimesTheReserve() {
        GeminiApi api = new GeminiApi(TestContext.of(config -> config.setting("KEYPOOL_OUTPUT_RESERVE_TOKENS", "500")));
        String contents = "\"contents\":[{\"parts\":[{\"text\":\"hi\"}]}]";

        assertThat(generateBody(api, "{" + contents + ",\"generationConfig\":{\"candidateCount\":3,\"maxOutputTokens\":200}}")
                .outputTokens()).isEqualTo(600);
        assertThat(generateBody(api, "{" + contents + ",\"generation_config\":{\"max_output_tokens\":200,\"candidate_count\":2}}")
                .outputTokens()).isEqualTo(400);
        assertThat(generateBody(api, "{" + contents + ",\"generationConfig\":{\"candidateCount\":2}}").outputTokens())
                .isEqualTo(2 * 500);
        assertThat(generateBody(api, "{" + contents + "}").outputTokens()).isEqualTo(500);
    }

    @Test
    void gemini_embeddings_reserveNoOutput() {
        GeminiApi api = new GeminiApi(TestContext.of(config -> { }));
        String path = "/v1beta/models/gemini-embedding-001:embedContent";

        Call call = prepare(api, path, "{\"content\":{\"parts\":[{\"text\":\"What is the meaning of life?\"}]}}");

        assertThat(call.promptTokens()).isGreaterThanOrEqualTo(count(O200K, "What is the meaning of life?"));
        assertThat(call.outputTokens()).isZero();
    }

    // ---- Ollama -----------------------------------------------------------------------------------

    @Test
    void ollama_isKeyless_andReservesNothing() {
        RelayContext context = TestContext.of(config -> { });
        try (Upstream upstream = new Upstream(Duration.ofSeconds(1), Duration.ofSeconds(1))) {
            OllamaApi api = new OllamaApi(context, upstream);

            Call call = prepare(api, "/api/chat", "{\"model\":\"llava\",\"messages\":[{\"role\":\"user\",\"content\":"
                    + "\"What is in this picture?\",\"images\":[\"" + BASE64 + "\"]}],\"options\":{\"num_predict\":100}}");

            assertThat(call.promptTokens()).isZero();
            assertThat(call.outputTokens()).isZero();
        }
    }

    // ---- helpers ----------------------------------------------------------------------------------

    private static Call chat(String body) {
        return prepare(new OpenAiApi(TestContext.of(config -> { })), "/v1/chat/completions", body);
    }

    private static Call completions(String body) {
        return prepare(new OpenAiApi(TestContext.of(config -> { })), "/v1/completions", body);
    }

    private static Call generate(GeminiApi api, String parts) {
        return generateBody(api, "{\"contents\":[{\"role\":\"user\",\"parts\":[" + parts + "]}]}");
    }

    private static Call generateBody(GeminiApi api, String body) {
        return prepare(api, "/v1beta/models/gemini-2.5-flash:generateContent", body);
    }

    private static Call prepare(ProviderApi api, String path, String body) {
        return api.operation("POST", path).prepare(Inbound.json(path, body.getBytes(StandardCharsets.UTF_8)));
    }

    private static String userParts(String parts) {
        return "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":[" + parts + "]}]}";
    }

    private static int count(Encoding encoding, String text) {
        return encoding.countTokensOrdinary(text);
    }

    private static String json(String text) {
        return Json.nodes().textNode(text).toString();
    }
}
