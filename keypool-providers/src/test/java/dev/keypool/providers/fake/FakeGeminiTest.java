package dev.keypool.providers.fake;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.providers.internal.Json;
import dev.keypool.testing.CloseAfterEach;
import dev.keypool.testing.ManualClock;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** FakeGemini answers each endpoint of Gemini's native API as Google documents it, and keeps caches per key. */
class FakeGeminiTest {

    private static final String KEY = "AIza-test-key-a-00000";
    private static final String OTHER = "AIza-test-key-b-00000";
    private static final String HI = "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"What is the weather in Paris?\"}]}]}";
    private static final String BIG = "x ".repeat(2100);

    private final ManualClock clock = ManualClock.atNoonish();
    @RegisterExtension
    final CloseAfterEach closing = new CloseAfterEach();
    private final FakeGemini fake = closing.add(FakeGemini.start());
    private final Http.Keyed http = Http.Keyed.googApiKey(fake, KEY);

    FakeGeminiTest() {
        fake.setClock(clock);
    }

    @Test
    void generateContent_answersWithTheFullUsageMetadata_underV1betaAndV1_withGooglesHeaders() {
        fake.enqueue(FakeGemini.generated("Sunny", 8, 1, 27));

        HttpResponse<String> beta = http.post("/v1beta/models/gemini-2.5-flash:generateContent", HI);
        HttpResponse<String> v1 = http.post("/v1/models/gemini-2.5-flash:generateContent", HI);

        JsonNode body = Http.json(beta);
        JsonNode usage = body.path("usageMetadata");
        assertThat(usage.path("promptTokenCount").asInt()).isEqualTo(8);
        assertThat(usage.path("candidatesTokenCount").asInt()).isEqualTo(1);
        assertThat(usage.path("thoughtsTokenCount").asInt()).isEqualTo(27);
        assertThat(usage.path("totalTokenCount").asInt()).isEqualTo(36);
        assertThat(usage.path("promptTokensDetails").get(0).path("modality").asText()).isEqualTo("TEXT");
        assertThat(body.path("modelVersion").asText()).isEqualTo("gemini-2.5-flash");
        assertThat(body.path("responseId").asText()).isNotEmpty();
        assertThat(beta.headers().firstValue("content-type")).hasValue("application/json; charset=UTF-8");
        assertThat(beta.headers().allValues("vary")).containsExactly("Origin", "X-Origin", "Referer");
        assertThat(beta.headers().firstValue("server")).hasValue("scaffolding on HTTPServer2");
        assertThat(v1.statusCode()).isEqualTo(200);
    }

    @Test
    void generateContent_functionCalls_thenTheFunctionResponseTurn() {
        fake.enqueue(FakeGemini.functionCalls(new GeminiFunctionCall("get_weather", "{\"city\":\"Paris\"}"),
                new GeminiFunctionCall("get_weather", "{\"city\":\"Rome\"}")));

        JsonNode parts = Http.json(http.post("/v1beta/models/gemini-2.5-flash:generateContent", HI))
                .path("candidates").get(0).path("content").path("parts");
        String followUp = "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"Weather?\"}]},"
                + "{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"name\":\"get_weather\",\"args\":{\"city\":\"Paris\"}}},"
                + "{\"functionCall\":{\"name\":\"get_weather\",\"args\":{\"city\":\"Rome\"}}}]},"
                + "{\"role\":\"user\",\"parts\":[{\"functionResponse\":{\"name\":\"get_weather\",\"response\":{\"t\":18}}}";
        HttpResponse<String> answered = http.post("/v1beta/models/gemini-2.5-flash:generateContent", followUp
                + ",{\"functionResponse\":{\"name\":\"get_weather\",\"response\":{\"t\":21}}}]}]}");
        HttpResponse<String> oneShort = http.post("/v1beta/models/gemini-2.5-flash:generateContent", followUp + "]}]}");

        assertThat(parts).hasSize(2);
        assertThat(parts.get(0).path("functionCall").path("name").asText()).isEqualTo("get_weather");
        assertThat(parts.get(1).path("functionCall").path("args").path("city").asText()).isEqualTo("Rome");
        assertThat(parts.get(0).has("thoughtSignature")).isTrue();
        assertThat(answered.statusCode()).as(answered.body()).isEqualTo(200);
        assertThat(oneShort.statusCode()).isEqualTo(400);
        assertThat(Http.json(oneShort).path("error").path("message").asText()).isEqualTo("Please ensure that the number of"
                + " function response parts is equal to the number of function call parts of the function call turn.");
    }

