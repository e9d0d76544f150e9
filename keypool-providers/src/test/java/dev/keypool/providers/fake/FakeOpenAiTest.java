package dev.keypool.providers.fake;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.providers.internal.Json;
import dev.keypool.testing.CloseAfterEach;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** FakeOpenAi answers each endpoint in OpenAI's documented shape, and keeps stored objects per account. */
class FakeOpenAiTest {

    private static final String KEY = "sk-test-key-a-0000000000";
    private static final String OTHER = "sk-test-key-b-0000000000";
    private static final String USER_HI = "{\"role\":\"user\",\"content\":\"What is the weather in Paris and Rome?\"}";

    @RegisterExtension
    final CloseAfterEach closing = new CloseAfterEach();
    private final FakeOpenAi fake = closing.add(FakeOpenAi.start());
    private final Http.Keyed http = Http.Keyed.bearer(fake, KEY);

    private static String chat(String extra, String... messages) {
        return "{\"model\":\"gpt-4o-mini\",\"messages\":[" + String.join(",", messages) + "]" + extra + "}";
    }

    private static List<JsonNode> dataEvents(String body) {
        List<JsonNode> events = new ArrayList<>();
        for (String event : body.split("\n\n")) {
            if (event.startsWith("data: {")) {
                events.add(Json.parseOrMissing(event.substring(6)));
            }
        }
        return events;
    }

    // ---- chat completions -------------------------------------------------------------------------

