package dev.keypool.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keypool.config.Provider;
import dev.keypool.config.SelectionStrategy;
import dev.keypool.config.WindowLimits;
import dev.keypool.providers.fake.FakeGemini;
import dev.keypool.providers.fake.RecordedResponse;
import dev.keypool.testing.CloseAfterEach;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Regression: a {@code generateContent} naming a cached content that no key holds (it expired, as
 * caches do after an hour, or was never made through the gateway) got Google's
 * {@code 403 PERMISSION_DENIED "CachedContent not found (or permission denied)"} from every key,
 * and the gateway read each 403 as an invalid key: one caller's stale cache name deactivated every
 * Gemini key in the pool until an admin reset. The 403 is about the request's object, not the key:
 * it goes back to the caller as Google sent it and the keys are left alone.
 */
class UnknownCachedContentDeactivatedEveryKeyTest {

    static final List<String> KEYS = List.of("AIza-unknown-cache-test-key-0000", "AIza-unknown-cache-test-key-1111");

    @RegisterExtension
    final CloseAfterEach closing = new CloseAfterEach();
    private final FakeGemini gemini = closing.add(FakeGemini.start());
    private final TestGateway server = closing.add(TestGateway.start(TestGateway.geminiOnly(gemini)
            .addKey(Provider.GEMINI, KEYS.get(0), "gemini-2.5-flash", WindowLimits.of(100_000, 1_000_000))
            .addKey(Provider.GEMINI, KEYS.get(1), "gemini-2.5-flash", WindowLimits.of(100_000, 1_000_000))
            .selectionStrategy(SelectionStrategy.FILL_FIRST)
            .build()));

    @Test
    void generateContent_namingACachedContentNoKeyHolds_isGooglesRefusalAndNoKeyIsDeactivated() {
        String body = "{\"cachedContent\": \"cachedContents/expired0123456789abcdef\", \"contents\": [{\"role\":"
                + " \"user\", \"parts\": [{\"text\": \"Summarise the manual\"}]}]}";

        HttpResponse<byte[]> response = Fidelity.post(server.url("/v1beta/models/gemini-2.5-flash:generateContent"),
                body, "Content-Type", "application/json");

        assertThat(gemini.requests()).as("one refusal is the answer: no other key is spent on it").hasSize(1);
        RecordedResponse sent = gemini.responseTo(gemini.requests().get(0));
        assertThat(sent.status()).isEqualTo(403);
        assertThat(sent.bodyText()).contains("CachedContent not found (or permission denied)");
        Fidelity.assertReturned(response, sent);
        for (int index = 0; index < KEYS.size(); index++) {
            assertThat(server.keyStatus("gemini", index).get("status").asText()).isEqualTo("active");
        }
        assertThat(server.keyStatus("gemini", 0).get("tokens_used_day").asLong()).isZero();
        assertThat(server.gateway.manager().store().pendingCount()).isZero();
    }
}
