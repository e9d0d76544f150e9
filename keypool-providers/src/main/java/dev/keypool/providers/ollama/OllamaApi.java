package dev.keypool.providers.ollama;

import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.config.Provider;
import dev.keypool.failure.UpstreamException;
import dev.keypool.providers.internal.Json;
import dev.keypool.providers.internal.RequestReader;
import dev.keypool.providers.internal.ResponseHeaders;
import dev.keypool.providers.internal.Upstream;
import dev.keypool.providers.internal.UpstreamRequest;
import dev.keypool.providers.relay.AnswerSpec;
import dev.keypool.providers.relay.Call;
import dev.keypool.providers.relay.Inbound;
import dev.keypool.providers.relay.Operation;
import dev.keypool.providers.relay.ProviderApi;
import dev.keypool.providers.relay.RelayContext;
import dev.keypool.providers.relay.RequestRefused;
import dev.keypool.providers.relay.UsageSpec;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Ollama's native API ({@code OLLAMA_HOST}, default {@code http://localhost:11434}), forwarded as it
 * came: {@code /api/chat}, {@code /api/generate} (NDJSON streams, Ollama's default, or one JSON
 * answer with {@code "stream": false}), {@code /api/embed}, {@code /api/embeddings}, {@code /api/tags},
 * {@code /api/show}, {@code /api/ps}, {@code /api/version}. Keyless: nothing is reserved; the counts
 * of the last line ({@code prompt_eval_count}, {@code eval_count}) are what it used.
 *
 * <p>The model management endpoints ({@code pull}, {@code push}, {@code create}, {@code copy},
 * {@code delete}, {@code blobs}) change the operator's Ollama: they answer 403 unless
 * {@code KEYPOOL_OLLAMA_MANAGEMENT=true}.
 */
public final class OllamaApi implements ProviderApi {

    static final UsageSpec USAGE = new UsageSpec(List.of(), "prompt_eval_count", "eval_count", null);
    private static final Set<String> MANAGEMENT = Set.of("/api/pull", "/api/push", "/api/create", "/api/copy",
            "/api/delete");
    private static final Map<String, String> READS = Map.of("/api/tags", "GET", "/api/ps", "GET",
            "/api/version", "GET", "/api/show", "POST");

    private final String baseUrl;
    private final Upstream upstream;
    private final boolean management;
    private final Operation generation = new Generation("ollama_generate");
    private final Operation embedding = new Generation("ollama_embed");
    private final Operation read = new Forward("ollama_read");
    private final Operation manage = new Forward("ollama_manage");

    public OllamaApi(RelayContext context, Upstream upstream) {
        this.baseUrl = context.config().baseUrl(Provider.OLLAMA);
        this.upstream = upstream;
        this.management = context.settings().ollamaManagement();
    }

    @Override
    public Provider provider() {
        return Provider.OLLAMA;
    }

    public String baseUrl() {
        return baseUrl;
    }

    @Override
    public Operation operation(String method, String path) {
        switch (path) {
            case "/api/chat", "/api/generate" -> {
                return method.equals("POST") ? generation : null;
            }
            case "/api/embed", "/api/embeddings" -> {
                return method.equals("POST") ? embedding : null;
            }
            default -> {
            }
        }
        if (method.equals(READS.get(path))) {
            return read;
        }
        if (MANAGEMENT.contains(path) || path.startsWith("/api/blobs/")) {
            if (!management) {
                throw new RequestRefused(403, "forbidden", null, "Ollama's model management (" + path
                        + ") is not open through keypool; set KEYPOOL_OLLAMA_MANAGEMENT=true to allow it.");
            }
            return manage;
        }
        return null;
    }

    @Override
    public UpstreamException failure(int status, ResponseHeaders headers, String body, String secret) {
        return OllamaErrors.failure(status, body);
    }

    @Override
    public UpstreamException streamFailure(byte[] event, String secret) {
        JsonNode error = Json.errorEvent(event);
        return error.isMissingNode() ? null : OllamaErrors.failure(500, Json.write(error));
    }

    /** A pulled model: its name ({@code llama3.2:latest}) and its digest, which changes when it is pulled anew. */
    public record Tag(String name, String digest) {
    }

