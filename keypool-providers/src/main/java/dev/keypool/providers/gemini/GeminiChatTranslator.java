package dev.keypool.providers.gemini;

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
import io.helidon.http.HeaderNames;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * OpenAI's chat on Gemini's native {@code generateContent} ({@code :streamGenerateContent?alt=sse}
 * for a stream), both ways.
 *
 * <h2>The request</h2>
 * Messages become {@code contents} ({@code assistant} is {@code model}); system and developer
 * messages the {@code systemInstruction}. Text parts stay parts; inline images, audio and files
 * ({@code data:} URLs) become {@code inlineData}, an image's {@code detail} the request's
 * {@code mediaResolution}. The assistant's {@code tool_calls} become {@code functionCall} parts, the
 * {@code tool} results that follow one {@code user} content of {@code functionResponse} parts, named
 * after the call they answer (its {@code tool_call_id} looked up in the conversation); a result that
 * is a JSON object is the response, any other text {@code {"output": text}}, as Google documents.
 * {@code tools} become {@code functionDeclarations} with the caller's JSON Schema as
 * {@code parametersJsonSchema}; {@code tool_choice} the {@code toolConfig} ({@code none} NONE,
 * {@code auto} AUTO, {@code required} ANY, a function ANY limited to it), a {@code strict} tool
 * VALIDATED (Gemini's schema-constrained calling). {@code response_format} is
 * {@code responseMimeType} with {@code responseJsonSchema}; {@code n} {@code candidateCount};
 * {@code logprobs} and {@code top_logprobs} {@code responseLogprobs} and {@code logprobs};
 * {@code reasoning_effort} the {@code thinkingConfig} (a budget on Gemini 2.5, as Google's own
 * compatibility layer maps it; a level on Gemini 3); the sampling parameters their namesakes.
 *
 * <h2>The answer</h2>
 * Each candidate is a choice; its text is its parts' text (thought summaries left out), its
 * {@code functionCall} parts {@code tool_calls}. A call's id is Gemini's when it gave one, else
 * made up ({@code call_kp…}); a {@code thoughtSignature} Gemini attached to the call is carried in
 * the id after {@code __thought__} (the convention LiteLLM set), so that it goes back with the call
 * in the next turn, as Gemini 3 requires, through clients that keep nothing but the id. Finish
 * reasons: {@code MAX_TOKENS} is {@code length}, the safety and recitation stops
 * {@code content_filter}, a stop after calls {@code tool_calls}, a blocked prompt an empty answer
 * filtered for content. The usage's {@code cachedContentTokenCount} is
 * {@code prompt_tokens_details.cached_tokens}, {@code thoughtsTokenCount}
 * {@code completion_tokens_details.reasoning_tokens} (and part of the completion, as OpenAI counts
 * reasoning). A stream whose last chunk never said {@code finishReason} ends without {@code [DONE]}.
 */
public final class GeminiChatTranslator implements ChatTranslator {

    static final ChatInput.Support SUPPORT = new ChatInput.Support("Gemini", true, true, true, true, true, true);
    /** Separates a call's id from the thought signature Gemini attached to the call. */
    static final String SIGNATURE = "__thought__";
    /** Gemini 2.5's thinking budgets for OpenAI's efforts, as Google's OpenAI-compatible endpoint maps them. */
    private static final Map<String, Integer> BUDGETS = Map.of("none", 0, "low", 1024, "medium", 8192, "high", 24576);
    /** Gemini 3's thinking levels. */
    private static final Set<String> LEVELS = Set.of("minimal", "low", "medium", "high");
    private static final Set<String> FILTERED = Set.of("SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII",
            "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION");

    private final String baseUrl;
    private final Clock clock;
    private final boolean drop;
    /** The cap sent when the request set none, or {@code null} when the operator enforces none. */
    private final Long enforcedCap;

    public GeminiChatTranslator(RelayContext context) {
        this.baseUrl = context.config().baseUrl(Provider.GEMINI);
        this.clock = context.clock();
        this.drop = context.settings().dropUnsupported();
        this.enforcedCap = context.settings().enforceOutputCap() ? (long) context.settings().outputReserve() : null;
    }

    @Override
    public Provider provider() {
        return Provider.GEMINI;
    }

    @Override
    public RequestRefused check(JsonNode request, String model) {
        try {
            ChatInput input = ChatInput.read(request, SUPPORT);
            return Gap.refusal(gaps(input, model == null ? null : bare(model)), drop);
        } catch (RequestRefused refused) {
            return refused;
        }
    }

    @Override
    public Translation translate(JsonNode request, String model, String apiKey, boolean stream) {
        ChatInput input = ChatInput.read(request, SUPPORT);
        String name = bare(model);
        ObjectNode body = Json.object();
        contents(input, body);
        tools(input, body);
        ObjectNode config = generationConfig(input, name);
        if (!config.isEmpty()) {
            body.set("generationConfig", config);
        }
        URI uri = URI.create(baseUrl + "/v1beta/models/" + URLEncoder.encode(name, StandardCharsets.UTF_8)
                + (stream ? ":streamGenerateContent?alt=sse" : ":generateContent"));
        UpstreamRequest upstream = UpstreamRequest.postJson(uri, Json.writeBytes(body))
                .secretHeader(HeaderNames.create("x-goog-api-key"), apiKey);
        // the opening is judged on the OpenAI chunks the translation writes
        AnswerSpec spec = stream ? new AnswerSpec(AnswerSpec.Framing.SSE, GeminiApi.USAGE, List.of(), null, false)
                .openedBy(StreamOpening::chat) : AnswerSpec.document(GeminiApi.USAGE, List.of());
        List<Gap> gaps = gaps(input, name);
        RequestRefused refusal = Gap.refusal(gaps, drop);
        if (refusal != null) {
            throw refusal; // only where the key's own model differs from the one the route was checked for
        }
        return new Answer(name, input.includeUsage(), spec, upstream, clock.millis() / 1000, Gap.dropped(gaps, drop));
    }

    /**
     * The reader's gaps and those that depend on the model (its thinking; {@code null}: not known yet)
     * and on the images' detail.
     */
    private static List<Gap> gaps(ChatInput input, String model) {
        List<Gap> gaps = new ArrayList<>(input.gaps());
        if (input.reasoningEffort() != null && model != null && thinking(input.reasoningEffort(), model) == null) {
            gaps.add(new Gap("reasoning_effort", true, "'reasoning_effort: " + input.reasoningEffort()
                    + "' has no counterpart on Gemini's " + model + " (Gemini 2.5 takes none, low, medium and high;"
                    + " Gemini 3 minimal, low, medium and high)."));
        }
        String detail = null;
        boolean first = true;
        for (ChatInput.Message message : input.messages()) {
            for (ChatInput.Media media : message.media()) {
                if (media.kind() != ChatInput.MediaKind.IMAGE) {
                    continue;
                }
                if (!first && !Objects.equals(detail, media.detail())) {
                    gaps.add(new Gap(media.param() + ".image_url.detail", true, "Gemini takes one media resolution"
                            + " for the whole request, and the images ask for different details."));
                }
                detail = first ? media.detail() : detail;
                first = false;
            }
        }
        return gaps;
    }

    private static String bare(String model) {
        return model.startsWith("models/") ? model.substring("models/".length()) : model;
    }

    // ---- the request -------------------------------------------------------------------------------

    private static void contents(ChatInput input, ObjectNode body) {
        ArrayNode contents = body.putArray("contents");
        ArrayNode system = null;
        ObjectNode results = null;
        for (ChatInput.Message message : input.messages()) {
            if (message.role() == ChatInput.Role.SYSTEM) {
                system = system != null ? system : body.putObject("systemInstruction").putArray("parts");
                for (ChatInput.Part part : message.parts()) {
                    system.addObject().put("text", ((ChatInput.Text) part).text());
                }
                continue;
            }
            if (message.role() == ChatInput.Role.TOOL) {
                // the results of one turn's calls go together in one content, as Gemini counts them
                if (results == null) {
                    results = contents.addObject().put("role", "user");
                    results.putArray("parts");
                }
                ObjectNode response = ((ArrayNode) results.get("parts")).addObject().putObject("functionResponse");
                String id = geminiId(message.toolCallId());
                if (id != null) {
                    response.put("id", id);
                }
                response.put("name", message.toolName());
                String text = message.text("");
                JsonNode parsed = Json.parseOrMissing(text);
                response.set("response", parsed.isObject() ? parsed : Json.object().put("output", text));
                continue;
            }
            results = null;
            boolean model = message.role() == ChatInput.Role.ASSISTANT;
            ObjectNode content = contents.addObject().put("role", model ? "model" : "user");
            ArrayNode parts = content.putArray("parts");
            for (ChatInput.Part part : message.parts()) {
                if (part instanceof ChatInput.Text text) {
                    if (!model || !text.text().isEmpty()) {
                        parts.addObject().put("text", text.text());
                    }
                } else if (part instanceof ChatInput.Media media) {
                    parts.addObject().putObject("inlineData").put("mimeType", media.mimeType()).put("data", media.data());
                }
            }
            for (ChatInput.ToolCall call : message.toolCalls()) {
                ObjectNode part = parts.addObject();
                ObjectNode functionCall = part.putObject("functionCall");
                String id = geminiId(call.id());
                if (id != null) {
                    functionCall.put("id", id);
                }
                functionCall.put("name", call.name());
                functionCall.set("args", call.args());
                String signature = signature(call.id());
                if (signature != null) {
                    part.put("thoughtSignature", signature);
                }
            }
        }
    }

    private static void tools(ChatInput input, ObjectNode body) {
        if (input.tools().isEmpty()) {
            return;
        }
        ArrayNode declarations = body.putArray("tools").addObject().putArray("functionDeclarations");
        boolean strict = false;
        for (ChatInput.Tool tool : input.tools()) {
            ObjectNode declaration = declarations.addObject().put("name", tool.name());
            if (tool.description() != null) {
                declaration.put("description", tool.description());
            }
            if (tool.parameters() != null) {
                declaration.set("parametersJsonSchema", tool.parameters());
            }
            strict |= tool.strict();
        }
        ChatInput.ToolChoice choice = input.toolChoice();
        String mode;
        List<String> functions = choice == null ? List.of() : choice.functions();
        if (choice == null || choice.mode() == ChatInput.ToolMode.AUTO) {
            // AUTO takes no list of functions; VALIDATED is AUTO with calls held to the schema and the list
            mode = strict || !functions.isEmpty() ? "VALIDATED" : choice == null ? null : "AUTO";
        } else {
            mode = choice.mode() == ChatInput.ToolMode.NONE ? "NONE" : "ANY";
        }
        if (mode != null) {
            ObjectNode config = body.putObject("toolConfig").putObject("functionCallingConfig").put("mode", mode);
            if (!functions.isEmpty()) {
                ArrayNode names = config.putArray("allowedFunctionNames");
                functions.forEach(names::add);
            }
        }
    }

    private ObjectNode generationConfig(ChatInput input, String model) {
        ObjectNode config = Json.object();
        if (input.temperature() != null) {
            config.put("temperature", input.temperature());
        }
        if (input.topP() != null) {
            config.put("topP", input.topP());
        }
        if (input.maxTokens() != null) {
            config.put("maxOutputTokens", input.maxTokens());
        } else if (enforcedCap != null) {
            config.put("maxOutputTokens", enforcedCap);
        }
        if (!input.stop().isEmpty()) {
            ArrayNode stop = config.putArray("stopSequences");
            input.stop().forEach(stop::add);
        }
        if (input.seed() != null) {
            config.put("seed", input.seed());
        }
        if (input.choices() > 1) {
            config.put("candidateCount", input.choices());
        }
        if (input.presencePenalty() != null) {
            config.put("presencePenalty", input.presencePenalty());
        }
        if (input.frequencyPenalty() != null) {
            config.put("frequencyPenalty", input.frequencyPenalty());
        }
        if (input.logprobs()) {
            config.put("responseLogprobs", true);
            if (input.topLogprobs() != null) {
                config.put("logprobs", input.topLogprobs());
            }
        }
        ChatInput.Format format = input.format();
        if (format != null) {
            config.put("responseMimeType", "application/json");
            if (format.schema() != null) {
                config.set("responseJsonSchema", format.schema());
            }
        }
        if (input.reasoningEffort() != null) {
            ObjectNode thinking = thinking(input.reasoningEffort(), model);
            if (thinking != null) {
                config.set("thinkingConfig", thinking);
            }
        }
        for (ChatInput.Message message : input.messages()) {
            for (ChatInput.Media media : message.media()) {
                if (media.kind() == ChatInput.MediaKind.IMAGE && media.detail() != null) {
                    config.put("mediaResolution", "MEDIA_RESOLUTION_" + media.detail().toUpperCase(Locale.ROOT));
                }
            }
        }
        return config;
    }

    /** The {@code thinkingConfig} for OpenAI's {@code effort} on {@code model}, or {@code null} when it has none. */
    private static ObjectNode thinking(String effort, String model) {
        String name = model.toLowerCase(Locale.ROOT);
        if (name.startsWith("gemini-3") && LEVELS.contains(effort)) {
            return Json.object().put("thinkingLevel", effort);
        }
        if (name.startsWith("gemini-2.5") && BUDGETS.containsKey(effort)) {
            return Json.object().put("thinkingBudget", BUDGETS.get(effort));
        }
        return null;
    }

    /** The id to give Gemini back: its own, never one OpenAI, Ollama or keypool made ({@code call_…}). */
    private static String geminiId(String id) {
        int at = id.indexOf(SIGNATURE);
        String base = at < 0 ? id : id.substring(0, at);
        return base.isEmpty() || base.startsWith("call_") ? null : base;
    }

    private static String signature(String id) {
        int at = id.indexOf(SIGNATURE);
        return at < 0 || at + SIGNATURE.length() == id.length() ? null : id.substring(at + SIGNATURE.length());
    }

    // ---- the answer --------------------------------------------------------------------------------

    /** A candidate's text, calls and log probabilities. */
    private record Said(String text, List<ChatAnswers.ToolCall> calls, List<ChatAnswers.TokenLogprob> logprobs) {
    }

    /** Where one choice of a stream is. */
    private static final class ChoiceState {
        boolean started;
        int calls;
        boolean finished;
    }

    private static final class Answer extends TranslatedChat {

        private final Map<Integer, ChoiceState> choices = new TreeMap<>();
        private boolean blocked;

        Answer(String model, boolean includeUsage, AnswerSpec spec, UpstreamRequest upstream, long created,
                List<String> dropped) {
            super(model, includeUsage, spec, upstream, created, dropped);
        }

        @Override
        public byte[] completion(byte[] body) {
            JsonNode root = Json.parseOrMissing(new String(body, StandardCharsets.UTF_8));
            List<ChatAnswers.Choice> list = new ArrayList<>();
            JsonNode candidates = root.path("candidates");
            for (int i = 0; i < candidates.size(); i++) {
                JsonNode candidate = candidates.get(i);
                Said said = said(candidate);
                list.add(new ChatAnswers.Choice(candidate.path("index").asInt(i),
                        said.text.isEmpty() && !said.calls.isEmpty() ? null : said.text, said.calls,
                        finishReason(candidate, !said.calls.isEmpty()), said.logprobs));
            }
            if (list.isEmpty()) {
                list.add(new ChatAnswers.Choice(0, "", List.of(),
                        root.path("promptFeedback").has("blockReason") ? "content_filter" : "stop", null));
            }
            return ChatAnswers.completion(idOf(root), created, modelOf(root), list, usage(root.path("usageMetadata")));
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
            String version = modelOf(chunk);
            JsonNode candidates = chunk.path("candidates");
            if (candidates.isEmpty() && chunk.path("promptFeedback").has("blockReason")) {
                ChoiceState state = state(0);
                chunks.add(chunk(chunkId, version, ChatAnswers.Delta.finish(0, !state.started, "content_filter")));
                state.started = true;
                state.finished = true;
                blocked = true;
            }
            for (int i = 0; i < candidates.size(); i++) {
                JsonNode candidate = candidates.get(i);
                int index = candidate.path("index").asInt(i);
                ChoiceState state = state(index);
                Said said = said(candidate);
                if (!said.text.isEmpty() || said.logprobs != null && !said.logprobs.isEmpty()
                        || !state.started && said.calls.isEmpty()) {
                    chunks.add(chunk(chunkId, version, ChatAnswers.Delta.text(index, !state.started, said.text,
                            said.logprobs)));
                    state.started = true;
                }
                if (!said.calls.isEmpty()) {
                    chunks.add(chunk(chunkId, version, ChatAnswers.Delta.calls(index, !state.started, said.calls,
                            state.calls)));
                    state.calls += said.calls.size();
                    state.started = true;
                }
                if (candidate.has("finishReason")) {
                    chunks.add(chunk(chunkId, version, ChatAnswers.Delta.finish(index, !state.started,
                            finishReason(candidate, state.calls > 0))));
                    state.started = true;
                    state.finished = true;
                }
            }
            ChatAnswers.Usage reported = usage(chunk.path("usageMetadata"));
            usage = reported != null ? reported : usage;
            return chunks;
        }

        @Override
        public List<byte[]> end(boolean complete) {
            boolean finished = !choices.isEmpty() && choices.values().stream().allMatch(state -> state.finished);
            return end(complete, finished || blocked);
        }

        private ChoiceState state(int index) {
            return choices.computeIfAbsent(index, i -> new ChoiceState());
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

        private static Said said(JsonNode candidate) {
            StringBuilder text = new StringBuilder();
            List<ChatAnswers.ToolCall> calls = new ArrayList<>();
            for (JsonNode part : candidate.path("content").path("parts")) {
                if (part.has("functionCall")) {
                    JsonNode call = part.path("functionCall");
                    String given = Json.text(call, "id");
                    String callId = given != null ? given : OpenAiShapes.newToolCallId();
                    String signature = Json.text(part, "thoughtSignature");
                    JsonNode args = call.path("args");
                    calls.add(new ChatAnswers.ToolCall(signature == null ? callId : callId + SIGNATURE + signature,
                            Json.text(call, "name"), Json.write(args.isObject() ? args : Json.object())));
                } else if (!part.path("thought").asBoolean(false)) {
                    String value = Json.text(part, "text");
                    if (value != null) {
                        text.append(value);
                    }
                }
            }
            return new Said(text.toString(), calls, logprobs(candidate.path("logprobsResult")));
        }

        /** {@code logprobsResult} as OpenAI's {@code logprobs.content}, or {@code null} when there is none. */
        private static List<ChatAnswers.TokenLogprob> logprobs(JsonNode result) {
            if (!result.isObject()) {
                return null;
            }
            List<ChatAnswers.TokenLogprob> tokens = new ArrayList<>();
            JsonNode chosen = result.path("chosenCandidates");
            JsonNode top = result.path("topCandidates");
            for (int i = 0; i < chosen.size(); i++) {
                List<ChatAnswers.TokenLogprob> alternatives = new ArrayList<>();
                for (JsonNode alternative : top.path(i).path("candidates")) {
                    alternatives.add(new ChatAnswers.TokenLogprob(alternative.path("token").asText(""),
                            alternative.path("logProbability").asDouble(), List.of()));
                }
                tokens.add(new ChatAnswers.TokenLogprob(chosen.get(i).path("token").asText(""),
                        chosen.get(i).path("logProbability").asDouble(), alternatives));
            }
            return tokens;
        }

        private static String finishReason(JsonNode candidate, boolean called) {
            String reason = Json.text(candidate, "finishReason");
            if (reason == null || reason.equals("STOP")) {
                return called ? "tool_calls" : "stop";
            }
            if (reason.equals("MAX_TOKENS")) {
                return "length";
            }
            return FILTERED.contains(reason) ? "content_filter" : called ? "tool_calls" : "stop";
        }

        private static ChatAnswers.Usage usage(JsonNode usage) {
            if (!usage.isObject()) {
                return null;
            }
            long prompt = Math.max(Json.number(usage, "promptTokenCount"), 0)
                    + Math.max(Json.number(usage, "toolUsePromptTokenCount"), 0);
            long total = Json.number(usage, "totalTokenCount");
            if (total < 0) {
                total = prompt + Math.max(Json.number(usage, "candidatesTokenCount"), 0)
                        + Math.max(Json.number(usage, "thoughtsTokenCount"), 0);
            }
            long cached = Json.number(usage, "cachedContentTokenCount");
            long thoughts = Json.number(usage, "thoughtsTokenCount");
            return new ChatAnswers.Usage(prompt, Math.max(total - prompt, 0), total, cached >= 0 ? cached : null,
                    thoughts >= 0 ? thoughts : null);
        }
    }
}
