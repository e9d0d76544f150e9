package dev.keypool.providers.ollama;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.keypool.config.Provider;
import dev.keypool.providers.internal.Json;
import dev.keypool.providers.internal.TranslatedChat;
import dev.keypool.providers.internal.UpstreamRequest;
import dev.keypool.providers.openai.ChatAnswers;
import dev.keypool.providers.openai.ChatInput;
import dev.keypool.providers.openai.ChatInput.Gap;
import dev.keypool.providers.openai.OpenAiShapes;
import dev.keypool.providers.openai.StreamOpening;
import dev.keypool.providers.relay.AnswerSpec;
import dev.keypool.providers.relay.ChatTranslator;
import dev.keypool.providers.relay.RelayContext;
import dev.keypool.providers.relay.RequestRefused;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * OpenAI's chat on Ollama's native {@code /api/chat}, both ways.
 *
 * <h2>The request</h2>
 * Messages keep their roles ({@code developer} becomes {@code system}); a message's text parts are
 * joined by line breaks, its inline images ({@code data:} URLs) go in {@code images} as base64. The
 * assistant's {@code tool_calls} become {@code message.tool_calls} (arguments as an object, the
 * call's id kept); a {@code tool} result a {@code tool} message with its {@code tool_call_id} and the
 * {@code tool_name} of the call it answers. {@code tools} go as they are (Ollama's shape is OpenAI's);
 * {@code tool_choice: "none"} leaves them out, {@code auto} is Ollama's only way. {@code response_format}
 * is {@code format} ({@code "json"}, or the schema); {@code logprobs} and {@code top_logprobs} their
 * namesakes; {@code reasoning_effort} is {@code think} as Ollama's own OpenAI layer maps it
 * ({@code none} false, {@code minimal} low, {@code xhigh} max); {@code temperature}, {@code top_p},
 * {@code seed}, {@code stop}, the penalties and a cap the caller set ({@code num_predict}) go in
 * {@code options}.
 *
 * <p>Before a route to Ollama is taken, the model's capabilities ({@code /api/show}, remembered per
 * digest) are checked: tools to a model without {@code tools}, or images to one without
 * {@code vision}, make the route skip instead of being answered without them.
 *
 * <h2>The answer</h2>
 * {@code message.tool_calls} become {@code tool_calls} (Ollama's id, else one made up; arguments as
 * JSON text), a stop after calls {@code tool_calls}; {@code done_reason: "length"} is {@code length};
 * {@code logprobs} keep their shape. The model's {@code thinking} has no place in OpenAI's chat and is
 * left out (its tokens are in the usage). A stream that ends without its {@code done} line ends
 * without {@code [DONE]}, so it reads as cut short.
 */
public final class OllamaChatTranslator implements ChatTranslator {

    static final ChatInput.Support SUPPORT = new ChatInput.Support("Ollama", false, false, false, false, false, false);
    private static final AnswerSpec PLAIN = AnswerSpec.document(OllamaApi.USAGE, List.of());
    /** Its opening is judged on the OpenAI chunks the translation writes. */
    private static final AnswerSpec STREAM = new AnswerSpec(AnswerSpec.Framing.NDJSON, OllamaApi.USAGE, List.of(),
            null, false).openedBy(StreamOpening::chat);
    /** OpenAI's efforts as Ollama's {@code think}, as Ollama's own OpenAI-compatible layer maps them. */
    private static final Map<String, Object> THINK = Map.of("none", false, "minimal", "low", "low", "low",
            "medium", "medium", "high", "high", "xhigh", "max");

    private final String baseUrl;
    private final Clock clock;
    private final boolean drop;
    private final OllamaAvailability ollama;

    public OllamaChatTranslator(RelayContext context, OllamaAvailability ollama) {
        this.baseUrl = context.config().baseUrl(Provider.OLLAMA);
        this.clock = context.clock();
        this.drop = context.settings().dropUnsupported();
        this.ollama = ollama;
    }

    @Override
    public Provider provider() {
        return Provider.OLLAMA;
    }

    @Override
    public RequestRefused check(JsonNode request, String model) {
        try {
            return Gap.refusal(gaps(ChatInput.read(request, SUPPORT), model), drop);
        } catch (RequestRefused refused) {
            return refused;
        }
    }

