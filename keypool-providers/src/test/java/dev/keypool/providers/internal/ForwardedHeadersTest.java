package dev.keypool.providers.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keypool.providers.relay.Header;
import java.util.List;
import org.junit.jupiter.api.Test;

class ForwardedHeadersTest {

    @Test
    void upstream_dropsCredentialsAccountsCookiesHopByHopAndKeypoolsOwn_inAnyCase_keepingTheRestInOrder() {
        List<Header> caller = List.of(
                new Header("content-type", "application/json"),
                new Header("AUTHORIZATION", "Bearer sk-caller"),
                new Header("api-key", "azure-caller"),
                new Header("X-Api-Key", "x"),
                new Header("x-goog-api-key", "AIza-caller"),
                new Header("OpenAI-Organization", "org-caller"),
                new Header("openai-project", "proj-caller"),
                new Header("Cookie", "a=b"),
                new Header("Accept-Encoding", "gzip, br"),
                new Header("Connection", "keep-alive"),
                new Header("Keep-Alive", "timeout=5"),
                new Header("Transfer-Encoding", "chunked"),
                new Header("Content-Length", "12"),
                new Header("Host", "gateway"),
                new Header("Expect", "100-continue"),
                new Header("TE", "trailers"),
                new Header("Upgrade", "h2c"),
                new Header("X-Keypool-Provider", "openai"),
                new Header("OpenAI-Beta", "assistants=v2"),
                new Header("x-stainless-retry-count", "0"),
                new Header("Idempotency-Key", "abc"),
                new Header("User-Agent", "OpenAI/Java 4.105.0"));

        assertThat(ForwardedHeaders.upstream(caller)).extracting(Header::name).containsExactly(
                "content-type", "OpenAI-Beta", "x-stainless-retry-count", "Idempotency-Key", "User-Agent");
    }

    @Test
    void downstream_passesTheProvidersUsefulHeaders_butNotItsCookiesIdentityOrAccount() {
        for (String passed : List.of("x-request-id", "openai-processing-ms", "x-ratelimit-remaining-tokens",
                "Content-Type", "openai-version", "retry-after", "Cache-Control")) {
            assertThat(ForwardedHeaders.downstream(passed)).as(passed).isTrue();
        }
        for (String kept : List.of("Set-Cookie", "Date", "server", "Alt-Svc", "openai-organization", "OpenAI-Project",
                "Transfer-Encoding", "Content-Length", "Connection", "x-keypool-key")) {
            assertThat(ForwardedHeaders.downstream(kept)).as(kept).isFalse();
        }
    }
}
