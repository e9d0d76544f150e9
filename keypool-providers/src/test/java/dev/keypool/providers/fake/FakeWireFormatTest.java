package dev.keypool.providers.fake;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The fakes put on the wire what the providers put there: framing, layout, headers, refusals. */
class FakeWireFormatTest {

    @Test
    void openAi_streamsDataLinesWithAUsageChunkOnlyWhenAsked_thenDone() {
        try (FakeOpenAi fake = FakeOpenAi.start()) {
            String request = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":true";
            fake.enqueue(FakeOpenAi.streamed(List.of("This is", " a test!"), 13, 5));
            fake.enqueue(FakeOpenAi.streamed(List.of("This is", " a test!"), 13, 5));

            HttpResponse<String> withUsage = Http.post(fake.baseUrl() + "/chat/completions",
                    request + ",\"stream_options\":{\"include_usage\":true}}", "Authorization", "Bearer sk-test-000000000000");
            HttpResponse<String> without = Http.post(fake.baseUrl() + "/chat/completions", request + "}",
                    "Authorization", "Bearer sk-test-000000000000");

            assertThat(withUsage.headers().firstValue("content-type")).hasValue("text/event-stream; charset=utf-8");
            assertThat(withUsage.headers().firstValue("x-ratelimit-remaining-tokens")).isPresent();
            String[] events = withUsage.body().split("\n\n");
            assertThat(events).allMatch(event -> event.startsWith("data: "));
            assertThat(events[0]).contains("\"delta\":{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null}");
            assertThat(events[events.length - 2]).contains("\"choices\":[]")
                    .contains("\"usage\":{\"prompt_tokens\":13,\"completion_tokens\":5,\"total_tokens\":18");
            assertThat(events[events.length - 1]).isEqualTo("data: [DONE]");
            assertThat(withUsage.body()).endsWith("data: [DONE]\n\n");
            assertThat(without.body()).doesNotContain("\"usage\"");
        }
    }

    @Test
    void openAi_errorsArePrettyPrintedWithFourSpaces_andAMissingKeyIsRefused() {
        try (FakeOpenAi fake = FakeOpenAi.start()) {
            HttpResponse<String> noKey = Http.post(fake.baseUrl() + "/chat/completions",
                    "{\"model\":\"gpt-4o\",\"messages\":[]}");

            assertThat(noKey.statusCode()).isEqualTo(401);
            assertThat(noKey.body()).startsWith("{\n    \"error\": {\n        \"message\": \"You didn't provide an API key.")
                    .contains("\n        \"param\": null,\n        \"code\": null\n    }\n}\n");
            assertThat(noKey.headers().firstValue("content-type")).hasValue("application/json; charset=utf-8");

            HttpResponse<String> wrongPath = Http.post(fake.root() + "/v1/chat/completion", "{}",
                    "Authorization", "Bearer sk-test-000000000000");
            assertThat(wrongPath.statusCode()).isEqualTo(404);
            assertThat(wrongPath.body()).contains("Invalid URL (POST /v1/chat/completion)");
        }
    }

    @Test
    void gemini_framesEventsWithCrlf_withoutDone_andLaysJsonOutLikeGoogle() {
        try (FakeGemini fake = FakeGemini.start()) {
            HttpResponse<String> stream = Http.post(fake.baseUrl() + "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
                    "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}]}", "x-goog-api-key", "AIza-test-00000");

            assertThat(stream.headers().firstValue("content-type")).hasValue("text/event-stream");
            assertThat(stream.body()).startsWith("data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"This\"}],\"role\": \"model\"}")
                    .endsWith("\r\n\r\n").doesNotContain("[DONE]");
            String[] events = stream.body().split("\r\n\r\n");
            assertThat(events).hasSize(4);
            assertThat(events[3]).contains("\"finishReason\": \"STOP\"");

            HttpResponse<String> noKey = Http.post(fake.baseUrl() + "/v1beta/models/gemini-2.5-flash:generateContent",
                    "{\"contents\":[]}");
            assertThat(noKey.statusCode()).isEqualTo(403);
            assertThat(noKey.body()).startsWith("{\n  \"error\": {\n    \"code\": 403,\n    \"message\": \"Method doesn't allow unregistered callers");
        }
    }

    @Test
    void gemini_acceptsTheKeyAsAQueryParameterToo() {
        try (FakeGemini fake = FakeGemini.start()) {
            Http.post(fake.baseUrl() + "/v1beta/models/gemini-2.5-flash:generateContent?key=AIza-query-0000",
                    "{\"contents\":[{\"parts\":[{\"text\":\"hi\"}]}]}");

            assertThat(fake.keys()).containsExactly("AIza-query-0000");
        }
    }

    @Test
    void ollama_streamsNdjsonByDefault_andRefusesModelsItHasNot() {
        try (FakeOllama fake = FakeOllama.start()) {
            HttpResponse<String> stream = Http.post(fake.baseUrl() + "/api/chat",
                    "{\"model\":\"llama3.2\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");

            assertThat(stream.headers().firstValue("content-type")).hasValue("application/x-ndjson");
            String[] lines = stream.body().split("\n");
            assertThat(lines).hasSize(5);
            assertThat(lines[0]).startsWith("{\"model\":\"llama3.2\",\"created_at\":").endsWith("\"done\":false}");
            assertThat(lines[4]).contains("\"done_reason\":\"stop\",\"done\":true").contains("\"prompt_eval_count\":26")
                    .contains("\"eval_count\":5");

            HttpResponse<String> missing = Http.post(fake.baseUrl() + "/api/chat", "{\"model\":\"mistral\",\"messages\":[]}");
            assertThat(missing.statusCode()).isEqualTo(404);
            assertThat(missing.body()).isEqualTo("{\"error\":\"model 'mistral' not found\"}");
            assertThat(Http.get(fake.baseUrl() + "/api/tags").body()).startsWith("{\"models\":[{\"name\":\"llama3.2:latest\"");
        }
    }

    @Test
    void serpApi_takesTheKeyFromTheQuery_andRefusesSearchesWithoutOne() {
        try (FakeSerpApi fake = FakeSerpApi.start()) {
            HttpResponse<String> noKey = Http.get(fake.baseUrl() + "/search.json?engine=google&q=coffee");
            HttpResponse<String> noQuery = Http.get(fake.baseUrl() + "/search.json?engine=google&api_key=serp-0000");
            HttpResponse<String> found = Http.get(fake.baseUrl() + "/search.json?engine=google&q=coffee&api_key=serp-0000");

            assertThat(noKey.statusCode()).isEqualTo(401);
            assertThat(noKey.body()).contains("Invalid API key. Your API key should be here: https://serpapi.com/manage-api-key");
            assertThat(noQuery.statusCode()).isEqualTo(400);
            assertThat(noQuery.body()).contains("Missing query `q` parameter.");
            assertThat(found.body()).contains("\"status\": \"Success\"").contains("\"q\": \"coffee\"").doesNotContain("serp-0000");
            assertThat(fake.keys()).containsExactly(null, "serp-0000", "serp-0000");
        }
    }
}