    @Test
    void generateContent_onGemini3_refusesACallOfTheCurrentTurnWithoutItsThoughtSignature() {
        String call = "{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"name\":\"get_weather\",\"args\":{}}%s}]}";
        String turn = "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"Weather?\"}]},%s,"
                + "{\"role\":\"user\",\"parts\":[{\"functionResponse\":{\"name\":\"get_weather\",\"response\":{}}}]}]}";
        String unsigned = turn.formatted(call.formatted(""));
        String signed = turn.formatted(call.formatted(",\"thoughtSignature\":\"CiQB0e2Kb0\""));

        HttpResponse<String> refused = http.post("/v1beta/models/gemini-3-flash-preview:generateContent", unsigned);
        HttpResponse<String> accepted = http.post("/v1beta/models/gemini-3-flash-preview:generateContent", signed);
        HttpResponse<String> olderModel = http.post("/v1beta/models/gemini-2.5-flash:generateContent", unsigned);

        assertThat(refused.statusCode()).isEqualTo(400);
        assertThat(Http.json(refused).at("/error/message").asText()).startsWith("Function call is missing a"
                + " thought_signature in functionCall parts.").contains("`default_api:get_weather` , position 1");
        assertThat(accepted.statusCode()).isEqualTo(200);
        assertThat(olderModel.statusCode()).isEqualTo(200);
    }

    @Test
    void generateContent_inlineDataThatIsNotBase64_isABadBytesValue() {
        HttpResponse<String> response = http.post("/v1beta/models/gemini-2.5-flash:generateContent", "{\"contents\":[{\"role\":"
                + "\"user\",\"parts\":[{\"text\":\"What is it?\"},{\"inlineData\":{\"mimeType\":\"image/png\","
                + "\"data\":\"data:image/png;base64,AAAA\"}}]}]}");

        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(Http.json(response).at("/error/message").asText()).isEqualTo("Invalid value at"
                + " 'contents[0].parts[1].inline_data.data' (TYPE_BYTES), Base64 decoding failed for"
                + " \"data:image/png;base64,AAAA\"");
    }

    @Test
    void responseLogprobs_giveEachCandidateItsChosenAndTopTokens_wholeAndPerChunk() {
        fake.enqueue(FakeGemini.answer("Sunny and warm"), FakeGemini.answer("Sunny and warm"));
        String ask = "{\"contents\":[{\"parts\":[{\"text\":\"hi\"}]}],\"generationConfig\":{\"responseLogprobs\":true,"
                + "\"logprobs\":2}}";

        JsonNode candidate = Http.json(http.post("/v1beta/models/gemini-2.5-flash:generateContent", ask)).path("candidates").get(0);
        String[] events = http.post("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", ask).body().split("\r\n\r\n");

        JsonNode result = candidate.path("logprobsResult");
        assertThat(result.path("chosenCandidates")).extracting(token -> token.path("token").asText())
                .containsExactly("Sunny", " and", " warm");
        assertThat(result.path("chosenCandidates").get(2).path("logProbability").asDouble()).isEqualTo(-0.375);
        assertThat(result.path("topCandidates").get(0).path("candidates")).extracting(token -> token.path("token").asText())
                .containsExactly("Sunny", "Sunny~1");
        assertThat(candidate.path("avgLogprobs").asDouble()).isEqualTo(-0.25);
        JsonNode second = Json.parseOrMissing(events[1].substring("data: ".length())).path("candidates").get(0);
        assertThat(second.path("logprobsResult").path("chosenCandidates")).extracting(token -> token.path("token").asText())
                .containsExactly(" and");
    }

    @Test
    void generateContent_refusesAnUnknownRole_asGoogleDoes() {
        HttpResponse<String> response = http.post("/v1beta/models/gemini-2.5-flash:generateContent",
                "{\"contents\":[{\"role\":\"assistant\",\"parts\":[{\"text\":\"hi\"}]}]}");

        assertThat(response.statusCode()).isEqualTo(400);
        JsonNode error = Http.json(response).path("error");
        assertThat(error.path("message").asText()).isEqualTo("Please use a valid role: user, model.");
        assertThat(error.path("status").asText()).isEqualTo("INVALID_ARGUMENT");
    }