    @Override
    public Translation translate(JsonNode request, String model, String apiKey, boolean stream) {
        ChatInput input = ChatInput.read(request, SUPPORT);
        List<String> dropped = Gap.dropped(gaps(input, model), drop);
        ObjectNode body = Json.object();
        body.put("model", model);
        ArrayNode messages = body.putArray("messages");
        for (ChatInput.Message message : input.messages()) {
            messages.add(message(message));
        }
        body.put("stream", stream);
        if (input.callsTools()) {
            ArrayNode tools = body.putArray("tools");
            for (ChatInput.Tool tool : input.tools()) {
                ObjectNode function = tools.addObject().put("type", "function").putObject("function");
                function.put("name", tool.name());
                if (tool.description() != null) {
                    function.put("description", tool.description());
                }
                if (tool.parameters() != null) {
                    function.set("parameters", tool.parameters());
                }
            }
        }
        ChatInput.Format format = input.format();
        if (format != null) {
            if (format.schema() != null) {
                body.set("format", format.schema());
            } else {
                body.put("format", "json");
            }
        }
        ObjectNode options = options(input);
        if (!options.isEmpty()) {
            body.set("options", options);
        }
        if (input.reasoningEffort() != null && !dropped.contains("reasoning_effort")) {
            Object think = THINK.get(input.reasoningEffort());
            if (think instanceof Boolean on) {
                body.put("think", on);
            } else {
                body.put("think", (String) think);
            }
        }
        if (input.logprobs()) {
            body.put("logprobs", true);
            if (input.topLogprobs() != null) {
                body.put("top_logprobs", input.topLogprobs());
            }
        }
        UpstreamRequest upstream = UpstreamRequest.postJson(URI.create(baseUrl + "/api/chat"), Json.writeBytes(body));
        return new Answer(model, input.includeUsage(), input.logprobs(), stream ? STREAM : PLAIN, upstream,
                clock.millis() / 1000, dropped);
    }

    /** The reader's gaps, and what the model itself cannot do by its capabilities. */
    private List<Gap> gaps(ChatInput input, String model) {
        List<Gap> gaps = new ArrayList<>(input.gaps());
        Set<String> capabilities = model == null ? null : ollama.capabilities(model);
        if (capabilities == null) {
            return gaps;
        }
        String listed = String.join(", ", capabilities);
        if (input.callsTools() && !capabilities.contains("tools")) {
            gaps.add(new Gap("tools", false, model + " on Ollama does not support tools (its capabilities: "
                    + listed + ")."));
        }
        if (input.has(ChatInput.MediaKind.IMAGE) && !capabilities.contains("vision")) {
            String where = "messages";
            for (ChatInput.Message message : input.messages()) {
                if (!message.media().isEmpty()) {
                    where = message.media().get(0).param();
                    break;
                }
            }
            gaps.add(new Gap(where, false, model + " on Ollama does not support images (its capabilities: "
                    + listed + ")."));
        }
        if (input.reasoningEffort() != null && !input.reasoningEffort().equals("none")
                && !capabilities.contains("thinking")) {
            gaps.add(new Gap("reasoning_effort", true, model + " on Ollama does not think (its capabilities: "
                    + listed + ")."));
        }
        return gaps;
    }

    private static ObjectNode message(ChatInput.Message message) {
        ObjectNode out = Json.object();
        switch (message.role()) {
            case SYSTEM -> out.put("role", "system").put("content", message.text("\n"));
            case USER -> {
                out.put("role", "user").put("content", message.text("\n"));
                List<ChatInput.Media> media = message.media();
                if (!media.isEmpty()) {
                    ArrayNode images = out.putArray("images");
                    media.forEach(image -> images.add(image.data()));
                }
            }
            case ASSISTANT -> {
                out.put("role", "assistant").put("content", message.text("\n"));
                if (!message.toolCalls().isEmpty()) {
                    ArrayNode calls = out.putArray("tool_calls");
                    for (int i = 0; i < message.toolCalls().size(); i++) {
                        ChatInput.ToolCall call = message.toolCalls().get(i);
                        ObjectNode entry = calls.addObject().put("id", call.id());
                        entry.putObject("function").put("index", i).put("name", call.name()).set("arguments", call.args());
                    }
                }
            }
            case TOOL -> out.put("role", "tool").put("content", message.text("")).put("tool_name", message.toolName())
                    .put("tool_call_id", message.toolCallId());
        }
        return out;
    }

    private static ObjectNode options(ChatInput input) {
        ObjectNode options = Json.object();
        if (input.temperature() != null) {
            options.put("temperature", input.temperature());
        }
        if (input.maxTokens() != null) {
            options.put("num_predict", input.maxTokens());
        }
        if (input.topP() != null) {
            options.put("top_p", input.topP());
        }
        if (input.seed() != null) {
            options.put("seed", input.seed());
        }
        if (!input.stop().isEmpty()) {
            ArrayNode stop = options.putArray("stop");
            input.stop().forEach(stop::add);
        }
        if (input.presencePenalty() != null) {
            options.put("presence_penalty", input.presencePenalty());
        }
        if (input.frequencyPenalty() != null) {
            options.put("frequency_penalty", input.frequencyPenalty());
        }
        return options;
    }

    private static final class Answer extends TranslatedChat {

        private final boolean logprobs;
        private boolean started;
        private int calls;
        private boolean done;

