package dev.keypool.providers.openai;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.keypool.providers.internal.Json;
import dev.keypool.providers.relay.RequestRefused;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An OpenAI chat request as the translators to other providers read it: the conversation (text,
 * inline images, audio and files, the model's tool calls and the caller's tool results), the tools
 * and how they may be chosen, the response format and the sampling parameters. Read once per
 * translation from the request's JSON; immutable.
 *
 * <p>What a provider cannot carry is not dropped: each such parameter becomes a {@link Gap}, and a
 * request with a gap is refused ({@link #refusal}) naming it, unless the operator opted in to
 * dropping parameters ({@code KEYPOOL_DROP_UNSUPPORTED_PARAMS}) and the gap is {@linkplain
 * Gap#droppable droppable}: a request parameter, never a part of the conversation. The rules that
 * hold for every translation are here; what differs between providers is a {@link Support}, and a
 * translator adds the gaps that depend on its model (a thinking level, a capability).
 *
 * <p>A request OpenAI itself would refuse (a message without content, a tool result answering no
 * call, an image URL that is not one) is refused with {@code invalid_value}, as OpenAI would.
 */
public final class ChatInput {

    /** Who speaks: {@code developer} is read as {@code system}. */
    public enum Role { SYSTEM, USER, ASSISTANT, TOOL }

    /** One part of a message's content. */
    public sealed interface Part permits Text, Media {
    }

    public record Text(String text) implements Part {
    }

    /** What inline media is. */
    public enum MediaKind { IMAGE, AUDIO, FILE }

    /**
     * Media sent inline: its MIME type and its base64 data (as the caller sent it, never decoded).
     *
     * @param detail an image's {@code detail} other than {@code auto} ({@code low}, {@code high}), else {@code null}
     * @param param  where it is in the request ({@code messages[1].content[2]})
     */
    public record Media(MediaKind kind, String mimeType, String data, String detail, String param) implements Part {
    }

    /**
     * A call the model made, as the caller sends it back in an assistant message.
     *
     * @param arguments the arguments as the caller holds them (JSON text), read as an object when they are one
     */
    public record ToolCall(String id, String name, String arguments, ObjectNode args, String param) {
    }

    /**
     * One message.
     *
     * @param toolCallId for a tool result, the call it answers
     * @param toolName   for a tool result, the function of that call (from the assistant message that made it)
     * @param param      where it is in the request ({@code messages[3]})
     */
    public record Message(Role role, List<Part> parts, List<ToolCall> toolCalls, String toolCallId, String toolName,
            String param) {

        public Message {
            parts = List.copyOf(parts);
            toolCalls = List.copyOf(toolCalls);
        }

        /** The text parts, joined with {@code separator}. */
        public String text(String separator) {
            StringBuilder text = new StringBuilder();
            for (Part part : parts) {
                if (part instanceof Text piece) {
                    if (!text.isEmpty()) {
                        text.append(separator);
                    }
                    text.append(piece.text());
                }
            }
            return text.toString();
        }

        public List<Media> media() {
            List<Media> media = new ArrayList<>();
            for (Part part : parts) {
                if (part instanceof Media item) {
                    media.add(item);
                }
            }
            return media;
        }
    }

    /** A function the model may call; {@code parameters} is its JSON Schema, {@code null} for none. */
    public record Tool(String name, String description, JsonNode parameters, boolean strict, String param) {
    }

    /** How tools may be chosen. */
    public enum ToolMode { AUTO, NONE, REQUIRED }

    /** {@code tool_choice}: a mode, and the functions it is limited to (empty: any). */
    public record ToolChoice(ToolMode mode, List<String> functions) {

        public ToolChoice {
            functions = List.copyOf(functions);
        }
    }

    /** What the answer's text must be. */
    public enum FormatType { TEXT, JSON_OBJECT, JSON_SCHEMA }

    /**
     * {@code response_format}.
     *
     * @param schema the JSON Schema (with the format's {@code description} as its own when it has none),
     *               {@code null} for {@code json_object} or a {@code json_schema} without one
     */
    public record Format(FormatType type, JsonNode schema) {
    }

    /**
     * A parameter the provider has no counterpart for.
     *
     * @param droppable whether the operator's {@code KEYPOOL_DROP_UNSUPPORTED_PARAMS} may leave it out: a
     *                  request parameter may be, a part of the conversation never is
     */
    public record Gap(String param, boolean droppable, String reason) {

        /** The first gap that stops the request (any, unless {@code drop}), as the 400 that names it; else {@code null}. */
        public static RequestRefused refusal(List<Gap> gaps, boolean drop) {
            for (Gap gap : gaps) {
                if (!drop || !gap.droppable) {
                    return RequestRefused.unsupported(gap.param, gap.reason + (gap.droppable && !drop
                            ? " It is refused rather than dropped (KEYPOOL_DROP_UNSUPPORTED_PARAMS=true drops it instead)."
                            : ""));
                }
            }
            return null;
        }

        /** The parameters left out when {@code drop} is on (all gaps then being droppable). */
        public static List<String> dropped(List<Gap> gaps, boolean drop) {
            if (!drop) {
                return List.of();
            }
            List<String> names = new ArrayList<>();
            for (Gap gap : gaps) {
                if (gap.droppable && !names.contains(gap.param)) {
                    names.add(gap.param);
                }
            }
            return names;
        }
    }

    /**
     * What a provider carries beyond what every translation does.
     *
     * @param provider    its name, for the messages ({@code Gemini})
     * @param choices     {@code n} above 1
     * @param strictTools {@code tools[].function.strict: true}
     * @param forcedTools {@code tool_choice} {@code required}, a named function or {@code allowed_tools}
     * @param audio       {@code input_audio} parts
     * @param files       {@code file} parts with inline data
     * @param imageDetail an image's {@code detail} other than {@code auto}
     */
    public record Support(String provider, boolean choices, boolean strictTools, boolean forcedTools, boolean audio,
            boolean files, boolean imageDetail) {
    }

    /** Parameters every translation reads into this model. */
    private static final Set<String> READ = Set.of("model", "messages", "temperature", "top_p", "max_tokens",
            "max_completion_tokens", "stop", "seed", "stream", "stream_options", "tools", "tool_choice",
            "response_format", "n", "logprobs", "top_logprobs", "presence_penalty", "frequency_penalty",
            "parallel_tool_calls", "reasoning_effort");
    /** OpenAI's parameters that change nothing at these values, and that no other provider has otherwise. */
    private static final Map<String, Set<String>> NEUTRAL = Map.of("store", Set.of("false"),
            "service_tier", Set.of("auto", "default"), "verbosity", Set.of("medium"), "logit_bias", Set.of("{}"),
            "metadata", Set.of("{}"), "modalities", Set.of("[\"text\"]"));
    private static final Set<String> EFFORTS = Set.of("none", "minimal", "low", "medium", "high", "xhigh");
    private static final Pattern DATA_URL = Pattern.compile("^data:([^;,]*)((?:;[^;,=]+=[^;,]*)*);base64,(.*)$",
            Pattern.DOTALL);

    private final List<Message> messages;
    private final List<Tool> tools;
    private final ToolChoice toolChoice;
    private final Format format;
    private final Double temperature;
    private final Double topP;
    private final Long maxTokens;
    private final List<String> stop;
    private final Long seed;
    private final int choices;
    private final Double presencePenalty;
    private final Double frequencyPenalty;
    private final boolean logprobs;
    private final Integer topLogprobs;
    private final String reasoningEffort;
    private final boolean stream;
    private final boolean includeUsage;
    private final List<Gap> gaps;

    private ChatInput(Reader reader) {
        messages = List.copyOf(reader.messages);
        tools = List.copyOf(reader.tools);
        toolChoice = reader.toolChoice;
        format = reader.format;
        temperature = reader.temperature;
        topP = reader.topP;
        maxTokens = reader.maxTokens;
        stop = List.copyOf(reader.stop);
        seed = reader.seed;
        choices = reader.choices;
        presencePenalty = reader.presencePenalty;
        frequencyPenalty = reader.frequencyPenalty;
        logprobs = reader.logprobs;
        topLogprobs = reader.topLogprobs;
        reasoningEffort = reader.reasoningEffort;
        stream = reader.stream;
        includeUsage = reader.includeUsage;
        gaps = List.copyOf(reader.gaps);
    }

    /**
     * Reads {@code request} for a provider that carries what {@code support} says.
     *
     * @throws RequestRefused when the request is not one OpenAI would accept either
     */
    public static ChatInput read(JsonNode request, Support support) {
        if (!request.isObject()) {
            throw RequestRefused.notJson("The body must be a JSON object.");
        }
        Reader reader = new Reader(support);
        reader.read(request);
        return new ChatInput(reader);
    }

    public List<Message> messages() {
        return messages;
    }

    /** The tools offered, empty for none. */
    public List<Tool> tools() {
        return tools;
    }

    /** {@code null} when the request did not say. */
    public ToolChoice toolChoice() {
        return toolChoice;
    }

    /** Whether the model may call a tool: tools offered and {@code tool_choice} not {@code none}. */
    public boolean callsTools() {
        return !tools.isEmpty() && (toolChoice == null || toolChoice.mode() != ToolMode.NONE);
    }

    /** {@code null} for plain text. */
    public Format format() {
        return format;
    }

    public Double temperature() {
        return temperature;
    }

    public Double topP() {
        return topP;
    }

    /** {@code max_completion_tokens}, else {@code max_tokens}; {@code null} when the request set no cap (none is sent). */
    public Long maxTokens() {
        return maxTokens;
    }

    public List<String> stop() {
        return stop;
    }

    public Long seed() {
        return seed;
    }

    /** {@code n}: 1 unless asked for more. */
    public int choices() {
        return choices;
    }

    public Double presencePenalty() {
        return presencePenalty;
    }

    public Double frequencyPenalty() {
        return frequencyPenalty;
    }

    public boolean logprobs() {
        return logprobs;
    }

    /** {@code null} when not asked for. */
    public Integer topLogprobs() {
        return topLogprobs;
    }

    /** {@code null} when not asked for. */
    public String reasoningEffort() {
        return reasoningEffort;
    }

    public boolean stream() {
        return stream;
    }

    public boolean includeUsage() {
        return includeUsage;
    }

    /** Whether any message holds inline media of {@code kind}. */
    public boolean has(MediaKind kind) {
        for (Message message : messages) {
            for (Media media : message.media()) {
                if (media.kind() == kind) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * What the provider cannot carry: parameters it does not know first, then as the request is read
     * (messages, tools, …).
     */
    public List<Gap> gaps() {
        return gaps;
    }

    /** A gap for a parameter with no counterpart on {@code provider}. */
    public static Gap noCounterpart(String param, String provider) {
        return new Gap(param, true, "'" + param + "' has no counterpart on " + provider + ", which serves this model.");
    }

    // ---- reading -----------------------------------------------------------------------------------

    /** One pass over the request, collecting the model and its gaps. */
    private static final class Reader {

        private final Support support;
        private final List<Message> messages = new ArrayList<>();
        private final List<Tool> tools = new ArrayList<>();
        private final List<String> stop = new ArrayList<>();
        private final List<Gap> gaps = new ArrayList<>();
        private ToolChoice toolChoice;
        private Format format;
        private Double temperature;
        private Double topP;
        private Long maxTokens;
        private Long seed;
        private int choices = 1;
        private Double presencePenalty;
        private Double frequencyPenalty;
        private boolean logprobs;
        private Integer topLogprobs;
        private String reasoningEffort;
        private boolean stream;
        private boolean includeUsage;

        Reader(Support support) {
            this.support = support;
        }

        void read(JsonNode request) {
            for (Map.Entry<String, JsonNode> field : request.properties()) {
                String name = field.getKey();
                JsonNode value = field.getValue();
                if (value.isNull() || READ.contains(name)) {
                    continue;
                }
                Set<String> neutral = NEUTRAL.get(name);
                if (neutral != null && neutral.contains(normalized(value))) {
                    continue;
                }
                gaps.add(noCounterpart(name, support.provider()));
            }
            readMessages(request.path("messages"));
            readTools(request.path("tools"));
            readToolChoice(request.path("tool_choice"));
            readFormat(request.path("response_format"));
            temperature = number(request, "temperature");
            topP = number(request, "top_p");
            // a penalty of 0 is the default, and is not sent: some models refuse penalties altogether
            presencePenalty = nonZero(number(request, "presence_penalty"));
            frequencyPenalty = nonZero(number(request, "frequency_penalty"));
            JsonNode cap = request.hasNonNull("max_completion_tokens") ? request.get("max_completion_tokens")
                    : request.get("max_tokens");
            maxTokens = cap != null && cap.canConvertToLong() ? cap.asLong() : null;
            seed = request.path("seed").canConvertToLong() ? request.get("seed").asLong() : null;
            JsonNode stops = request.path("stop");
            if (stops.isTextual()) {
                stop.add(stops.asText());
            } else if (stops.isArray()) {
                stops.forEach(item -> stop.add(item.asText()));
            }
            JsonNode n = request.path("n");
            choices = n.canConvertToInt() && n.asInt() > 0 ? n.asInt() : 1;
            if (choices > 1 && !support.choices()) {
                gaps.add(noCounterpart("n", support.provider()));
            }
            logprobs = request.path("logprobs").asBoolean(false);
            topLogprobs = request.path("top_logprobs").canConvertToInt() ? request.get("top_logprobs").asInt() : null;
            if (request.path("parallel_tool_calls").isBoolean() && !request.get("parallel_tool_calls").asBoolean()) {
                gaps.add(new Gap("parallel_tool_calls", true, "'parallel_tool_calls: false' has no counterpart on "
                        + support.provider() + ", whose model may make several calls at once."));
            }
            JsonNode effort = request.path("reasoning_effort");
            if (effort.isTextual()) {
                reasoningEffort = effort.asText().toLowerCase(Locale.ROOT);
                if (!EFFORTS.contains(reasoningEffort)) {
                    throw RequestRefused.invalid("reasoning_effort", "Invalid value: '" + effort.asText()
                            + "'. Supported values are: 'none', 'minimal', 'low', 'medium', 'high' and 'xhigh'.");
                }
            }
            stream = request.path("stream").asBoolean(false);
            JsonNode options = request.path("stream_options");
            if (options.isObject()) {
                includeUsage = options.path("include_usage").asBoolean(false);
                for (Map.Entry<String, JsonNode> option : options.properties()) {
                    String key = option.getKey();
                    JsonNode value = option.getValue();
                    boolean neutral = value.isNull() || key.equals("include_usage")
                            || key.equals("include_obfuscation") && value.isBoolean() && !value.asBoolean();
                    if (!neutral) {
                        gaps.add(noCounterpart("stream_options." + key, support.provider()));
                    }
                }
            }
        }

        // ---- messages --------------------------------------------------------------------------

        private void readMessages(JsonNode list) {
            if (!list.isArray() || list.isEmpty()) {
                throw RequestRefused.invalid("messages", "'messages' must be a non-empty array.");
            }
            for (int i = 0; i < list.size(); i++) {
                JsonNode message = list.get(i);
                String where = "messages[" + i + "]";
                if (!message.isObject()) {
                    throw RequestRefused.invalid(where, "'" + where + "' must be an object.");
                }
                String role = message.path("role").asText("").toLowerCase(Locale.ROOT);
                switch (role) {
                    case "system", "developer" -> messages.add(spoken(Role.SYSTEM, message, where, Set.of()));
                    case "user" -> messages.add(spoken(Role.USER, message, where, Set.of()));
                    case "assistant" -> messages.add(assistant(message, where));
                    case "tool" -> messages.add(toolResult(message, where));
                    case "function" -> gaps.add(new Gap(where + ".role", false, "Messages of the deprecated role"
                            + " 'function' have no counterpart on " + support.provider() + ": use tools and 'tool' messages."));
                    default -> throw RequestRefused.invalid(where + ".role", "Invalid value: '"
                            + message.path("role").asText() + "'. Supported values are: 'system', 'developer', 'user',"
                            + " 'assistant' and 'tool'.");
                }
            }
        }

        /** A system, developer or user message: its content, and no field beyond {@code role}, {@code content} and {@code allowed}. */
        private Message spoken(Role role, JsonNode message, String where, Set<String> allowed) {
            otherFields(message, where, allowed);
            JsonNode content = message.path("content");
            if (!content.isTextual() && !content.isArray()) {
                throw RequestRefused.missing(where + ".content");
            }
            return new Message(role, parts(content, where, role), List.of(), null, null, where);
        }

        private Message assistant(JsonNode message, String where) {
            otherFields(message, where, Set.of("tool_calls"));
            JsonNode content = message.path("content");
            List<Part> parts = content.isTextual() || content.isArray() ? parts(content, where, Role.ASSISTANT)
                    : List.of();
            List<ToolCall> calls = new ArrayList<>();
            JsonNode list = message.path("tool_calls");
            for (int c = 0; c < list.size(); c++) {
                JsonNode call = list.get(c);
                String at = where + ".tool_calls[" + c + "]";
                if (!call.path("type").asText("function").equals("function")) {
                    gaps.add(new Gap(at + ".type", false, "Tool calls of type '" + call.path("type").asText()
                            + "' have no counterpart on " + support.provider() + "."));
                    continue;
                }
                String id = call.path("id").asText("");
                String name = call.path("function").path("name").asText("");
                if (id.isEmpty() || name.isEmpty()) {
                    throw RequestRefused.missing(at + (id.isEmpty() ? ".id" : ".function.name"));
                }
                String arguments = call.path("function").path("arguments").asText("");
                ObjectNode args = null;
                JsonNode parsed = arguments.isBlank() ? Json.object() : Json.parseOrMissing(arguments);
                if (parsed.isObject()) {
                    args = (ObjectNode) parsed;
                } else {
                    gaps.add(new Gap(at + ".function.arguments", false, support.provider() + " takes a call's"
                            + " arguments as a JSON object, and these are not one."));
                }
                calls.add(new ToolCall(id, name, arguments, args, at));
            }
            if (parts.isEmpty() && calls.isEmpty() && list.isEmpty()) {
                throw RequestRefused.missing(where + ".content");
            }
            return new Message(Role.ASSISTANT, parts, calls, null, null, where);
        }

        private Message toolResult(JsonNode message, String where) {
            otherFields(message, where, Set.of("tool_call_id"));
            String id = message.path("tool_call_id").asText("");
            if (id.isEmpty()) {
                throw RequestRefused.missing(where + ".tool_call_id");
            }
            String name = null;
            for (int m = messages.size() - 1; m >= 0 && name == null; m--) {
                for (ToolCall call : messages.get(m).toolCalls()) {
                    if (call.id().equals(id)) {
                        name = call.name();
                    }
                }
            }
            if (name == null) {
                throw RequestRefused.invalid(where + ".tool_call_id", "Invalid parameter: messages with role 'tool'"
                        + " must be a response to a preceding message with 'tool_calls' (no call has the id '" + id + "').");
            }
            JsonNode content = message.path("content");
            if (!content.isTextual() && !content.isArray()) {
                throw RequestRefused.missing(where + ".content");
            }
            return new Message(Role.TOOL, parts(content, where, Role.TOOL), List.of(), id, name, where);
        }

        /**
         * Refuses the fields of a message beyond {@code role}, {@code content} and {@code allowed}. An
         * empty {@code annotations} list is what OpenAI's own answers hold, and clients send back.
         */
        private void otherFields(JsonNode message, String where, Set<String> allowed) {
            for (Map.Entry<String, JsonNode> field : message.properties()) {
                String name = field.getKey();
                JsonNode value = field.getValue();
                if (value.isNull() || name.equals("role") || name.equals("content") || allowed.contains(name)
                        || name.equals("annotations") && value.isArray() && value.isEmpty()) {
                    continue;
                }
                // a message's name is a label, droppable; its refusal or audio is what was said
                gaps.add(new Gap(where + "." + name, name.equals("name"), "'" + where + "." + name
                        + "' has no counterpart on " + support.provider() + ", which serves this model."));
            }
        }

        private List<Part> parts(JsonNode content, String where, Role role) {
            if (content.isTextual()) {
                return List.of(new Text(content.asText()));
            }
            List<Part> parts = new ArrayList<>();
            for (int p = 0; p < content.size(); p++) {
                JsonNode part = content.get(p);
                String at = where + ".content[" + p + "]";
                String type = part.path("type").asText("");
                boolean media = role == Role.USER;
                switch (type) {
                    case "text" -> {
                        if (!part.path("text").isTextual()) {
                            throw RequestRefused.missing(at + ".text");
                        }
                        parts.add(new Text(part.get("text").asText()));
                    }
                    case "image_url" -> {
                        if (media) {
                            image(part, at, parts);
                        } else {
                            unsupportedPart(at, type);
                        }
                    }
                    case "input_audio" -> {
                        if (media && support.audio()) {
                            audio(part, at, parts);
                        } else {
                            unsupportedPart(at, type);
                        }
                    }
                    case "file" -> {
                        if (media && support.files()) {
                            file(part, at, parts);
                        } else {
                            unsupportedPart(at, type);
                        }
                    }
                    default -> unsupportedPart(at, type.isEmpty() ? "without a type" : type);
                }
            }
            return parts;
        }

        private void unsupportedPart(String at, String type) {
            gaps.add(new Gap(at, false, "Content parts of type '" + type + "' have no counterpart here on "
                    + support.provider() + ", which serves this model."));
        }

        private void image(JsonNode part, String at, List<Part> parts) {
            JsonNode image = part.path("image_url");
            String url = image.isTextual() ? image.asText() : image.path("url").asText("");
            String detail = image.path("detail").asText("auto").toLowerCase(Locale.ROOT);
            if (url.startsWith("http://") || url.startsWith("https://")) {
                gaps.add(new Gap(at, false, "'" + at + "' is an image by URL: keypool does not fetch caller-supplied"
                        + " URLs (a server-side request forgery risk), and " + support.provider() + " cannot take one"
                        + " directly. Send the image inline as a data URL (data:image/png;base64,…)."));
                return;
            }
            Matcher data = DATA_URL.matcher(url);
            if (!data.matches() || !data.group(1).toLowerCase(Locale.ROOT).startsWith("image/")) {
                throw RequestRefused.invalid(at + ".image_url.url", "Invalid image URL: expected a URL"
                        + " (https://…) or a base64 data URL of an image (data:image/png;base64,…).");
            }
            String kept = null;
            if (!detail.equals("auto")) {
                if (support.imageDetail()) {
                    kept = detail;
                } else {
                    gaps.add(noCounterpart(at + ".image_url.detail", support.provider()));
                }
            }
            parts.add(new Media(MediaKind.IMAGE, data.group(1).toLowerCase(Locale.ROOT), data.group(3), kept, at));
        }

        private void audio(JsonNode part, String at, List<Part> parts) {
            JsonNode audio = part.path("input_audio");
            String format = audio.path("format").asText("");
            if (!format.equals("wav") && !format.equals("mp3")) {
                throw RequestRefused.invalid(at + ".input_audio.format", "Invalid value: '" + format
                        + "'. Supported values are: 'wav' and 'mp3'.");
            }
            if (!audio.path("data").isTextual()) {
                throw RequestRefused.missing(at + ".input_audio.data");
            }
            parts.add(new Media(MediaKind.AUDIO, "audio/" + format, audio.get("data").asText(), null, at));
        }

        private void file(JsonNode part, String at, List<Part> parts) {
            JsonNode file = part.path("file");
            if (file.hasNonNull("file_id")) {
                gaps.add(new Gap(at + ".file.file_id", false, "'" + at + ".file.file_id' names a file in OpenAI's"
                        + " storage, which " + support.provider() + " cannot read. Send the file inline (file_data)."));
                return;
            }
            if (file.hasNonNull("filename")) {
                gaps.add(noCounterpart(at + ".file.filename", support.provider()));
            }
            Matcher data = DATA_URL.matcher(file.path("file_data").asText(""));
            if (!data.matches() || data.group(1).isEmpty()) {
                throw RequestRefused.invalid(at + ".file.file_data", "Invalid file data: expected a base64 data URL"
                        + " (data:application/pdf;base64,…).");
            }
            parts.add(new Media(MediaKind.FILE, data.group(1).toLowerCase(Locale.ROOT), data.group(3), null, at));
        }

        // ---- tools -----------------------------------------------------------------------------

        private void readTools(JsonNode list) {
            if (list.isMissingNode() || list.isNull()) {
                return;
            }
            if (!list.isArray()) {
                throw RequestRefused.invalid("tools", "'tools' must be an array.");
            }
            for (int t = 0; t < list.size(); t++) {
                JsonNode tool = list.get(t);
                String at = "tools[" + t + "]";
                if (!tool.path("type").asText("").equals("function")) {
                    gaps.add(new Gap(at, true, "Tools of type '" + tool.path("type").asText() + "' have no"
                            + " counterpart on " + support.provider() + ", which serves this model."));
                    continue;
                }
                JsonNode function = tool.path("function");
                String name = function.path("name").asText("");
                if (name.isEmpty()) {
                    throw RequestRefused.missing(at + ".function.name");
                }
                JsonNode parameters = function.path("parameters");
                if (!parameters.isMissingNode() && !parameters.isNull() && !parameters.isObject()) {
                    throw RequestRefused.invalid(at + ".function.parameters", "'" + at
                            + ".function.parameters' must be a JSON Schema object.");
                }
                boolean strict = function.path("strict").asBoolean(false);
                if (strict && !support.strictTools()) {
                    gaps.add(new Gap(at + ".function.strict", true, "'" + at + ".function.strict' has no counterpart"
                            + " on " + support.provider() + ", which cannot hold a call's arguments to the schema."));
                    strict = false;
                }
                for (Map.Entry<String, JsonNode> field : function.properties()) {
                    if (!Set.of("name", "description", "parameters", "strict").contains(field.getKey())
                            && !field.getValue().isNull()) {
                        gaps.add(noCounterpart(at + ".function." + field.getKey(), support.provider()));
                    }
                }
                tools.add(new Tool(name, Json.text(function, "description"),
                        parameters.isObject() ? parameters : null, strict, at));
            }
        }

        private void readToolChoice(JsonNode choice) {
            if (choice.isMissingNode() || choice.isNull()) {
                return;
            }
            if (choice.isTextual()) {
                switch (choice.asText()) {
                    case "auto" -> toolChoice = new ToolChoice(ToolMode.AUTO, List.of());
                    case "none" -> toolChoice = new ToolChoice(ToolMode.NONE, List.of());
                    case "required" -> toolChoice = forced(ToolMode.REQUIRED, List.of());
                    default -> throw RequestRefused.invalid("tool_choice", "Invalid value: '" + choice.asText()
                            + "'. Supported values are: 'none', 'auto' and 'required'.");
                }
                return;
            }
            String type = choice.path("type").asText("");
            if (type.equals("function") && choice.path("function").path("name").isTextual()) {
                toolChoice = forced(ToolMode.REQUIRED, List.of(choice.path("function").path("name").asText()));
            } else if (type.equals("allowed_tools")) {
                JsonNode allowed = choice.path("allowed_tools");
                List<String> names = new ArrayList<>();
                for (JsonNode tool : allowed.path("tools")) {
                    if (!tool.path("type").asText("").equals("function")) {
                        gaps.add(noCounterpart("tool_choice.allowed_tools.tools", support.provider()));
                        return;
                    }
                    names.add(tool.path("function").path("name").asText());
                }
                ToolMode mode = allowed.path("mode").asText("auto").equals("required") ? ToolMode.REQUIRED
                        : ToolMode.AUTO;
                toolChoice = forced(mode, names);
            } else {
                gaps.add(noCounterpart("tool_choice", support.provider()));
            }
        }

        private ToolChoice forced(ToolMode mode, List<String> functions) {
            if (!support.forcedTools()) {
                gaps.add(new Gap("tool_choice", true, "'tool_choice' that requires or limits the tools has no"
                        + " counterpart on " + support.provider() + ", which serves this model."));
                return null;
            }
            return new ToolChoice(mode, functions);
        }

        private void readFormat(JsonNode value) {
            if (value.isMissingNode() || value.isNull()) {
                return;
            }
            switch (value.path("type").asText("")) {
                case "text" -> format = null;
                case "json_object" -> format = new Format(FormatType.JSON_OBJECT, null);
                case "json_schema" -> {
                    JsonNode spec = value.path("json_schema");
                    JsonNode schema = spec.path("schema");
                    if (!schema.isMissingNode() && !schema.isObject()) {
                        throw RequestRefused.invalid("response_format.json_schema.schema",
                                "'response_format.json_schema.schema' must be a JSON Schema object.");
                    }
                    String description = Json.text(spec, "description");
                    if (description != null && schema.isObject() && !schema.has("description")) {
                        ObjectNode described = ((ObjectNode) schema).deepCopy();
                        described.put("description", description);
                        schema = described;
                    } else if (description != null && schema.isObject()
                            && !description.equals(schema.path("description").asText())) {
                        gaps.add(new Gap("response_format.json_schema.description", true, "The schema has a"
                                + " description of its own, and " + support.provider() + " takes only the schema."));
                    }
                    format = new Format(FormatType.JSON_SCHEMA, schema.isObject() ? schema : null);
                }
                default -> throw RequestRefused.invalid("response_format.type", "Invalid value: '"
                        + value.path("type").asText() + "'. Supported values are: 'text', 'json_object' and 'json_schema'.");
            }
        }

        private static Double number(JsonNode request, String field) {
            return request.path(field).isNumber() ? request.get(field).asDouble() : null;
        }

        private static Double nonZero(Double value) {
            return value == null || value == 0 ? null : value;
        }

        private static String normalized(JsonNode value) {
            if (value.isNumber()) {
                return value.decimalValue().stripTrailingZeros().toPlainString();
            }
            return value.isValueNode() ? value.asText() : Json.write(value);
        }
    }

    @Override
    public String toString() {
        return "ChatInput(" + messages.size() + " messages, " + tools.size() + " tools, gaps " + gaps + ")";
    }
}