    @Test
    void candidateCount_givesThatManyCandidates_billingThemAll() {
        fake.enqueue(FakeGemini.answer("Sunny and warm").withFinishReason("MAX_TOKENS"));

        JsonNode body = Http.json(http.post("/v1beta/models/gemini-2.5-flash:generateContent",
                "{\"contents\":[{\"parts\":[{\"text\":\"hi\"}]}],\"generationConfig\":{\"candidateCount\":2}}"));

        assertThat(body.path("candidates")).extracting(candidate -> candidate.path("index").asInt()).containsExactly(0, 1);
        assertThat(body.path("candidates")).allMatch(candidate -> candidate.path("finishReason").asText().equals("MAX_TOKENS"));
        assertThat(body.path("usageMetadata").path("candidatesTokenCount").asInt()).isEqualTo(6);
    }

    @Test
    void streamWithoutAltSse_isOneJsonArray_writtenElementByElement() {
        HttpResponse<String> response = http.post("/v1beta/models/gemini-2.5-flash:streamGenerateContent", HI);

        JsonNode array = Http.json(response);
        assertThat(array.isArray()).isTrue();
        assertThat(array).hasSize(4);
        assertThat(array.get(3).path("candidates").get(0).path("finishReason").asText()).isEqualTo("STOP");
        assertThat(fake.lastResponse().chunks()).hasSize(5);
        assertThat(new String(fake.lastResponse().chunks().get(1))).startsWith(",\r\n{");
        assertThat(response.headers().firstValue("content-type")).hasValue("application/json; charset=UTF-8");
    }

    @Test
    void streamWithAltSse_framesEachCumulativeChunkWithCrlf() {
        HttpResponse<String> response = http.post("/v1/models/gemini-2.5-flash:streamGenerateContent?alt=sse", HI);

        String[] events = response.body().split("\r\n\r\n");
        assertThat(events).hasSize(4).allMatch(event -> event.startsWith("data: {"));
        int previous = 0;
        for (String event : events) {
            int candidates = Json.parseOrMissing(event.substring(6)).path("usageMetadata").path("candidatesTokenCount").asInt();
            assertThat(candidates).isGreaterThanOrEqualTo(previous);
            previous = candidates;
        }
        assertThat(previous).isEqualTo(5);
    }

    @Test
    void embedContent_batchEmbedContents_andCountTokens() {
        JsonNode one = Http.json(http.post("/v1beta/models/gemini-embedding-001:embedContent",
                "{\"content\":{\"parts\":[{\"text\":\"hello\"}]},\"outputDimensionality\":8}"));
        JsonNode batch = Http.json(http.post("/v1beta/models/gemini-embedding-001:batchEmbedContents",
                "{\"requests\":[{\"model\":\"models/gemini-embedding-001\",\"content\":{\"parts\":[{\"text\":\"a\"}]}},"
                        + "{\"model\":\"models/gemini-embedding-001\",\"content\":{\"parts\":[{\"text\":\"b\"}]}}]}"));
        JsonNode count = Http.json(http.post("/v1beta/models/gemini-2.5-flash:countTokens", HI));

        assertThat(one.path("embedding").path("values")).hasSize(8);
        assertThat(batch.path("embeddings")).hasSize(2);
        assertThat(batch.path("embeddings").get(0).path("values")).hasSize(3072);
        assertThat(count.path("totalTokens").asInt()).isEqualTo(8);
        assertThat(count.path("promptTokensDetails").get(0).path("tokenCount").asInt()).isEqualTo(8);
    }

    @Test
    void models_listAndGet_asGoogleAnswersThem() {
        JsonNode list = Http.json(http.get("/v1beta/models", KEY));
        JsonNode flash = Http.json(http.get("/v1beta/models/gemini-2.5-flash", KEY));
        HttpResponse<String> missing = http.get("/v1beta/models/gemini-9", KEY);

        assertThat(list.path("models").get(0).path("name").asText()).isEqualTo("models/gemini-2.5-flash");
        assertThat(flash.path("supportedGenerationMethods")).extracting(JsonNode::asText).contains("generateContent");
        assertThat(flash.path("inputTokenLimit").asInt()).isEqualTo(1048576);
        assertThat(flash.path("thinking").asBoolean()).isTrue();
        assertThat(missing.statusCode()).isEqualTo(404);
        assertThat(Http.json(missing).path("error").path("status").asText()).isEqualTo("NOT_FOUND");
    }

