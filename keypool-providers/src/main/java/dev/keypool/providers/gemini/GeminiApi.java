package dev.keypool.providers.gemini;

import com.fasterxml.jackson.core.JsonToken;
import dev.keypool.config.Provider;
import dev.keypool.failure.UpstreamException;
import dev.keypool.providers.internal.BodyEdits;
import dev.keypool.providers.internal.PromptTally;
import dev.keypool.providers.internal.RawQuery;
import dev.keypool.providers.internal.RequestReader;
import dev.keypool.providers.internal.ResponseHeaders;
import dev.keypool.providers.internal.UpstreamRequest;
import dev.keypool.providers.relay.AnswerSpec;
import dev.keypool.providers.relay.Call;
import dev.keypool.providers.relay.Inbound;
import dev.keypool.providers.relay.Operation;
import dev.keypool.providers.relay.ProviderApi;
import dev.keypool.providers.relay.RelayContext;
import dev.keypool.providers.relay.RequestRefused;
import dev.keypool.providers.relay.UsageSpec;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Gemini's native API ({@code GEMINI_BASE_URL}, default {@code https://generativelanguage.googleapis.com}),
 * under {@code /v1beta/…} and {@code /v1/…}, as Google's SDKs call it: the caller's key
 * ({@code x-goog-api-key} or {@code ?key=}) is replaced by a pooled key in {@code x-goog-api-key},
 * never in the URL; everything else goes as it came.
 *
 * <table>
 *   <caption>Endpoints</caption>
 *   <tr><th>caller's request</th><th>reserved</th><th>usage committed from</th></tr>
 *   <tr><td>{@code models/{m}:generateContent}, {@code :streamGenerateContent} (SSE with {@code alt=sse},
 *       else a streamed JSON array)</td><td>prompt estimate + {@code maxOutputTokens} × {@code candidateCount}</td>
 *       <td>{@code usageMetadata} (the last chunk's: each is cumulative)</td></tr>
 *   <tr><td>{@code :embedContent}, {@code :batchEmbedContents}</td><td>input estimate</td><td>the estimate
 *       (Gemini reports none)</td></tr>
 *   <tr><td>{@code :countTokens}, {@code GET models}, {@code GET models/{m}}, cached contents, files,
 *       other methods</td><td>nothing (a request)</td><td>—</td></tr>
 * </table>
 *
 * A cached content or a file an answer creates ({@code name}: {@code cachedContents/…},
 * {@code files/…}) is remembered with its key, and a request naming it (in its path, its
 * {@code cachedContent}, or a {@code fileData.fileUri}) goes to that key.
 */
public final class GeminiApi implements ProviderApi {

    static final UsageSpec USAGE = new UsageSpec(List.of("usageMetadata"), "promptTokenCount", null, "totalTokenCount");
    private static final HeaderName API_KEY = HeaderNames.create("x-goog-api-key");

    private final RelayContext context;
    private final String baseUrl;
    private final Operation generate = new Generate();
    private final Operation embed = new Embed();
    private final Operation other = new Other();

    public GeminiApi(RelayContext context) {
        this.context = context;
        this.baseUrl = context.config().baseUrl(Provider.GEMINI);
    }

    @Override
    public Provider provider() {
        return Provider.GEMINI;
    }

    @Override
    public Operation operation(String method, String path) {
        String rest = unversioned(path);
        if (rest == null) {
            return null;
        }
        int colon = rest.lastIndexOf(':');
        if (colon > rest.lastIndexOf('/') && method.equals("POST")) {
            switch (rest.substring(colon + 1)) {
                case "generateContent", "streamGenerateContent" -> {
                    return generate;
                }
                case "embedContent", "batchEmbedContents" -> {
                    return embed;
                }
                default -> {
                    return other;
                }
            }
        }
        return other;
    }

    @Override
    public UpstreamException failure(int status, ResponseHeaders headers, String body, String secret) {
        return GeminiErrors.failure(status, headers, body, secret, context.clock());
    }

    @Override
    public UpstreamException streamFailure(byte[] event, String secret) {
        com.fasterxml.jackson.databind.JsonNode error = dev.keypool.providers.internal.Json.errorEvent(event);
        if (error.isMissingNode()) {
            return null;
        }
        int code = error.path("error").path("code").asInt(500);
        return GeminiErrors.failure(code, ResponseHeaders.NONE,
                dev.keypool.providers.internal.Json.write(error), secret, context.clock());
    }

    /** The path after {@code /v1beta/} or {@code /v1/}, or {@code null} when it is neither. */
    static String unversioned(String path) {
        if (path.startsWith("/v1beta/")) {
            return path.substring("/v1beta/".length());
        }
        if (path.startsWith("/v1/")) {
            return path.substring("/v1/".length());
        }
        return null;
    }

    /** The model a {@code models/{m}:action} path names ({@code tunedModels/{m}} too), or {@code null}. */
    static String modelOf(String path) {
        String rest = unversioned(path);
        int colon = rest == null ? -1 : rest.lastIndexOf(':');
        if (colon < 0) {
            return null;
        }
        String resource = rest.substring(0, colon);
        if (resource.startsWith("models/")) {
            return URLDecoder.decode(resource.substring("models/".length()), StandardCharsets.UTF_8);
        }
        return resource.startsWith("tunedModels/") ? resource : null;
    }

    UpstreamRequest request(Inbound inbound, byte[] body, String apiKey) {
        String query = RawQuery.without(inbound.query(), "key");
        URI uri = URI.create(baseUrl + inbound.path() + (query == null ? "" : "?" + query));
        return UpstreamRequest.of(inbound.method(), uri, body.length == 0 && !inbound.method().equals("POST") ? null : body)
                .forwarding(inbound.headers()).secretHeader(API_KEY, apiKey);
    }

    /** One native request, read. */
    private final class GeminiCall implements Call {

        private final Inbound inbound;
        private final String model;
        long prompt;
        long output;
        boolean stream;
        Set<String> references = Set.of();
        AnswerSpec answer;
        /** Where an enforced cap goes (a field of generationConfig, or the whole object), or {@code null}. */
        BodyEdits cap;

        GeminiCall(Inbound inbound, String model) {
            this.inbound = inbound;
            this.model = model;
        }

        @Override
        public String model() {
            return model;
        }

        @Override
        public long promptTokens() {
            return prompt;
        }

        @Override
        public long outputTokens() {
            return output;
        }

        @Override
        public boolean stream() {
            return stream;
        }

        @Override
        public Set<String> references() {
            return references;
        }

        @Override
        public UpstreamRequest upstream(String apiKey, String routedModel) {
            byte[] body = cap == null ? inbound.body() : cap.apply(inbound.body());
            return request(inbound, body, apiKey);
        }

        @Override
        public AnswerSpec answer() {
            return answer;
        }
    }

    /** {@code :generateContent} and {@code :streamGenerateContent}. */
    private final class Generate implements Operation {

        @Override
        public String name() {
            return "generate_content";
        }

        @Override
        public Call prepare(Inbound request) {
            String model = modelOf(request.path());
            GeminiCall call = new GeminiCall(request, model);
            call.stream = request.path().endsWith(":streamGenerateContent");
            PromptTally tally = new PromptTally();
            Set<String> references = new LinkedHashSet<>();
            Long maxOutput = null;
            long candidates = 1;
            int configOpen = -1;
            boolean configFields = false;
            int rootEnd;
            try (RequestReader reader = RequestReader.object(request.body(), "a generateContent request")) {
                String field;
                while ((field = reader.nextField()) != null) {
                    switch (field) {
                        case "contents" -> reader.tallyMessages(tally);
                        case "systemInstruction", "system_instruction" -> reader.tally(tally);
                        case "tools", "toolConfig", "tool_config" -> tally.json(reader.raw());
                        case "cachedContent", "cached_content" -> {
                            String name = reader.string(field);
                            if (name != null && !name.isBlank()) {
                                references.add(name);
                            }
                        }
                        case "generationConfig", "generation_config" -> {
                            if (reader.token() != JsonToken.START_OBJECT) {
                                reader.skip();
                                continue;
                            }
                            configOpen = reader.start();
                            String option;
                            while ((option = reader.nextField()) != null) {
                                configFields = true;
                                switch (option) {
                                    case "maxOutputTokens", "max_output_tokens" ->
                                            maxOutput = reader.positive("generationConfig.maxOutputTokens");
                                    case "candidateCount", "candidate_count" -> {
                                        Long count = reader.positive("generationConfig.candidateCount");
                                        candidates = count == null ? 1 : count;
                                    }
                                    case "responseSchema", "response_schema", "responseJsonSchema" ->
                                            tally.json(reader.raw());
                                    default -> reader.skip();
                                }
                            }
                        }
                        default -> reader.skip();
                    }
                }
                rootEnd = reader.start();
                reader.end("a generateContent request");
            }
            if (model == null) {
                throw new RequestRefused(404, "not_found", null, "No model in " + request.path());
            }
            references.addAll(tally.references());
            call.references = Set.copyOf(references);
            long perCandidate = maxOutput != null ? maxOutput : context.settings().outputReserve();
            if (maxOutput == null && context.settings().enforceOutputCap()) {
                call.cap = configOpen >= 0
                        ? new BodyEdits().insert(configOpen + 1, "\"maxOutputTokens\":" + perCandidate + (configFields ? "," : ""))
                        : new BodyEdits().insert(rootEnd, ",\"generationConfig\":{\"maxOutputTokens\":" + perCandidate + "}");
            }
            call.prompt = tally.tokens(context.estimator(), Provider.GEMINI, model);
            call.output = perCandidate * candidates;
            boolean sse = "sse".equals(RawQuery.value(request.query(), "alt"));
            call.answer = !call.stream ? AnswerSpec.document(USAGE, List.of())
                    : new AnswerSpec(sse ? AnswerSpec.Framing.SSE : AnswerSpec.Framing.JSON_ARRAY, USAGE, List.of(),
                            null, false);
            return call;
        }
    }

    /** {@code :embedContent} and {@code :batchEmbedContents}: the input is estimated, no output reserved. */
    private final class Embed implements Operation {

        @Override
        public String name() {
            return "embed_content";
        }

        @Override
        public Call prepare(Inbound request) {
            GeminiCall call = new GeminiCall(request, modelOf(request.path()));
            PromptTally tally = new PromptTally();
            try (RequestReader reader = RequestReader.object(request.body(), "an embedContent request")) {
                String field;
                while ((field = reader.nextField()) != null) {
                    if (field.equals("content") || field.equals("requests")) {
                        reader.tally(tally);
                    } else {
                        reader.skip();
                    }
                }
                reader.end("an embedContent request");
            }
            call.prompt = tally.tokens(context.estimator(), Provider.GEMINI, call.model());
            call.answer = AnswerSpec.document(USAGE, List.of());
            return call;
        }
    }

    /**
     * Everything else under the API's version ({@code :countTokens}, models, cached contents,
     * files): passed through, counted as a request, sent to the key that created the object it names.
     */
    private final class Other implements Operation {

        private static final AnswerSpec CREATES = AnswerSpec.document(null, List.of(List.of("name"),
                List.of("file", "name")));
        private static final AnswerSpec READS = AnswerSpec.document(null, List.of());

        @Override
        public String name() {
            return "gemini_other";
        }

        @Override
        public Call prepare(Inbound request) {
            GeminiCall call = new GeminiCall(request, modelOf(request.path()));
            String rest = unversioned(request.path());
            Set<String> references = new LinkedHashSet<>();
            String[] segments = rest.split("/");
            for (int i = 0; i + 1 < segments.length; i++) {
                if (segments[i].equals("cachedContents") || segments[i].equals("files")) {
                    String id = segments[i + 1];
                    int colon = id.indexOf(':');
                    references.add(segments[i] + "/" + (colon >= 0 ? id.substring(0, colon) : id));
                }
            }
            call.references = Set.copyOf(references);
            call.answer = request.method().equals("POST") ? CREATES : READS;
            return call;
        }
    }
}