    /**
     * The pulled models, as {@code /api/tags} lists them.
     *
     * @throws UpstreamException when Ollama cannot be reached within {@code limit} or answers badly
     */
    public List<Tag> tags(Duration limit) {
        Upstream.Response response = upstream.send(UpstreamRequest.get(URI.create(baseUrl + "/api/tags")), null, limit);
        if (response.status() != 200) {
            throw OllamaErrors.failure(response.status(), response.body());
        }
        List<Tag> tags = new ArrayList<>();
        for (JsonNode model : Json.parseOrMissing(response.body()).path("models")) {
            String name = Json.text(model, "name");
            if (name != null) {
                String digest = Json.text(model, "digest");
                tags.add(new Tag(name, digest == null ? "" : digest));
            }
        }
        return tags;
    }

    /**
     * What {@code model} can do, as {@code /api/show} lists it ({@code completion}, {@code tools},
     * {@code vision}, {@code thinking}, …); {@code null} when the answer lists nothing (an Ollama older
     * than its {@code capabilities}).
     *
     * @throws UpstreamException when Ollama cannot be reached within {@code limit} or answers badly
     */
    public Set<String> capabilities(String model, Duration limit) {
        byte[] body = Json.writeBytes(Json.object().put("model", model));
        Upstream.Response response = upstream.send(UpstreamRequest.postJson(URI.create(baseUrl + "/api/show"), body),
                null, limit);
        if (response.status() != 200) {
            throw OllamaErrors.failure(response.status(), response.body());
        }
        JsonNode listed = Json.parseOrMissing(response.body()).path("capabilities");
        if (!listed.isArray()) {
            return null;
        }
        Set<String> capabilities = new LinkedHashSet<>();
        listed.forEach(capability -> capabilities.add(capability.asText()));
        return Collections.unmodifiableSet(capabilities);
    }

    Duration upstreamTimeout() {
        return upstream.timeout();
    }

    UpstreamRequest request(Inbound inbound, byte[] body) {
        URI uri = URI.create(baseUrl + inbound.path() + (inbound.query() == null ? "" : "?" + inbound.query()));
        return UpstreamRequest.of(inbound.method(), uri, body.length == 0 ? null : body).forwarding(inbound.headers());
    }

    /** Chat, generate and embeddings: the model and whether the answer streams are read; nothing else. */
    private final class Generation implements Operation {

        private final String name;

        Generation(String name) {
            this.name = name;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public Call prepare(Inbound request) {
            String model = null;
            boolean stream = !name.equals("ollama_embed");
            try (RequestReader reader = RequestReader.object(request.body(), "an Ollama request")) {
                String field;
                while ((field = reader.nextField()) != null) {
                    switch (field) {
                        case "model" -> model = reader.string("model");
                        case "stream" -> stream = reader.token() == JsonToken.VALUE_NULL || reader.bool("stream");
                        default -> reader.skip();
                    }
                }
                reader.end("an Ollama request");
            }
            if (model == null || model.isBlank()) {
                throw new RequestRefused(400, "invalid_value", "model", "model is required");
            }
            AnswerSpec answer = stream ? new AnswerSpec(AnswerSpec.Framing.NDJSON, USAGE, List.of(), null, false)
                    : AnswerSpec.document(USAGE, List.of());
            return new Forwarded(request, model, stream, answer);
        }
    }

    /** The endpoints that only read (or, when allowed, manage models): forwarded, nothing read of them. */
    private final class Forward implements Operation {

        private final String name;

        Forward(String name) {
            this.name = name;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public Call prepare(Inbound request) {
            boolean streams = name.equals("ollama_manage") && !request.path().startsWith("/api/blobs/")
                    && !request.path().equals("/api/delete") && !request.path().equals("/api/copy");
            return new Forwarded(request, null, streams, streams
                    ? new AnswerSpec(AnswerSpec.Framing.NDJSON, null, List.of(), null, false)
                    : AnswerSpec.document(null, List.of()));
        }
    }

    private final class Forwarded implements Call {

        private final Inbound inbound;
        private final String model;
        private final boolean stream;
        private final AnswerSpec answer;

        Forwarded(Inbound inbound, String model, boolean stream, AnswerSpec answer) {
            this.inbound = inbound;
            this.model = model;
            this.stream = stream;
            this.answer = answer;
        }

        @Override
        public String model() {
            return model;
        }

        @Override
        public long promptTokens() {
            return 0;
        }

        @Override
        public long outputTokens() {
            return 0;
        }

        @Override
        public boolean stream() {
            return stream;
        }

        @Override
        public UpstreamRequest upstream(String apiKey, String routedModel) {
            return request(inbound, inbound.body());
        }

        @Override
        public AnswerSpec answer() {
            return answer;
        }
    }
}