    @Test
    void cachedContent_belongsToTheKeyThatCreatedIt_untilItExpires() {
        HttpResponse<String> small = http.post("/v1beta/cachedContents", "{\"model\":\"models/gemini-2.5-flash\","
                + "\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"short\"}]}]}");
        JsonNode cache = Http.json(http.post("/v1beta/cachedContents", "{\"model\":\"models/gemini-2.5-flash\",\"ttl\":\"300s\","
                + "\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"" + BIG + "\"}]}]}"));
        String name = cache.path("name").asText();
        String usesIt = "{\"cachedContent\":\"" + name + "\",\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"Summarise\"}]}]}";

        JsonNode used = Http.json(http.post("/v1beta/models/gemini-2.5-flash:generateContent", usesIt));
        HttpResponse<String> otherUse = http.post("/v1beta/models/gemini-2.5-flash:generateContent", usesIt, OTHER);
        HttpResponse<String> otherGet = http.get("/v1beta/" + name, OTHER);
        HttpResponse<String> withTools = http.post("/v1beta/models/gemini-2.5-flash:generateContent",
                usesIt.replace("{\"cachedContent\"", "{\"tools\":[],\"cachedContent\""));

        assertThat(small.statusCode()).isEqualTo(400);
        assertThat(Http.json(small).path("error").path("message").asText()).startsWith("Cached content is too small.");
        assertThat(name).startsWith("cachedContents/");
        assertThat(cache.path("model").asText()).isEqualTo("models/gemini-2.5-flash");
        assertThat(cache.path("expireTime").asText()).isEqualTo("2026-01-15T10:05:00Z");
        int cachedTokens = cache.path("usageMetadata").path("totalTokenCount").asInt();
        assertThat(used.path("usageMetadata").path("cachedContentTokenCount").asInt()).isEqualTo(cachedTokens);
        assertThat(used.path("usageMetadata").path("promptTokenCount").asInt()).isEqualTo(8 + cachedTokens);
        assertThat(used.path("usageMetadata").path("cacheTokensDetails").get(0).path("tokenCount").asInt()).isEqualTo(cachedTokens);
        assertThat(otherUse.statusCode()).isEqualTo(403);
        assertThat(Http.json(otherUse).path("error").path("message").asText()).isEqualTo("CachedContent not found (or permission denied)");
        assertThat(Http.json(otherUse).path("error").path("status").asText()).isEqualTo("PERMISSION_DENIED");
        assertThat(otherGet.statusCode()).isEqualTo(403);
        assertThat(Http.json(http.get("/v1beta/" + name, KEY))).isEqualTo(cache);
        assertThat(withTools.statusCode()).isEqualTo(400);
        assertThat(fake.ownerOfCache(name)).isEqualTo(KEY);

        clock.advance(Duration.ofMinutes(5));

        assertThat(http.post("/v1beta/models/gemini-2.5-flash:generateContent", usesIt).statusCode()).isEqualTo(403);
        assertThat(Http.json(http.get("/v1beta/cachedContents", KEY)).has("cachedContents")).isFalse();
    }

    @Test
    void cachedContent_deleteForgetsIt_forItsKeyOnly() {
        String name = Http.json(http.post("/v1beta/cachedContents", "{\"model\":\"models/gemini-2.5-flash\","
                + "\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"" + BIG + "\"}]}]}")).path("name").asText();

        assertThat(Http.delete(fake.baseUrl() + "/v1beta/" + name, "x-goog-api-key", OTHER).statusCode()).isEqualTo(403);
        assertThat(Http.json(http.get("/v1beta/cachedContents", KEY)).path("cachedContents")).hasSize(1);
        assertThat(Http.delete(fake.baseUrl() + "/v1beta/" + name, "x-goog-api-key", KEY).body()).isEqualTo("{}\n");
        assertThat(http.get("/v1beta/" + name, KEY).statusCode()).isEqualTo(403);
    }
}
