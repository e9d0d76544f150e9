package dev.keypool.providers.gemini;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.keypool.config.Provider;
import dev.keypool.providers.internal.Json;
import dev.keypool.providers.internal.UpstreamRequest;
import dev.keypool.providers.openai.ChatAnswers;
import dev.keypool.providers.openai.OpenAiShapes;
import dev.keypool.providers.openai.StreamOpening;
import dev.keypool.providers.openai.TextChat;
import dev.keypool.providers.relay.AnswerSpec;
import dev.keypool.providers.relay.ChatTranslator;
import dev.keypool.providers.relay.RelayContext;
import dev.keypool.providers.relay.RequestRefused;
import dev.keypool.rotation.TokenUsage;
import io.helidon.http.HeaderNames;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;

/**
 * OpenAI's chat on Gemini's {@code generateContent} ({@code :streamGenerateContent?alt=sse} for a
 * stream): messages become {@code contents} ({@code assistant} is {@code model}), system and
 * developer messages the {@code systemInstruction}; {@code temperature}, {@code top_p},
 * {@code seed}, {@code stop} and a cap the caller set (or, with {@code KEYPOOL_ENFORCE_OUTPUT_CAP},
 * the reserve) go in {@code generationConfig}. The answer's
 * text is its parts' text (thought summaries left out); {@code MAX_TOKENS} is {@code length}, the
 * safety and recitation stops {@code content_filter}, a blocked prompt an empty answer filtered for
 * content. A stream whose last chunk never said {@code finishReason} ends without {@code [DONE]}.
 */
public final class GeminiChatTranslator implements ChatTranslator {

    private final String baseUrl;
    private final Clock clock;
    /** The cap sent when the request set none, or {@code null} when the operator enforces none. */
    private final Long enforcedCap;

    public GeminiChatTranslator(RelayContext context) {
        this.baseUrl = context.config().baseUrl(Provider.GEMINI);
        this.clock = context.clock();
        this.enforcedCap = context.settings().enforceOutputCap() ? (long) context.settings().outputReserve() : null;
    }

    @Override
    public Provider provider() {
        return Provider.GEMINI;
    }

    @Override
    public RequestRefused check(JsonNode request, String model) {
        return TextChat.check(request, "Gemini");
    }

    @Override
    public Translation translate(JsonNode request, String model, String apiKey, boolean stream) {
        TextChat chat = TextChat.read(request);
        ObjectNode body = Json.object();
        ArrayNode contents = body.putArray("contents");
        List<String> instructions = new ArrayList<>();
        for (TextChat.Message message : chat.messages()) {
            if (message.isInstruction()) {
                instructions.add(message.text());
                continue;
            }
            ObjectNode content = contents.addObject();
            content.put("role", message.role().equals("assistant") ? "model" : "user");
            content.putArray("parts").addObject().put("text", message.text());
        }
        if (!instructions.isEmpty()) {
            body.putObject("systemInstruction").putArray("parts").addObject()
                    .put("text", String.join("\n\n", instructions));
        }
        ObjectNode config = Json.object();
        if (chat.temperature() != null) {
            config.put("temperature", chat.temperature());
        }
        Long cap = chat.maxTokens() != null ? chat.maxTokens() : enforcedCap;
        if (cap != null) {
            config.put("maxOutputTokens", cap);
        }
        if (chat.topP() != null) {
            config.put("topP", chat.topP());
        }
        if (chat.seed() != null) {
            config.put("seed", chat.seed());
        }
        if (!chat.stop().isEmpty()) {
            ArrayNode stop = config.putArray("stopSequences");
            chat.stop().forEach(stop::add);
        }
        if (!config.isEmpty()) {
            body.set("generationConfig", config);
        }
        String name = model.startsWith("models/") ? model.substring("models/".length()) : model;
        URI uri = URI.create(baseUrl + "/v1beta/models/" + URLEncoder.encode(name, StandardCharsets.UTF_8)
                + (stream ? ":streamGenerateContent?alt=sse" : ":generateContent"));
        UpstreamRequest upstream = UpstreamRequest.postJson(uri, Json.writeBytes(body))
                .secretHeader(HeaderNames.create("x-goog-api-key"), apiKey);
        // the opening is judged on the OpenAI chunks the translation writes
        AnswerSpec spec = stream ? new AnswerSpec(AnswerSpec.Framing.SSE, GeminiApi.USAGE, List.of(), null, false)
                .openedBy(StreamOpening::chat) : AnswerSpec.document(GeminiApi.USAGE, List.of());
        return new Answer(name, chat.includeUsage(), spec, upstream, clock.millis() / 1000);
    }

