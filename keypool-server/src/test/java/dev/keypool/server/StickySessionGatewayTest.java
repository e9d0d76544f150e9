package dev.keypool.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.keypool.config.Provider;
import dev.keypool.config.SelectionStrategy;
import dev.keypool.config.WindowLimits;
import dev.keypool.providers.fake.FakeOpenAi;
import dev.keypool.providers.fake.Gate;
import dev.keypool.testing.CloseAfterEach;
import dev.keypool.testing.ManualClock;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Issue 14 through the gateway: a request that names a session ({@code prompt_cache_key} or
 * {@code user} in the body, or an {@code x-keypool-session} header) goes to the key that served the
 * session last while that key can take it, so the provider's prompt cache stays warm; when the key
 * is full the request goes elsewhere and the session follows. Keys rotate round-robin, so without a
 * session consecutive requests would alternate. The fake provider's log says which key it saw.
 */
class StickySessionGatewayTest {

    private static final List<String> KEYS = List.of("sk-proj-TEST.TEST-sticky-aaaaaaaa-key0",
            "sk-proj-TEST.TEST-sticky-bbbbbbbb-key1");

    @RegisterExtension
    final CloseAfterEach closing = new CloseAfterEach();
    private final FakeOpenAi openAi = closing.add(FakeOpenAi.start());
    private final TestGateway server = closing.add(TestGateway.start(TestGateway.openAiOnly(openAi)
            .selectionStrategy(SelectionStrategy.ROUND_ROBIN)
            .addKey(Provider.OPENAI, KEYS.get(0), "gpt-4o", WindowLimits.NONE, 1, 1)
            .addKey(Provider.OPENAI, KEYS.get(1), "gpt-4o", WindowLimits.NONE, 1, 1)
            .build(), ManualClock.atNoonish()));

    private static String chat(String extra) {
        return "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":16"
                + extra + "}";
    }

    private HttpRequest.Builder post(String path, String body) {
        return HttpRequest.newBuilder(URI.create(server.url(path)))
                .header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.ofString(body));
    }

    /** The key the fake provider saw on each request to {@code path}, in order: 0 or 1. */
    private List<Integer> keysSeen(String path) {
        return openAi.requests(path).stream().map(request -> KEYS.indexOf(request.key())).toList();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "chat prompt_cache_key | /v1/chat/completions | ,\"prompt_cache_key\":\"conversation-42\" |",
            "chat user             | /v1/chat/completions | ,\"user\":\"user-7\"                      |",
            "header                | /v1/chat/completions |                                         | conversation-42",
            "responses key         | /v1/responses        | ,\"prompt_cache_key\":\"conversation-42\" |",
    })
    void twoRequestsOfOneSession_goToTheSameKey_whereRoundRobinWouldAlternate(String name, String path,
            String sessionField, String header) {
        String field = sessionField == null ? "" : sessionField;
        String body = path.equals("/v1/responses")
                ? "{\"model\":\"gpt-4o\",\"input\":\"hi\",\"store\":false" + field + "}" : chat(field);
        for (int i = 0; i < 2; i++) {
            HttpRequest.Builder request = post(path, body);
            if (header != null) {
                request.header("x-keypool-session", header);
            }
            assertThat(server.send(request).statusCode()).isEqualTo(200);
        }
        assertThat(server.send(post(path, path.equals("/v1/responses")
                ? "{\"model\":\"gpt-4o\",\"input\":\"hi\",\"store\":false}" : chat(""))).statusCode()).isEqualTo(200);

        List<Integer> keys = keysSeen(path);
        assertThat(keys).hasSize(3);
        assertThat(keys.get(1)).as("the session's second request, on its first one's key").isEqualTo(keys.get(0));
        assertThat(keys.get(2)).as("a request without a session rotates on").isNotEqualTo(keys.get(0));
        assertThat(openAi.requests(path).get(0).bodyBytes()).as("passed through unchanged")
                .isEqualTo(body.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        assertThat(openAi.requests(path).get(0).header("x-keypool-session")).as("keypool's own header stays here")
                .isNull();
    }

    @Test
    void aSessionWhoseKeyIsFull_goesToAnother_andThenStaysWhereItMoved() throws Exception {
        String body = chat(",\"prompt_cache_key\":\"conversation-9\"");
        assertThat(server.send(post("/v1/chat/completions", body)).statusCode()).isEqualTo(200);
        int first = keysSeen("/v1/chat/completions").get(0);
        Gate gate = new Gate();
        openAi.enqueue(KEYS.get(first), exchange -> {
            exchange.await(gate);
            FakeOpenAi.completion("held", 5, 1).send(exchange);
        });
        CompletableFuture<HttpResponse<String>> held = server.http.sendAsync(post("/v1/chat/completions", body).build(),
                HttpResponse.BodyHandlers.ofString());
        await().atMost(Duration.ofSeconds(15)).until(() -> openAi.requests("/v1/chat/completions").size() == 2);
        try {

            assertThat(server.send(post("/v1/chat/completions", body)).statusCode()).isEqualTo(200);
        } finally {
            gate.open();
        }
        assertThat(held.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        assertThat(server.send(post("/v1/chat/completions", body)).statusCode()).isEqualTo(200);

        List<Integer> keys = keysSeen("/v1/chat/completions");
        int other = 1 - first;
        assertThat(keys).as("first, held on its key, moved while that key was full, stayed where it moved")
                .containsExactly(first, first, other, other);
    }
}
