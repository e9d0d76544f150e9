package dev.keypool.providers;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.config.Provider;
import dev.keypool.failure.Failure;
import dev.keypool.failure.FailureKind;
import dev.keypool.failure.UpstreamException;
import dev.keypool.providers.internal.EventFramer;
import dev.keypool.providers.internal.Json;
import dev.keypool.providers.openai.OpenAiShapes;
import dev.keypool.providers.relay.Head;
import dev.keypool.providers.relay.Inbound;
import dev.keypool.providers.relay.Outcome;
import dev.keypool.providers.relay.Served;
import dev.keypool.providers.relay.Sink;
import dev.keypool.rotation.ApiKeyRotator;
import dev.keypool.rotation.ProcessWide;
import dev.keypool.rotation.NoAvailableKeyException;
import dev.keypool.rotation.TokenUsage;
import dev.keypool.usage.InMemoryAffinityStore;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The seed's {@code llm_service}: one call for text, whichever provider and key serves it; and a
 * chat with tools, images, a response format or several choices, on OpenAI, Gemini or Ollama alike.
 *
 * <p>It speaks to the pool as the gateway does: a {@link ChatRequest} becomes an OpenAI chat
 * request, which the {@link Relay} passes to an OpenAI key as it is or translates for Gemini and
 * Ollama, failing over between keys and providers as the relay describes ({@code auto}, a named
 * model, {@code provider/model}, {@code KEYPOOL_FALLBACKS}); the OpenAI-shaped answer is read back
 * into a {@link ChatResult}. A request holding a field the serving provider cannot carry is refused
 * ({@link dev.keypool.providers.relay.RequestRefused}), never answered without it.
 *
 * <pre>{@code
 * ChatRequest ask = ChatRequest.builder().model("gemini-2.5-flash").message(ChatMessage.user("Weather in Paris?"))
 *         .tool(Tool.function("get_weather", "The weather in a city", schema)).build();
 * ChatResult call = llm.chat(ask);
 * ToolCall weather = call.toolCalls().get(0);
 * ChatResult answer = llm.chat(ask.withMessages(call.message(), ChatMessage.toolResult(weather.id(), "{\"celsius\":18}")));
 * }</pre>
 *
 * <h2>Streams</h2>
 * {@link #stream} hands each text delta of the first choice to the listener on the calling thread as
 * it arrives; tool calls and other choices are assembled into the result. A
 * listener that throws, or an interrupt, abandons the stream: the connection is closed, the
 * reservation charged on the safe side, no key blamed, and the listener's exception rethrown. A
 * stream the provider breaks off after it began is not retried elsewhere: the failure is thrown.
 *
 * <p>Thread-safe; one instance serves a whole process.
 */
public final class LlmService implements AutoCloseable {

    private final Relay relay;
    private final boolean ownsRelay;

    /**
     * A service on {@code rotator}'s pool, configured from {@code rotator.manager().config()}, with
     * its own relay and kept-alive connections to the providers ({@link #close()} closes them).
     *
     * @throws dev.keypool.config.ConfigException when one of this module's settings is invalid
     */
    public LlmService(ApiKeyRotator rotator) {
        this(Relay.create(Objects.requireNonNull(rotator, "rotator"), new InMemoryAffinityStore()), true);
    }

    /** A service on a relay another owner closes (the gateway's). */
    public LlmService(Relay relay) {
        this(relay, false);
    }

    private LlmService(Relay relay, boolean ownsRelay) {
        this.relay = Objects.requireNonNull(relay, "relay");
        this.ownsRelay = ownsRelay;
    }

    /**
     * The process-wide service, like the seed's {@code get_llm_service()}: built on first use on
     * {@link ApiKeyRotator#getApiKeyRotator()}.
     */
    public static LlmService getLlmService() {
        return ProcessWide.get(LlmService.class, LlmService::new);
    }

    /**
     * The seed's {@code generate_text}.
     *
     * @param provider {@code null} for {@code auto}, else {@code openai}, {@code gemini} or {@code ollama}
     * @param model    {@code null} for the provider's configured model
     */
    public ChatResult generateText(String prompt, String provider, String model, Double temperature, Integer maxTokens) {
        if (prompt == null) {
            throw new IllegalArgumentException("prompt must not be null");
        }
        String target;
        if (provider == null || provider.isBlank()) {
            target = model;
        } else {
            String id = Provider.of(provider).id();
            target = model == null || model.isBlank() ? id : id + "/" + model.trim();
        }
        return chat(new ChatRequest(target, List.of(ChatMessage.user(prompt)), temperature, maxTokens, Map.of()));
    }

    /**
     * Answers a chat request, failing over between keys and providers.
     *
     * @throws NoAvailableKeyException when no key or provider could serve; when some were tried
     *                                 and failed, its reason is {@code ALL_KEYS_FAILED} and its
     *                                 cause the last failure
     * @throws UpstreamException       a client error, with the provider's status and message
     * @throws UnknownModelException   when no provider serves the model
     * @throws dev.keypool.providers.relay.RequestRefused when the serving provider cannot carry a field
     */
    public ChatResult chat(ChatRequest request) {
        Objects.requireNonNull(request, "request");
        Collected answer = new Collected();
        Outcome outcome = relay.relay(Provider.OPENAI, Inbound.json("/v1/chat/completions", ChatWire.request(request, false)), answer);
        return result(Json.parseOrMissing(new String(answer.bytes(), StandardCharsets.UTF_8)), outcome, null);
    }

    /**
     * Like {@link #chat}, streaming: each text delta goes to {@code listener} as it arrives.
     *
     * @throws UpstreamException a failure after text was delivered (not retried elsewhere)
     */
    public ChatResult stream(ChatRequest request, StreamListener listener) {
        Objects.requireNonNull(request, "request");
        Objects.requireNonNull(listener, "listener");
        Streamed answer = new Streamed(listener);
        Outcome outcome;
        try {
            outcome = relay.relay(Provider.OPENAI, Inbound.json("/v1/chat/completions", ChatWire.request(request, true)), answer);
        } catch (Relay.StreamBroken broken) {
            throw broken.failure();
        }
        if (answer.error != null) {
            throw new UpstreamException(Failure.of(FailureKind.SERVER_ERROR, answer.error), 0);
        }
        return result(null, outcome, answer);
    }

    /** Where {@code model} goes. @throws UnknownModelException when no provider serves it */
    public ModelRoute route(String model) {
        return relay.route(model);
    }

    /** The models the configured keys and a reachable Ollama offer, each once. */
    public List<ModelInfo> models() {
        return relay.models();
    }

    /** Whether Ollama answered its last check (checked at most every {@code KEYPOOL_OLLAMA_CHECK_SECONDS}). */
    public boolean ollamaAvailable() {
        return relay.ollamaAvailable();
    }

    /** Closes the connections to the providers, when this service made its own relay. */
    @Override
    public void close() {
        if (ownsRelay) {
            relay.close();
        }
    }

    private static ChatResult result(JsonNode completion, Outcome outcome, Streamed stream) {
        Served served = outcome.served();
        String id;
        String model;
        List<ChatResult.Choice> choices;
        if (stream != null) {
            id = stream.id;
            model = stream.model;
            choices = stream.assembly.choices();
        } else {
            id = Json.text(completion, "id");
            model = Json.text(completion, "model");
            choices = ChatWire.choices(completion);
        }
        ChatResult.Choice first = choices.isEmpty() ? new ChatResult.Choice(0, "", List.of(), "stop") : choices.get(0);
        TokenUsage usage = outcome.usage() != null ? outcome.usage() : TokenUsage.of(0, 0);
        return new ChatResult(id != null ? id : OpenAiShapes.newCompletionId(), first.text(), served.provider(),
                model != null ? model : served.model(), served.keyIndex(), served.maskedKey(), usage,
                first.finishReason(), served.attempts(), choices);
    }

    /** A whole answer, kept in memory. */
    private static final class Collected implements Sink {

        private final ByteArrayOutputStream body = new ByteArrayOutputStream(1024);

        @Override
        public OutputStream begin(Head head) {
            return body;
        }

        byte[] bytes() {
            return body.toByteArray();
        }
    }

    /**
     * A streamed answer, its chunks read as they arrive: the first choice's text handed to the
     * listener, every choice (its calls included) assembled for the result.
     */
    private static final class Streamed implements Sink {

        private final StreamListener listener;
        private final EventFramer framer = EventFramer.sse();
        private final ChatWire.Assembly assembly = new ChatWire.Assembly();
        private Served served;
        private boolean announced;
        private String id;
        private String model;
        private String error;

        Streamed(StreamListener listener) {
            this.listener = listener;
        }

        @Override
        public OutputStream begin(Head head) {
            served = head.served();
            return new OutputStream() {
                @Override
                public void write(int b) {
                    write(new byte[] {(byte) b}, 0, 1);
                }

                @Override
                public void write(byte[] bytes, int offset, int length) {
                    framer.feed(bytes, offset, length, (raw, size, data, start, end) -> {
                        if (data != null) {
                            chunk(Json.parseOrMissing(new String(data, StandardCharsets.UTF_8)));
                        }
                    });
                }
            };
        }

        private void chunk(JsonNode chunk) {
            if (chunk.has("error")) {
                error = Json.text(chunk.path("error"), "message");
                return;
            }
            id = id != null ? id : Json.text(chunk, "id");
            model = model != null ? model : Json.text(chunk, "model");
            assembly.add(chunk);
            for (JsonNode choice : chunk.path("choices")) {
                String delta = Json.text(choice.path("delta"), "content");
                if (choice.path("index").asInt(0) != 0 || delta == null || delta.isEmpty()) {
                    continue;
                }
                if (!announced) {
                    announced = true;
                    listener.onStart(new StreamListener.Start(served.provider(), served.keyIndex(),
                            served.maskedKey(), served.model()));
                }
                listener.onDelta(delta);
            }
        }
    }
}