    private static final class Answer implements Translation {

        private final String model;
        private final boolean includeUsage;
        private final AnswerSpec spec;
        private final UpstreamRequest upstream;
        private final long created;
        private String id;
        private boolean started;
        private boolean finished;
        private TokenUsage usage;

        Answer(String model, boolean includeUsage, AnswerSpec spec, UpstreamRequest upstream, long created) {
            this.model = model;
            this.includeUsage = includeUsage;
            this.spec = spec;
            this.upstream = upstream;
            this.created = created;
        }

        @Override
        public UpstreamRequest upstream() {
            return upstream;
        }

        @Override
        public AnswerSpec answer() {
            return spec;
        }

        @Override
        public byte[] completion(byte[] body) {
            JsonNode root = Json.parseOrMissing(new String(body, StandardCharsets.UTF_8));
            JsonNode candidate = root.path("candidates").path(0);
            return ChatAnswers.completion(idOf(root), created, modelOf(root),
                    List.of(new ChatAnswers.Choice(0, text(candidate), finishReason(root, candidate))),
                    usage(root.path("usageMetadata")));
        }

        @Override
        public List<byte[]> chunks(byte[] event) {
            JsonNode chunk = Json.parseOrMissing(new String(event, StandardCharsets.UTF_8));
            List<byte[]> chunks = new ArrayList<>(2);
            if (chunk.has("error")) {
                chunks.add(OpenAiShapes.error(Json.text(chunk.path("error"), "message"), "server_error", null, null));
                return chunks;
            }
            if (!chunk.isObject()) {
                return chunks;
            }
            String chunkId = idOf(chunk);
            JsonNode candidate = chunk.path("candidates").path(0);
            String delta = text(candidate);
            if (!delta.isEmpty() || !started) {
                chunks.add(ChatAnswers.chunk(chunkId, created, modelOf(chunk), 0, !started, delta, null, includeUsage));
                started = true;
            }
            TokenUsage reported = usage(chunk.path("usageMetadata"));
            usage = reported != null ? reported : usage;
            if (candidate.has("finishReason") || chunk.path("promptFeedback").has("blockReason")) {
                finished = true;
                chunks.add(ChatAnswers.chunk(chunkId, created, modelOf(chunk), 0, false, null,
                        finishReason(chunk, candidate), includeUsage));
            }
            return chunks;
        }

        @Override
        public List<byte[]> end(boolean complete) {
            if (!finished || !complete) {
                return List.of();
            }
            List<byte[]> end = new ArrayList<>(2);
            if (includeUsage) {
                end.add(ChatAnswers.usageChunk(id, created, model, usage));
            }
            end.add("[DONE]".getBytes(StandardCharsets.US_ASCII));
            return end;
        }

        private String idOf(JsonNode root) {
            if (id == null) {
                String responseId = Json.text(root, "responseId");
                id = responseId != null ? responseId : OpenAiShapes.newCompletionId();
            }
            return id;
        }

        private String modelOf(JsonNode root) {
            String version = Json.text(root, "modelVersion");
            return version != null ? version : model;
        }

        private static String text(JsonNode candidate) {
            StringBuilder text = new StringBuilder();
            for (JsonNode part : candidate.path("content").path("parts")) {
                if (!part.path("thought").asBoolean(false)) {
                    String value = Json.text(part, "text");
                    if (value != null) {
                        text.append(value);
                    }
                }
            }
            return text.toString();
        }

        private static String finishReason(JsonNode root, JsonNode candidate) {
            if (!candidate.isObject() && root.path("promptFeedback").has("blockReason")) {
                return "content_filter";
            }
            String reason = Json.text(candidate, "finishReason");
            if (reason == null) {
                return "stop";
            }
            return switch (reason) {
                case "MAX_TOKENS" -> "length";
                case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY" -> "content_filter";
                default -> "stop";
            };
        }

        private static TokenUsage usage(JsonNode usage) {
            return GeminiApi.USAGE.usage(Json.number(usage, "promptTokenCount"), -1,
                    Json.number(usage, "totalTokenCount"));
        }
    }
}