        Answer(String model, boolean includeUsage, boolean logprobs, AnswerSpec spec, UpstreamRequest upstream,
                long created, List<String> dropped) {
            super(model, includeUsage, spec, upstream, created, dropped);
            this.logprobs = logprobs;
            this.id = OpenAiShapes.newCompletionId();
        }

        @Override
        public byte[] completion(byte[] body) {
            JsonNode root = Json.parseOrMissing(new String(body, StandardCharsets.UTF_8));
            String text = Json.text(root.path("message"), "content");
            List<ChatAnswers.ToolCall> toolCalls = toolCalls(root.path("message").path("tool_calls"));
            boolean onlyCalls = (text == null || text.isEmpty()) && !toolCalls.isEmpty();
            return ChatAnswers.completion(id, created, modelOf(root), List.of(new ChatAnswers.Choice(0,
                    onlyCalls ? null : text == null ? "" : text, toolCalls, finishReason(root, !toolCalls.isEmpty()),
                    logprobs(root))), usage(root));
        }

        @Override
        public List<byte[]> chunks(byte[] event) {
            JsonNode line = Json.parseOrMissing(new String(event, StandardCharsets.UTF_8));
            List<byte[]> chunks = new ArrayList<>(2);
            if (line.has("error")) {
                chunks.add(OpenAiShapes.error(Json.text(line, "error"), "server_error", null, null));
                return chunks;
            }
            String version = modelOf(line);
            String delta = Json.text(line.path("message"), "content");
            List<ChatAnswers.ToolCall> toolCalls = toolCalls(line.path("message").path("tool_calls"));
            List<ChatAnswers.TokenLogprob> tokens = logprobs(line);
            if (delta != null && (!delta.isEmpty() || !started && toolCalls.isEmpty())
                    || tokens != null && !tokens.isEmpty()) {
                chunks.add(chunk(version, ChatAnswers.Delta.text(0, !started, delta == null ? "" : delta, tokens)));
                started = true;
            }
            if (!toolCalls.isEmpty()) {
                chunks.add(chunk(version, ChatAnswers.Delta.calls(0, !started, toolCalls, calls)));
                calls += toolCalls.size();
                started = true;
            }
            if (line.path("done").asBoolean(false)) {
                done = true;
                usage = usage(line);
                chunks.add(chunk(version, ChatAnswers.Delta.finish(0, !started, finishReason(line, calls > 0))));
                started = true;
            }
            return chunks;
        }

        @Override
        public List<byte[]> end(boolean complete) {
            return end(complete, done);
        }

        private byte[] chunk(String version, ChatAnswers.Delta delta) {
            return chunk(id, version, delta);
        }

        private String modelOf(JsonNode root) {
            String named = Json.text(root, "model");
            return named != null ? named : model;
        }

        /** The line's {@code logprobs} as OpenAI's {@code logprobs.content}; {@code null} when none were asked for. */
        private List<ChatAnswers.TokenLogprob> logprobs(JsonNode root) {
            if (!logprobs) {
                return null;
            }
            List<ChatAnswers.TokenLogprob> tokens = new ArrayList<>();
            for (JsonNode token : root.path("logprobs")) {
                List<ChatAnswers.TokenLogprob> top = new ArrayList<>();
                for (JsonNode alternative : token.path("top_logprobs")) {
                    top.add(new ChatAnswers.TokenLogprob(alternative.path("token").asText(""),
                            alternative.path("logprob").asDouble(), List.of()));
                }
                tokens.add(new ChatAnswers.TokenLogprob(token.path("token").asText(""), token.path("logprob").asDouble(),
                        top));
            }
            return tokens;
        }

        private static List<ChatAnswers.ToolCall> toolCalls(JsonNode list) {
            List<ChatAnswers.ToolCall> calls = new ArrayList<>();
            for (JsonNode call : list) {
                String given = Json.text(call, "id");
                JsonNode arguments = call.path("function").path("arguments");
                calls.add(new ChatAnswers.ToolCall(given != null && !given.isEmpty() ? given : OpenAiShapes.newToolCallId(),
                        call.path("function").path("name").asText(""),
                        Json.write(arguments.isObject() ? arguments : Json.object())));
            }
            return calls;
        }

        private static String finishReason(JsonNode root, boolean called) {
            if ("length".equals(Json.text(root, "done_reason"))) {
                return "length";
            }
            return called ? "tool_calls" : "stop";
        }

        private static ChatAnswers.Usage usage(JsonNode root) {
            long prompt = Json.number(root, "prompt_eval_count");
            long completion = Json.number(root, "eval_count");
            if (prompt < 0 && completion < 0) {
                return null;
            }
            return ChatAnswers.Usage.of(Math.max(prompt, 0), Math.max(completion, 0));
        }
    }
}
