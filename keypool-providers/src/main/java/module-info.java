/**
 * The providers' protocols and the relay that carries them to a pooled key. The API is the
 * library's services ({@code dev.keypool.providers}: {@code LlmService}, {@code SearchService},
 * {@code Relay}) and the relay's SPI ({@code dev.keypool.providers.relay}), which the framework
 * adapters build on. The provider packages are exported for the gateway, which serves their native
 * endpoints. {@code dev.keypool.providers.internal} is not exported: it is the codecs and the HTTP
 * plumbing, public only so that keypool's own gateway, which runs on the class path, can share them.
 */
module keypool.providers {
    requires transitive keypool.core;
    requires transitive com.fasterxml.jackson.databind;
    requires com.fasterxml.jackson.core;
    requires io.helidon.http;
    requires io.helidon.webclient.api;
    requires io.helidon.webclient.http1;
    requires jtokkit;
    requires org.slf4j;

    exports dev.keypool.providers;
    exports dev.keypool.providers.relay;
    exports dev.keypool.providers.openai;
    exports dev.keypool.providers.gemini;
    exports dev.keypool.providers.ollama;
    exports dev.keypool.providers.serpapi;
}
