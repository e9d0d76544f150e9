package dev.keypool.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.config.SelectionStrategy;
import dev.keypool.config.WindowLimits;
import dev.keypool.providers.fake.FakeGemini;
import dev.keypool.providers.fake.FakeOpenAi;
import dev.keypool.providers.fake.FakeSerpApi;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Keys never leak: after traffic that succeeds, streams, fails over on an upstream error that
 * echoes the full key, searches and is refused, no response body or header, no event on the live
 * feed, no metric and no log line holds a full key.
 */
class KeyLeakTest {

    static final List<String> OPENAI_KEYS = List.of("sk-proj-TEST.leaktest-QWERTYUIOPASDF-0000",
            "sk-proj-TEST.leaktest-ZXCVBNMLKJHGFD-1111");
    static final String GEMINI_KEY = "AIzaSyLeakTest-POIUYTREWQLKJH-2222";
    static final List<String> SERP_KEYS = List.of("serp-leaktest-MNBVCXZASDFG-3333", "serp-leaktest-LKJHGFDSAPOI-4444");

    @Test
    void noFullKeyInResponsesHeadersEventsMetricsOrLogs() throws Exception {
        List<String> seen = new ArrayList<>();
        try (LogCapture logs = new LogCapture();
                FakeOpenAi openAi = FakeOpenAi.start();
                FakeGemini gemini = FakeGemini.start();
                FakeSerpApi serp = FakeSerpApi.start()) {
            KeypoolConfig config = KeypoolConfig.builder()
                    .addKey(Provider.OPENAI, OPENAI_KEYS.get(0), "gpt-4o", WindowLimits.of(100_000, 1_000_000))
                    .addKey(Provider.OPENAI, OPENAI_KEYS.get(1), "gpt-4o", WindowLimits.of(100_000, 1_000_000))
                    .addKey(Provider.GEMINI, GEMINI_KEY, "gemini-2.5-flash", WindowLimits.of(100_000, 1_000_000))
                    .addKey(Provider.SERP, SERP_KEYS.get(0), null, WindowLimits.of(100, 1000))
                    .addKey(Provider.SERP, SERP_KEYS.get(1), null, WindowLimits.of(100, 1000))
                    .baseUrl(Provider.OPENAI, openAi.baseUrl())
                    .baseUrl(Provider.GEMINI, gemini.baseUrl())
                    .baseUrl(Provider.SERP, serp.baseUrl())
                    .baseUrl(Provider.OLLAMA, "http://127.0.0.1:9")
                    .providerPriority(List.of(Provider.GEMINI, Provider.OPENAI))
                    .selectionStrategy(SelectionStrategy.FILL_FIRST)
                    .build();
            try (TestGateway server = TestGateway.start(config);
                    SseClient feed = new SseClient(server.url("/api/admin/events"), "Bearer " + TestGateway.ADMIN_TOKEN)) {
                OpenAIClient client = OpenAIOkHttpClient.builder().baseUrl(server.url("/v1")).apiKey("caller").build();
                feed.await("status");

                openAi.enqueue(OPENAI_KEYS.get(0), FakeOpenAi.invalidApiKeyEchoingFullKey());
                ChatCompletionCreateParams params = ChatCompletionCreateParams.builder().model("gpt-4o")
                        .addUserMessage("Say this is a test!").maxCompletionTokens(32).build();
                seen.add(client.chat().completions().withRawResponse().create(params).headers().asMap().toString());
                seen.add(String.valueOf(client.chat().completions().create(params)));
                try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(
                        params.toBuilder().streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build())
                                .build())) {
                    stream.stream().forEach(chunk -> seen.add(chunk.toString()));
                }
                gemini.enqueue(GEMINI_KEY, FakeGemini.apiKeyInvalid());
                seen.add(record(server.send(chat(server, "auto"))));
                seen.add(record(server.send(chat(server, "gemini-2.5-flash"))));
                serp.enqueue(SERP_KEYS.get(0), FakeSerpApi.invalidKey());
                seen.add(record(server.get("/search.json?engine=google&q=leaks")));
                seen.add(record(server.get("/search?engine=google&q=leaks&api_key=" + "caller")));
                seen.add(record(server.get("/v1/models")));
                seen.add(record(server.adminGet("/api/admin/api-key-status/")));
                seen.add(record(server.adminGet("/api/admin/api-key-usage-report/")));
                seen.add(record(server.adminGet("/api/admin/info")));
                seen.add(record(server.adminPost("/api/admin/keys/openai/1/deactivate", "{\"reason\":\"leak test\"}")));
                seen.add(record(server.send(chat(server, "gpt-4o"))));
                seen.add(record(server.adminPost("/api/admin/api-key-reset/", null)));
                seen.add(record(server.get("/metrics")));
                seen.add(record(server.get("/health")));
                seen.add(record(server.get("/")));
                feed.await(event -> event.name().equals("key_reactivated"));
                feed.await(event -> event.name().equals("status") && !event.data().contains("\"deactivated\""));
                seen.add(feed.rawText());

                assertThat(feed.rawText()).contains("key_failed").contains("invalid_key");
                assertThat(openAi.keys()).contains(OPENAI_KEYS.get(0));
                client.close();
            }
            String logText = logs.text();
            assertThat(logText).contains("invalid_key");
            seen.add(logText);
        }

        List<String> allKeys = new ArrayList<>(OPENAI_KEYS);
        allKeys.add(GEMINI_KEY);
        allKeys.addAll(SERP_KEYS);
        String everything = String.join("\n", seen);
        for (String key : allKeys) {
            assertThat(everything).as("everything the gateway said and logged").doesNotContain(key);
        }
    }

    private static HttpRequest.Builder chat(TestGateway server, String model) {
        return HttpRequest.newBuilder(URI.create(server.url("/v1/chat/completions")))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\": \"" + model
                        + "\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}"));
    }

    private static String record(HttpResponse<String> response) {
        return response.statusCode() + " " + response.headers().map() + "\n" + response.body();
    }
}
