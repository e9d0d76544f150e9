package dev.keypool.providers.ollama;

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
import java.net.URI;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;

/**
 * OpenAI's chat on Ollama's {@code /api/chat}: messages keep their roles ({@code developer} becomes
 * {@code system}); {@code temperature}, {@code top_p}, {@code seed}, {@code stop} and a cap the
 * caller set ({@code num_predict}) go in {@code options}. The answer's {@code done_reason}
 * {@code length} is OpenAI's {@code length}, any other end {@code stop}; a stream that ends without
 * its {@code done} line ends without {@code [DONE]}, so it reads as cut short.
 */
public final class OllamaChatTranslator implements ChatTranslator {

    private static final AnswerSpec PLAIN = AnswerSpec.document(OllamaApi.USAGE, List.of());
    /** Its opening is judged on the OpenAI chunks the translation writes. */
    private static final AnswerSpec STREAM = new AnswerSpec(AnswerSpec.Framing.NDJSON, OllamaApi.USAGE, List.of(),
            null, false).openedBy(StreamOpening::chat);

    private final String baseUrl;
    private final Clock clock;

    public OllamaChatTranslator(RelayContext context) {
        this.baseUrl = context.config().baseUrl(Provider.OLLAMA);
        this.clock = context.clock();
    }

    @Override
    public Provider provider() {
        return Provider.OLLAMA;
    }

    @Override
    public RequestRefused check(JsonNode request, String model) {
        return TextChat.check(request, "Ollama");
    }

    @Override
    public Translation translate(JsonNode request, String model, String apiKey, boolean stream) {
        TextChat chat = TextChat.read(request);
        ObjectNode body = Json.object();
        body.put("model", model);
        ArrayNode messages = body.putArray("messages");
        for (TextChat.Message message : chat.messages()) {
            messages.addObject().put("role", message.role()).put("content", message.text());
        }
        body.put("stream", stream);
        ObjectNode options = Json.object();
        if (chat.temperature() != null) {
            options.put("temperature", chat.temperature());
        }
        if (chat.maxTokens() != null) {
            options.put("num_predict", chat.maxTokens());
        }
        if (chat.topP() != null) {
            options.put("top_p", chat.topP());
        }
        if (chat.seed() != null) {
            options.put("seed", chat.seed());
        }
        if (!chat.stop().isEmpty()) {
            ArrayNode stop = options.putArray("stop");
            chat.stop().forEach(stop::add);
        }
        if (!options.isEmpty()) {
            body.set("options", options);
        }
        UpstreamRequest upstream = UpstreamRequest.postJson(URI.create(baseUrl + "/api/chat"), Json.writeBytes(body));
        return new Answer(model, chat.includeUsage(), stream ? STREAM : PLAIN, upstream, clock.millis() / 1000);
    }

    private static final class Answer implements Translation {

        private final String id = OpenAiShapes.newCompletionId();
        private final String model;
        private final boolean includeUsage;
        private final AnswerSpec spec;
        private final UpstreamRequest upstream;
        private final long created;
        private boolean started;
        private boolean done;
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
            JsonNode root = Json.parseOrMissing(new String(body, java.nio.charset.StandardCharsets.UTF_8));
            String text = Json.text(root.path("message"), "content");
            return ChatAnswers.completion(id, created, modelOf(root), List.of(new ChatAnswers.Choice(0,
                    text == null ? "" : text, finishReason(root))), usage(root));
        }

        @Override
        public List<byte[]> chunks(byte[] event) {
            JsonNode line = Json.parseOrMissing(new String(event, java.nio.charset.StandardCharsets.UTF_8));
            List<byte[]> chunks = new ArrayList<>(2);
            if (line.has("error")) {
                chunks.add(OpenAiShapes.error(Json.text(line, "error"), "server_error", null, null));
                return chunks;
            }
            String delta = Json.text(line.path("message"), "content");
            if (delta != null && (!delta.isEmpty() || !started)) {
                chunks.add(ChatAnswers.chunk(id, created, modelOf(line), 0, !started, delta, null, includeUsage));
                started = true;
            }
            if (line.path("done").asBoolean(false)) {
                done = true;
                usage = usage(line);
                chunks.add(ChatAnswers.chunk(id, created, modelOf(line), 0, !started, null, finishReason(line),
                        includeUsage));
                started = true;
            }
            return chunks;
        }

        @Override
        public List<byte[]> end(boolean complete) {
            if (!done || !complete) {
                return List.of();
            }
            List<byte[]> end = new ArrayList<>(2);
            if (includeUsage) {
                end.add(ChatAnswers.usageChunk(id, created, model, usage));
            }
            end.add("[DONE]".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            return end;
        }

        private String modelOf(JsonNode root) {
            String named = Json.text(root, "model");
            return named != null ? named : model;
        }

        private static String finishReason(JsonNode root) {
            return "length".equals(Json.text(root, "done_reason")) ? "length" : "stop";
        }

        private static TokenUsage usage(JsonNode root) {
            long prompt = Json.number(root, "prompt_eval_count");
            long completion = Json.number(root, "eval_count");
            if (prompt < 0 && completion < 0) {
                return null;
            }
            return TokenUsage.of(Math.max(prompt, 0), Math.max(completion, 0));
        }
    }
}