    @Test
    void chat_answersWithEveryDocumentedField_andOpenAisHeaders() {
        HttpResponse<String> response = http.post("/chat/completions", chat("", USER_HI));

        JsonNode body = Http.json(response);
        assertThat(body.path("id").asText()).startsWith("chatcmpl-");
        assertThat(body.path("object").asText()).isEqualTo("chat.completion");
        assertThat(body.path("service_tier").asText()).isEqualTo("default");
        assertThat(body.path("system_fingerprint").asText()).startsWith("fp_");
        JsonNode message = body.path("choices").get(0).path("message");
        assertThat(message.path("content").asText()).isEqualTo("This is a test!");
        assertThat(message.has("refusal") && message.get("refusal").isNull()).isTrue();
        assertThat(message.path("annotations").isArray()).isTrue();
        JsonNode usage = body.path("usage");
        assertThat(usage.path("prompt_tokens_details").has("cached_tokens")).isTrue();
        assertThat(usage.path("prompt_tokens_details").has("audio_tokens")).isTrue();
        assertThat(usage.path("completion_tokens_details").fieldNames()).toIterable()
                .containsExactly("reasoning_tokens", "audio_tokens", "accepted_prediction_tokens", "rejected_prediction_tokens");
        for (String header : List.of("x-request-id", "openai-processing-ms", "openai-organization", "openai-version",
                "x-ratelimit-limit-requests", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens")) {
            assertThat(response.headers().firstValue(header)).as(header).isPresent();
        }
        assertThat(response.body()).startsWith("{\n  \"id\": \"chatcmpl-");
    }

    @Test
    void chat_toolCalls_haveNullContentAndEveryCall() {
        fake.enqueue(FakeOpenAi.toolCalls(new OpenAiToolCall("call_a", "get_weather", "{\"city\":\"Paris\"}"),
                new OpenAiToolCall("call_b", "get_weather", "{\"city\":\"Rome\"}")));

        JsonNode choice = Http.json(http.post("/chat/completions", chat("", USER_HI))).path("choices").get(0);

        assertThat(choice.path("finish_reason").asText()).isEqualTo("tool_calls");
        assertThat(choice.path("message").get("content").isNull()).isTrue();
        JsonNode calls = choice.path("message").path("tool_calls");
        assertThat(calls).hasSize(2);
        assertThat(calls.get(1).path("id").asText()).isEqualTo("call_b");
        assertThat(calls.get(1).path("type").asText()).isEqualTo("function");
        assertThat(calls.get(1).path("function").path("arguments").asText()).isEqualTo("{\"city\":\"Rome\"}");
    }

    @Test
    void chatStream_toolCalls_sendHeaderThenArgumentFragments_perIndex() {
        fake.enqueue(FakeOpenAi.toolCalls(new OpenAiToolCall("call_a", "get_weather", "{\"city\":\"Paris\"}"),
                new OpenAiToolCall("call_b", "get_weather", "{\"city\":\"Rome\"}")));

        HttpResponse<String> response = http.post("/chat/completions", chat(",\"stream\":true", USER_HI));

        List<JsonNode> chunks = dataEvents(response.body());
        JsonNode first = chunks.get(0).path("choices").get(0).path("delta");
        assertThat(first.path("role").asText()).isEqualTo("assistant");
        assertThat(first.get("content").isNull()).isTrue();
        JsonNode header = first.path("tool_calls").get(0);
        assertThat(header.path("index").asInt()).isZero();
        assertThat(header.path("id").asText()).isEqualTo("call_a");
        assertThat(header.path("function").path("name").asText()).isEqualTo("get_weather");
        assertThat(header.path("function").path("arguments").asText()).isEmpty();
        StringBuilder[] arguments = {new StringBuilder(), new StringBuilder()};
        int fragments = 0;
        for (JsonNode chunk : chunks.subList(1, chunks.size())) {
            for (JsonNode call : chunk.path("choices").path(0).path("delta").path("tool_calls")) {
                arguments[call.path("index").asInt()].append(call.path("function").path("arguments").asText());
                fragments++;
                if (call.has("id")) {
                    assertThat(call.path("index").asInt()).isEqualTo(1);
                    assertThat(call.path("id").asText()).isEqualTo("call_b");
                }
            }
        }
        assertThat(arguments[0]).hasToString("{\"city\":\"Paris\"}");
        assertThat(arguments[1]).hasToString("{\"city\":\"Rome\"}");
        assertThat(fragments).isGreaterThan(4);
        assertThat(chunks.get(chunks.size() - 1).path("choices").get(0).path("finish_reason").asText()).isEqualTo("tool_calls");
        assertThat(response.body()).endsWith("data: [DONE]\n\n");
    }

    @Test
    void chat_n_givesThatManyChoices_andBillsThemAll() {
        fake.enqueue(FakeOpenAi.completion("Hello there", 10, 2));

        JsonNode body = Http.json(http.post("/chat/completions", chat(",\"n\":3", USER_HI)));
        HttpResponse<String> stream = http.post("/chat/completions",
                chat(",\"n\":2,\"stream\":true,\"stream_options\":{\"include_usage\":true}", USER_HI));

        assertThat(body.path("choices")).extracting(choice -> choice.path("index").asInt()).containsExactly(0, 1, 2);
        assertThat(body.path("usage").path("completion_tokens").asInt()).isEqualTo(6);
        assertThat(body.path("usage").path("total_tokens").asInt()).isEqualTo(16);
        List<JsonNode> chunks = dataEvents(stream.body());
        assertThat(chunks.stream().filter(c -> c.path("choices").size() > 0)
                .map(c -> c.path("choices").get(0).path("index").asInt()).distinct()).containsExactly(0, 1);
        assertThat(chunks.get(chunks.size() - 1).path("usage").path("completion_tokens").asInt()).isEqualTo(10);
    }

    @Test
    void chat_logprobs_giveTokenLogprobBytesAndTopLogprobs() {
        fake.enqueue(FakeOpenAi.completion("Hi there", 5, 2));

        JsonNode logprobs = Http.json(http.post("/chat/completions", chat(",\"logprobs\":true,\"top_logprobs\":2", USER_HI)))
                .path("choices").get(0).path("logprobs");
        HttpResponse<String> stream = http.post("/chat/completions", chat(",\"logprobs\":true,\"stream\":true", USER_HI));

        JsonNode token = logprobs.path("content").get(1);
        assertThat(token.path("token").asText()).isEqualTo(" there");
        assertThat(token.path("logprob").isNumber()).isTrue();
        assertThat(token.path("bytes")).extracting(JsonNode::asInt).containsExactly(32, 116, 104, 101, 114, 101);
        assertThat(token.path("top_logprobs")).hasSize(2);
        assertThat(logprobs.has("refusal")).isTrue();
        JsonNode streamed = dataEvents(stream.body()).get(1).path("choices").get(0).path("logprobs");
        assertThat(streamed.path("content").get(0).path("token").asText()).isEqualTo("This");
    }

    @Test
    void chat_usageDetailsCitationsAndServiceTier_areReportedAsScripted() {
        fake.enqueue(FakeOpenAi.answer("See the docs.")
                .withUsage(OpenAiUsage.of(1200, 40).withCachedTokens(1024).withReasoningTokens(30))
                .withCitation("https://example.com/docs", "Docs", 4, 12).withServiceTier("flex"));

        JsonNode body = Http.json(http.post("/chat/completions", chat("", USER_HI)));

        assertThat(body.path("usage").path("prompt_tokens_details").path("cached_tokens").asInt()).isEqualTo(1024);
        assertThat(body.path("usage").path("completion_tokens_details").path("reasoning_tokens").asInt()).isEqualTo(30);
        assertThat(body.path("service_tier").asText()).isEqualTo("flex");
        JsonNode citation = body.path("choices").get(0).path("message").path("annotations").get(0);
        assertThat(citation.path("type").asText()).isEqualTo("url_citation");
        assertThat(citation.path("url_citation").path("url").asText()).isEqualTo("https://example.com/docs");
    }

    @Test
    void chat_textThenToolCalls_explicitChoices_andEveryUsageDetail() {
        fake.enqueue(FakeOpenAi.answer("Let me check.").withToolCalls(new OpenAiToolCall("call_a", "f", "{}"))
                .withSystemFingerprint("fp_keypool"));
        fake.enqueue(FakeOpenAi.answer("x").withChoices("Yes", "No")
                .withUsage(OpenAiUsage.of(9, 1).withAudioTokens(2, 1).withPredictionTokens(1, 0)));

        JsonNode mixed = Http.json(http.post("/chat/completions", chat("", USER_HI)));
        JsonNode choices = Http.json(http.post("/chat/completions", chat("", USER_HI)));

        JsonNode message = mixed.path("choices").get(0).path("message");
        assertThat(message.path("content").asText()).isEqualTo("Let me check.");
        assertThat(message.path("tool_calls").get(0).path("id").asText()).isEqualTo("call_a");
        assertThat(mixed.path("choices").get(0).path("finish_reason").asText()).isEqualTo("tool_calls");
        assertThat(mixed.path("system_fingerprint").asText()).isEqualTo("fp_keypool");
        assertThat(choices.path("choices")).extracting(c -> c.path("message").path("content").asText())
                .containsExactly("Yes", "No");
        JsonNode usage = choices.path("usage");
        assertThat(usage.path("completion_tokens").asInt()).isEqualTo(2);
        assertThat(usage.path("prompt_tokens_details").path("audio_tokens").asInt()).isEqualTo(2);
        assertThat(usage.path("completion_tokens_details").path("audio_tokens").asInt()).isEqualTo(2);
        assertThat(usage.path("completion_tokens_details").path("accepted_prediction_tokens").asInt()).isEqualTo(2);
    }

    @Test
    void chat_refusal_hasNullContent() {
        fake.enqueue(FakeOpenAi.refusal("I can't help with that."));

        JsonNode message = Http.json(http.post("/chat/completions", chat("", USER_HI))).path("choices").get(0).path("message");

        assertThat(message.get("content").isNull()).isTrue();
        assertThat(message.path("refusal").asText()).isEqualTo("I can't help with that.");
    }

    @Test
    void chatStream_usageChunkOnlyWhenAsked_usageNullOnEveryOtherChunk_obfuscationUnlessDisabled() {
        String stream = ",\"stream\":true,\"stream_options\":{\"include_usage\":true}";
        List<JsonNode> withUsage = dataEvents(http.post("/chat/completions", chat(stream, USER_HI)).body());
        List<JsonNode> without = dataEvents(http.post("/chat/completions", chat(",\"stream\":true", USER_HI)).body());
        List<JsonNode> plain = dataEvents(http.post("/chat/completions",
                chat(",\"stream\":true,\"stream_options\":{\"include_obfuscation\":false}", USER_HI)).body());

        JsonNode last = withUsage.get(withUsage.size() - 1);
        assertThat(last.path("choices")).isEmpty();
        assertThat(last.path("usage").path("total_tokens").asInt()).isEqualTo(18);
        assertThat(withUsage.subList(0, withUsage.size() - 1))
                .allMatch(chunk -> chunk.has("usage") && chunk.get("usage").isNull());
        assertThat(without).noneMatch(chunk -> chunk.has("usage"));
        assertThat(without).allMatch(chunk -> chunk.has("obfuscation"));
        assertThat(plain).noneMatch(chunk -> chunk.has("obfuscation"));
    }

    @Test
    void chat_takesTheToolFollowUpTurn_andImageParts() {
        String assistant = "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
                + "{\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{}\"}},"
                + "{\"id\":\"call_b\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{}\"}}]}";
        String images = "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"And these?\"},"
                + "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://example.com/a.png\"}},"
                + "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,iVBORw0KGgo=\"}}]}";

        HttpResponse<String> response = http.post("/chat/completions", chat("", USER_HI, assistant,
                "{\"role\":\"tool\",\"tool_call_id\":\"call_a\",\"content\":\"18C\"}",
                "{\"role\":\"tool\",\"tool_call_id\":\"call_b\",\"content\":\"21C\"}", images));

        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    }

    @Test
    void chat_refusesWhatOpenAiRefuses_withItsMessageParamAndCode() {
        String calls = "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_a\",\"type\":\"function\","
                + "\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}";
        assertRefused(chat("", "{\"role\":\"robot\",\"content\":\"hi\"}"), "Invalid value: 'robot'. Supported values are:"
                + " 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.", "messages[0].role", "invalid_value");
        assertRefused(chat("", "{\"role\":\"user\"}"), "Missing required parameter: 'messages[0].content'.",
                "messages[0].content", "missing_required_parameter");
        assertRefused(chat("", "{\"role\":\"user\",\"content\":null}"),
                "Invalid value for 'content': expected a string, got null.", "messages.[0].content", null);
        assertRefused(chat("", USER_HI, "{\"role\":\"tool\",\"tool_call_id\":\"call_x\",\"content\":\"18C\"}"),
                "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with"
                        + " 'tool_calls'.", "messages.[1].role", null);
        assertRefused(chat("", USER_HI, calls, "{\"role\":\"tool\",\"tool_call_id\":\"call_x\",\"content\":\"18C\"}"),
                "Invalid parameter: 'tool_call_id' of 'call_x' not found in 'tool_calls' of previous message.",
                "messages.[2].tool_call_id", null);
        assertRefused(chat("", USER_HI, calls, USER_HI), "An assistant message with 'tool_calls' must be followed by tool"
                + " messages responding to each 'tool_call_id'. The following tool_call_ids did not have response"
                + " messages: call_a", "messages.[1].role", null);
        assertRefused(chat("", "{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"a.png\"}}]}"),
                "Invalid 'messages[0].content[0].image_url.url'. Expected a base64-encoded data URL with an image MIME type"
                        + " (e.g. 'data:image/png;base64,aW1nIGJ5dGVzIGhlcmU='), but got a value without the 'data:' prefix.",
                "messages[0].content[0].image_url.url", "invalid_value");
        assertRefused("{\"messages\":[" + USER_HI + "]}", "you must provide a model parameter", null, null);
        assertRefused(chat(""), "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an"
                + " empty array instead.", "messages", "empty_array");
        assertThat(http.post("/chat/completions", "{\"model\": ").body()).contains("We could not parse the JSON body");
    }

    private void assertRefused(String request, String message, String param, String code) {
        HttpResponse<String> response = http.post("/chat/completions", request);
        assertThat(response.statusCode()).as(response.body()).isEqualTo(400);
        JsonNode error = Http.json(response).path("error");
        assertThat(error.path("message").asText()).isEqualTo(message);
        assertThat(error.path("type").asText()).isEqualTo("invalid_request_error");
        assertThat(error.path("param").isNull() ? null : error.path("param").asText()).isEqualTo(param);
        assertThat(error.path("code").isNull() ? null : error.path("code").asText()).isEqualTo(code);
        assertThat(response.headers().firstValue("x-request-id")).isPresent();
    }

    // ---- legacy completions, embeddings, models, moderations --------------------------------------

    @Test
    void completions_answerAsTextCompletion_plainAndStreamedWithUsage() {
        String request = "{\"model\":\"gpt-3.5-turbo-instruct\",\"prompt\":\"Say this is a test\"";
        JsonNode plain = Http.json(http.post("/completions", request + ",\"logprobs\":2}"));
        HttpResponse<String> stream = http.post("/completions",
                request + ",\"stream\":true,\"stream_options\":{\"include_usage\":true}}");

        assertThat(plain.path("object").asText()).isEqualTo("text_completion");
        assertThat(plain.path("id").asText()).startsWith("cmpl-");
        assertThat(plain.path("choices").get(0).path("text").asText()).isEqualTo("This is a test!");
        assertThat(plain.path("choices").get(0).path("logprobs").path("tokens")).hasSize(4);
        assertThat(plain.path("usage").path("total_tokens").asInt()).isEqualTo(18);
        List<JsonNode> chunks = dataEvents(stream.body());
        assertThat(chunks.get(0).path("object").asText()).isEqualTo("text_completion");
        assertThat(chunks.get(chunks.size() - 2).path("choices").get(0).path("finish_reason").asText()).isEqualTo("stop");
        assertThat(chunks.get(chunks.size() - 1).path("usage").path("completion_tokens").asInt()).isEqualTo(5);
        assertThat(stream.body()).endsWith("data: [DONE]\n\n");
    }

    @Test
    void embeddings_answerFloatsOrBase64_oneItemPerInput() {
        JsonNode floats = Http.json(http.post("/embeddings", "{\"model\":\"text-embedding-3-small\",\"input\":[\"a b c d\",\"e\"]}"));
        JsonNode encoded = Http.json(http.post("/embeddings",
                "{\"model\":\"text-embedding-3-small\",\"input\":\"a b c d\",\"encoding_format\":\"base64\",\"dimensions\":8}"));

        assertThat(floats.path("object").asText()).isEqualTo("list");
        assertThat(floats.path("data")).hasSize(2);
        assertThat(floats.path("data").get(1).path("index").asInt()).isEqualTo(1);
        assertThat(floats.path("data").get(0).path("embedding")).hasSize(1536);
        assertThat(floats.path("usage").path("prompt_tokens").asInt()).isEqualTo(floats.path("usage").path("total_tokens").asInt()).isEqualTo(3);
        byte[] bytes = Base64.getDecoder().decode(encoded.path("data").get(0).path("embedding").asText());
        assertThat(bytes).hasSize(32);
        float first = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getFloat();
        assertThat(first).isBetween(-1f, 1f);
        assertThat(http.post("/embeddings", "{\"model\":\"text-embedding-3-small\"}").body())
                .contains("Missing required parameter: 'input'.");
    }

    @Test
    void models_listAndRetrieve_asOpenAiAnswersThem() {
        fake.setModels("gpt-4o-mini", "text-embedding-3-small");

        JsonNode list = Http.json(http.get("/models", KEY));
        JsonNode one = Http.json(http.get("/models/gpt-4o-mini", KEY));
        HttpResponse<String> missing = http.get("/models/gpt-9", KEY);

        assertThat(list.path("object").asText()).isEqualTo("list");
        assertThat(list.path("data")).extracting(model -> model.path("id").asText())
                .containsExactly("gpt-4o-mini", "text-embedding-3-small");
        assertThat(one.fieldNames()).toIterable().containsExactly("id", "object", "created", "owned_by", "shutdown_date");
        assertThat(missing.statusCode()).isEqualTo(404);
        assertThat(Http.json(missing).path("error").path("code").asText()).isEqualTo("model_not_found");
    }

    @Test
    void moderations_answerOneResultPerInput() {
        fake.enqueue(FakeOpenAi.moderation("violence"));

        JsonNode body = Http.json(http.post("/moderations", "{\"model\":\"omni-moderation-latest\",\"input\":[\"a\",\"b\"]}"));

        assertThat(body.path("id").asText()).startsWith("modr-");
        assertThat(body.path("results")).hasSize(2);
        assertThat(body.path("results").get(0).path("flagged").asBoolean()).isTrue();
        assertThat(body.path("results").get(0).path("categories").path("violence").asBoolean()).isTrue();
        assertThat(body.path("results").get(0).path("category_applied_input_types").has("violence/graphic")).isTrue();
    }

    // ---- responses --------------------------------------------------------------------------------

    @Test
    void responses_answerAResponseObject_storedForTheKeyThatCreatedIt() {
        JsonNode created = Http.json(http.post("/responses", "{\"model\":\"gpt-4o\",\"input\":\"Tell me a joke\","
                + "\"instructions\":\"Be brief\",\"metadata\":{\"run\":\"7\"}}"));
        String id = created.path("id").asText();

        assertThat(id).startsWith("resp_");
        assertThat(created.path("object").asText()).isEqualTo("response");
        assertThat(created.path("status").asText()).isEqualTo("completed");
        assertThat(created.path("instructions").asText()).isEqualTo("Be brief");
        assertThat(created.path("metadata").path("run").asText()).isEqualTo("7");
        JsonNode text = created.path("output").get(0).path("content").get(0);
        assertThat(text.path("type").asText()).isEqualTo("output_text");
        assertThat(text.path("text").asText()).isEqualTo("This is a test!");
        assertThat(created.path("usage").path("input_tokens_details").has("cached_tokens")).isTrue();
        assertThat(created.path("usage").path("output_tokens_details").has("reasoning_tokens")).isTrue();
        assertThat(Http.json(http.get("/responses/" + id, KEY))).isEqualTo(created);
        assertThat(fake.ownerOfResponse(id)).isEqualTo(KEY);
        assertThat(fake.storedResponse(KEY, id)).hasToString(created.toString());
        assertThat(fake.storedResponse(OTHER, id)).isNull();
        JsonNode items = Http.json(http.get("/responses/" + id + "/input_items", KEY));
        assertThat(items.path("data").get(0).path("content").get(0).path("text").asText()).isEqualTo("Tell me a joke");
        assertThat(items.path("first_id").asText()).startsWith("msg_");

        HttpResponse<String> otherGet = http.get("/responses/" + id, OTHER);
        HttpResponse<String> otherFollowUp = http.post("/responses", "{\"model\":\"gpt-4o\",\"input\":\"Another\","
                + "\"previous_response_id\":\"" + id + "\"}", OTHER);
        HttpResponse<String> ownFollowUp = http.post("/responses", "{\"model\":\"gpt-4o\",\"input\":\"Another\","
                + "\"previous_response_id\":\"" + id + "\"}", KEY);

        assertThat(otherGet.statusCode()).isEqualTo(404);
        assertThat(Http.json(otherGet).path("error").path("message").asText()).isEqualTo("Response with id '" + id + "' not found.");
        assertThat(otherFollowUp.statusCode()).isEqualTo(400);
        JsonNode error = Http.json(otherFollowUp).path("error");
        assertThat(error.path("message").asText()).isEqualTo("Previous response with id '" + id + "' not found.");
        assertThat(error.path("param").asText()).isEqualTo("previous_response_id");
        assertThat(error.path("code").asText()).isEqualTo("previous_response_not_found");
        assertThat(Http.json(ownFollowUp).path("previous_response_id").asText()).isEqualTo(id);
    }

    @Test
    void responses_storeFalse_isNeverRetrievable_andDeleteForgets() {
        String unstored = Http.json(http.post("/responses", "{\"model\":\"gpt-4o\",\"input\":\"hi\",\"store\":false}"))
                .path("id").asText();
        String stored = Http.json(http.post("/responses", "{\"model\":\"gpt-4o\",\"input\":\"hi\"}")).path("id").asText();

        assertThat(http.get("/responses/" + unstored, KEY).statusCode()).isEqualTo(404);
        assertThat(Http.delete(fake.baseUrl() + "/responses/" + stored, "Authorization", "Bearer " + OTHER).statusCode())
                .isEqualTo(404);
        HttpResponse<String> deleted = Http.delete(fake.baseUrl() + "/responses/" + stored, "Authorization", "Bearer " + KEY);
        assertThat(Http.json(deleted).path("deleted").asBoolean()).isTrue();
        assertThat(http.get("/responses/" + stored, KEY).statusCode()).isEqualTo(404);
    }

    @Test
    void responsesStream_sendsTheTypedEventsInOrder_andStoresTheCompletedResponse() {
        HttpResponse<String> response = http.post("/responses", "{\"model\":\"gpt-4o\",\"input\":\"hi\",\"stream\":true}");

        List<String> types = new ArrayList<>();
        JsonNode completed = null;
        int sequence = 0;
        for (String event : response.body().split("\n\n")) {
            String[] lines = event.split("\n");
            assertThat(lines[0]).startsWith("event: ");
            JsonNode data = Json.parseOrMissing(lines[1].substring("data: ".length()));
            assertThat(data.path("type").asText()).isEqualTo(lines[0].substring("event: ".length()));
            assertThat(data.path("sequence_number").asInt()).isEqualTo(sequence++);
            types.add(data.path("type").asText());
            if (data.path("type").asText().equals("response.completed")) {
                completed = data.path("response");
            }
        }
        assertThat(types).containsExactly("response.created", "response.in_progress", "response.output_item.added",
                "response.content_part.added", "response.output_text.delta", "response.output_text.delta",
                "response.output_text.delta", "response.output_text.delta", "response.output_text.done",
                "response.content_part.done", "response.output_item.done", "response.completed");
        assertThat(response.headers().firstValue("content-type")).hasValue("text/event-stream; charset=utf-8");
        assertThat(completed.path("usage").path("input_tokens_details").path("cached_tokens").isInt()).isTrue();
        assertThat(completed.path("usage").path("output_tokens_details").path("reasoning_tokens").isInt()).isTrue();
        assertThat(Http.json(http.get("/responses/" + completed.path("id").asText(), KEY)).path("status").asText())
                .isEqualTo("completed");
    }

    @Test
    void responses_functionCalls_areOutputItems_plainAndStreamed() {
        fake.enqueue(FakeOpenAi.toolCalls(new OpenAiToolCall("call_a", "get_weather", "{\"city\":\"Paris\"}")));
        fake.enqueue(FakeOpenAi.toolCalls(new OpenAiToolCall("call_a", "get_weather", "{\"city\":\"Paris\"}")));

        JsonNode plain = Http.json(http.post("/responses", "{\"model\":\"gpt-4o\",\"input\":\"weather?\"}"));
        String stream = http.post("/responses", "{\"model\":\"gpt-4o\",\"input\":\"weather?\",\"stream\":true}").body();

        JsonNode item = plain.path("output").get(0);
        assertThat(item.path("type").asText()).isEqualTo("function_call");
        assertThat(item.path("call_id").asText()).isEqualTo("call_a");
        assertThat(item.path("arguments").asText()).isEqualTo("{\"city\":\"Paris\"}");
        assertThat(stream).contains("event: response.function_call_arguments.delta\n")
                .contains("\"type\":\"response.function_call_arguments.done\"")
                .contains("\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"");
    }

    // ---- files ------------------------------------------------------------------------------------

    @Test
    void files_uploadAsMultipart_belongToTheKeyThatUploaded() {
        byte[] content = {0, 1, 2, (byte) 0xff, '\r', '\n', '-', '-'};
        String boundary = "----keypool7MA4YWxkTrZu0gW";
        byte[] body = multipart(boundary, content);

        HttpResponse<String> uploaded = Http.send("POST", fake.baseUrl() + "/files", HttpRequest.BodyPublishers.ofByteArray(body),
                "Authorization", "Bearer " + KEY, "Content-Type", "multipart/form-data; boundary=" + boundary);
        JsonNode file = Http.json(uploaded);
        String id = file.path("id").asText();

        assertThat(uploaded.statusCode()).as(uploaded.body()).isEqualTo(200);
        assertThat(id).startsWith("file-");
        assertThat(file.path("object").asText()).isEqualTo("file");
        assertThat(file.path("bytes").asInt()).isEqualTo(content.length);
        assertThat(file.path("filename").asText()).isEqualTo("data.bin");
        assertThat(file.path("purpose").asText()).isEqualTo("user_data");
        assertThat(file.path("status").asText()).isEqualTo("processed");
        assertThat(fake.requests().get(0).bodyBytes()).isEqualTo(body);
        assertThat(Http.json(http.get("/files/" + id, KEY))).isEqualTo(file);
        assertThat(Http.getBytes(fake.baseUrl() + "/files/" + id + "/content", "Authorization", "Bearer " + KEY).body())
                .isEqualTo(content);
        assertThat(Http.json(http.get("/files", KEY)).path("data")).hasSize(1);
        assertThat(Http.json(http.get("/files", OTHER)).path("data")).isEmpty();
        HttpResponse<String> other = http.get("/files/" + id, OTHER);
        assertThat(other.statusCode()).isEqualTo(404);
        assertThat(Http.json(other).path("error").path("message").asText()).isEqualTo("No such File object: " + id);
        assertThat(Http.json(other).path("error").path("param").asText()).isEqualTo("id");
    }

    @Test
    void files_withoutPurpose_areRefused() {
        HttpResponse<String> refused = Http.send("POST", fake.baseUrl() + "/files",
                HttpRequest.BodyPublishers.ofString("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nx\r\n--b--\r\n"),
                "Authorization", "Bearer " + KEY, "Content-Type", "multipart/form-data; boundary=b");

        assertThat(refused.statusCode()).isEqualTo(400);
        assertThat(Http.json(refused).path("error").path("message").asText()).isEqualTo("Missing required parameter: 'purpose'.");
    }

    private static byte[] multipart(String boundary, byte[] content) {
        String head = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nuser_data\r\n"
                + "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"data.bin\"\r\n"
                + "Content-Type: application/octet-stream\r\n\r\n";
        String tail = "\r\n--" + boundary + "--\r\n";
        ByteBuffer buffer = ByteBuffer.allocate(head.length() + content.length + tail.length());
        buffer.put(head.getBytes(StandardCharsets.ISO_8859_1)).put(content).put(tail.getBytes(StandardCharsets.ISO_8859_1));
        return buffer.array();
    }
}
