package dev.keypool.providers;

import static dev.keypool.providers.Keys.GEMINI_0;
import static dev.keypool.providers.Keys.OPENAI_0;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.keypool.config.Provider;
import dev.keypool.providers.fake.FakeGemini;
import dev.keypool.providers.fake.FakeOllama;
import dev.keypool.providers.fake.FakeOpenAi;
import dev.keypool.providers.fake.FakeUpstream;
import dev.keypool.providers.fake.GeminiFunctionCall;
import dev.keypool.providers.fake.OllamaToolCall;
import dev.keypool.providers.fake.RecordedRequest;
import dev.keypool.providers.fake.Reply;
import dev.keypool.providers.internal.Json;
import dev.keypool.providers.relay.Head;
import dev.keypool.providers.relay.Inbound;
import dev.keypool.providers.relay.RequestRefused;
import dev.keypool.providers.relay.Sink;
import dev.keypool.usage.InMemoryAffinityStore;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Builds {@code docs/COMPATIBILITY.md} from what the relay does, and fails when the committed file
 * differs: every OpenAI chat parameter and answer field, on OpenAI, Gemini and Ollama, as passed,
 * translated (to the provider fields the parameter changed, found by comparing the request each
 * fake received with and without it) or refused (the 400's {@code param}).
 *
 * <p>A parameter that is accepted but changes nothing upstream fails the test, unless it is one of
 * the few whose value is the provider's default or that only shape the answer ({@link #NO_EFFECT}):
 * nothing is silently lost. Regenerate the file after a change in translation with
 * {@code ./mvnw -B -ntp -q verify -pl keypool-providers -am -Dtest=CompatibilityTableTest
 * -Dsurefire.failIfNoSpecifiedTests=false -Dkeypool.compatibility.write=true}.
 */
class CompatibilityTableTest {

    static final String ASK = "{\"role\":\"user\",\"content\":\"Weather in Paris?\"}";
    static final String TOOL = "{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":"
            + "\"The weather\",\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}}}";
    static final String TOOLS = "\"tools\":[" + TOOL + "]";
    static final String SCHEMA = "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}";
    static final String PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
    static final String CALL = "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_abc123\",\"type\":"
            + "\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}}]}";
    static final String RESULT = "{\"role\":\"tool\",\"tool_call_id\":\"call_abc123\",\"content\":\"{\\\"celsius\\\":18}\"}";

    /** Request parameters that change no provider's request, and why; anything else that changes nothing fails. */
    static final Map<String, String> NO_EFFECT = Map.of(
            "tool_choice: \"auto\"|Ollama", "the default, Ollama's only way",
            "response_format: text", "the default",
            "response_format.json_schema.name", "an identifier, not sent",
            "response_format.json_schema.strict", "output is held to the schema either way",
            "stream_options.include_usage", "the usage chunk is written from the provider's own counts",
            "stream_options.include_obfuscation: false", "nothing is added",
            "parallel_tool_calls: true", "the default");

    private final FakeOpenAi openai = FakeOpenAi.start();
    private final FakeGemini gemini = FakeGemini.start();
    private final FakeOllama ollama = FakeOllama.start();
    private TestPool pool;
    private Relay relay;

    @AfterEach
    void close() {
        relay.close();
        pool.close();
        openai.close();
        gemini.close();
        ollama.close();
    }

    /**
     * One row of the request table: a parameter, how a request shows it (messages, then more fields),
     * and the request it is compared with, which lacks only the parameter.
     */
    record Case(String name, String example, List<String> messages, String more, List<String> baseMessages,
            String baseMore) {

        /** The same row compared with a request of these fields. */
        Case against(String fields) {
            return new Case(name, example, messages, more, baseMessages, fields);
        }

        /** The same row compared with a request of these messages. */
        Case againstMessages(String... list) {
            return new Case(name, example, messages, more, List.of(list), baseMore);
        }
    }

    static Case top(String name, String fragment) {
        String value = fragment.substring(fragment.indexOf(':') + 1);
        return top(name, "`" + (value.length() > 44 ? value.substring(0, 40) + "…" : value) + "`", fragment);
    }

    static Case top(String name, String example, String fragment) {
        return new Case(name, example, List.of(ASK), fragment, List.of(ASK), "");
    }

    static Case withTools(String name, String example, String fragment) {
        return new Case(name, example, List.of(ASK), TOOLS + "," + fragment, List.of(ASK), TOOLS);
    }

    static Case conversation(String name, String example, String... messages) {
        return new Case(name, example, List.of(messages), "", List.of(ASK), "");
    }

    static List<Case> requestCases() {
        String image = "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64," + PNG + "\"%s}}";
        String what = "{\"type\":\"text\",\"text\":\"What is it?\"}";
        String justText = "{\"role\":\"user\",\"content\":[" + what + "]}";
        String schemaFormat = "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"w\",\"schema\":"
                + SCHEMA + "}}";
        return List.of(
                conversation("messages: system / developer", "a system message", "{\"role\":\"system\",\"content\":"
                        + "\"Be brief.\"}", ASK),
                conversation("messages[].content: text parts", "two text parts", "{\"role\":\"user\",\"content\":["
                        + "{\"type\":\"text\",\"text\":\"Weather\"},{\"type\":\"text\",\"text\":\" in Paris?\"}]}"),
                conversation("messages[].content: image_url (data URL)", "a PNG inline", "{\"role\":\"user\",\"content\":["
                        + what + "," + image.formatted("") + "]}").againstMessages(justText),
                conversation("messages[].content: image_url (https URL)", "a remote image", "{\"role\":\"user\","
                        + "\"content\":[" + what + ",{\"type\":\"image_url\",\"image_url\":{\"url\":"
                        + "\"https://example.com/a.png\"}}]}"),
                conversation("messages[].content[].image_url.detail", "`low`", "{\"role\":\"user\",\"content\":["
                        + what + "," + image.formatted(",\"detail\":\"low\"") + "]}")
                        .againstMessages("{\"role\":\"user\",\"content\":[" + what + "," + image.formatted("") + "]}"),
                conversation("messages[].content: input_audio", "a WAV clip", "{\"role\":\"user\",\"content\":["
                        + what + ",{\"type\":\"input_audio\",\"input_audio\":{\"data\":\"UklGRg==\",\"format\":\"wav\"}}]}")
                        .againstMessages(justText),
                conversation("messages[].content: file (file_data)", "a PDF inline", "{\"role\":\"user\",\"content\":["
                        + what + ",{\"type\":\"file\",\"file\":{\"file_data\":\"data:application/pdf;base64,JVBERi0=\"}}]}")
                        .againstMessages(justText),
                conversation("messages[].content: file (file_id)", "an OpenAI file", "{\"role\":\"user\",\"content\":["
                        + "{\"type\":\"file\",\"file\":{\"file_id\":\"file-abc\"}}]}"),
                conversation("messages[].name", "`ada`", "{\"role\":\"user\",\"name\":\"ada\",\"content\":\"Hi\"}"),
                conversation("messages[].tool_calls, role: tool", "a call and its result", ASK, CALL, RESULT),
                conversation("messages: role function (deprecated)", "a function result", ASK,
                        "{\"role\":\"function\",\"name\":\"get_weather\",\"content\":\"{}\"}"),
                top("tools", TOOLS),
                top("tools[].function.strict", "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
                        + "\"description\":\"The weather\",\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":"
                        + "{\"type\":\"string\"}}},\"strict\":true}}]").against(TOOLS),
                top("tools: type custom", "\"tools\":[{\"type\":\"custom\",\"custom\":{\"name\":\"grammar\"}}]"),
                withTools("tool_choice: \"none\"", "`\"none\"`", "\"tool_choice\":\"none\""),
                withTools("tool_choice: \"auto\"", "`\"auto\"`", "\"tool_choice\":\"auto\""),
                withTools("tool_choice: \"required\"", "`\"required\"`", "\"tool_choice\":\"required\""),
                withTools("tool_choice: a function", "`get_weather`", "\"tool_choice\":{\"type\":\"function\","
                        + "\"function\":{\"name\":\"get_weather\"}}"),
                withTools("tool_choice: allowed_tools", "auto among `get_weather`", "\"tool_choice\":{\"type\":"
                        + "\"allowed_tools\",\"allowed_tools\":{\"mode\":\"auto\",\"tools\":[{\"type\":\"function\","
                        + "\"function\":{\"name\":\"get_weather\"}}]}}"),
                withTools("parallel_tool_calls: true", "`true`", "\"parallel_tool_calls\":true"),
                withTools("parallel_tool_calls: false", "`false`", "\"parallel_tool_calls\":false"),
                top("response_format: text", "\"response_format\":{\"type\":\"text\"}"),
                top("response_format: json_object", "\"response_format\":{\"type\":\"json_object\"}"),
                top("response_format: json_schema", schemaFormat),
                top("response_format.json_schema.name", "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":"
                        + "{\"name\":\"another\",\"schema\":" + SCHEMA + "}}").against(schemaFormat),
                top("response_format.json_schema.strict", "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":"
                        + "{\"name\":\"w\",\"strict\":true,\"schema\":" + SCHEMA + "}}").against(schemaFormat),
                top("temperature", "\"temperature\":0.5"),
                top("top_p", "\"top_p\":0.9"),
                top("max_tokens", "\"max_tokens\":100"),
                top("max_completion_tokens", "\"max_completion_tokens\":100"),
                top("stop", "\"stop\":[\"END\"]"),
                top("seed", "\"seed\":7"),
                top("n", "\"n\":2"),
                top("presence_penalty", "\"presence_penalty\":0.5"),
                top("frequency_penalty", "\"frequency_penalty\":0.5"),
                top("logprobs", "\"logprobs\":true"),
                top("top_logprobs", "`2`", "\"logprobs\":true,\"top_logprobs\":2").against("\"logprobs\":true"),
                top("reasoning_effort", "\"reasoning_effort\":\"low\""),
                top("stream", "\"stream\":true"),
                top("stream_options.include_usage", "`true`", "\"stream\":true,\"stream_options\":{\"include_usage\":true}")
                        .against("\"stream\":true"),
                top("stream_options.include_obfuscation: false", "`false`", "\"stream\":true,\"stream_options\":"
                        + "{\"include_obfuscation\":false}").against("\"stream\":true"),
                top("logit_bias", "\"logit_bias\":{\"50256\":-100}"),
                top("user", "\"user\":\"u-1\""),
                top("safety_identifier", "\"safety_identifier\":\"s-1\""),
                top("store", "\"store\":true"),
                top("metadata", "\"metadata\":{\"team\":\"a\"}"),
                top("prompt_cache_key", "\"prompt_cache_key\":\"k\""),
                top("prompt_cache_retention", "\"prompt_cache_retention\":\"24h\""),
                top("prediction", "\"prediction\":{\"type\":\"content\",\"content\":\"x\"}"),
                top("audio", "\"audio\":{\"voice\":\"alloy\",\"format\":\"wav\"}"),
                top("modalities", "\"modalities\":[\"text\",\"audio\"]"),
                top("web_search_options", "\"web_search_options\":{}"),
                top("verbosity", "\"verbosity\":\"low\""),
                top("service_tier", "\"service_tier\":\"flex\""),
                top("functions", "\"functions\":[{\"name\":\"get_weather\"}]"),
                top("function_call", "\"function_call\":\"auto\""));
    }

    // ---- the table ---------------------------------------------------------------------------------

    @Test
    void compatibilityTable_isWhatTheTranslatorsDo_andMatchesDocsCompatibilityMd() throws IOException {
        pool = TestPool.builder().keys(openai, OPENAI_0).keys(gemini, GEMINI_0).ollama(ollama).build();
        relay = Relay.create(pool.rotator, new InMemoryAffinityStore());
        ollama.setCapabilities("llama3.2", "completion", "tools", "vision", "thinking");

        StringBuilder table = new StringBuilder();
        table.append(HEADER);
        table.append("## Request\n\n| OpenAI parameter | example | OpenAI | Gemini | Ollama |\n|---|---|---|---|---|\n");
        List<String> lost = new ArrayList<>();
        for (Case row : requestCases()) {
            table.append("| `").append(row.name().replace("|", "\\|")).append("` | ").append(row.example()).append(" | ")
                    .append(onOpenAi(row)).append(" | ")
                    .append(translated(row, "gemini-2.5-flash", gemini, "/v1beta", "Gemini", lost)).append(" | ")
                    .append(translated(row, "llama3.2", ollama, "/api/chat", "Ollama", lost)).append(" |\n");
        }
        table.append("\n## Answer\n\n| OpenAI field | Gemini | Ollama |\n|---|---|---|\n");
        for (AnswerRow row : answerRows()) {
            table.append("| `").append(row.field()).append("` | ").append(answered(row, "gemini-2.5-flash", gemini,
                    row.gemini())).append(" | ").append(answered(row, "llama3.2", ollama, row.ollama())).append(" |\n");
        }

        assertThat(lost).as("accepted, yet changed nothing the provider received: silently lost").isEmpty();
        Path file = repositoryRoot().resolve("docs/COMPATIBILITY.md");
        if (Boolean.getBoolean("keypool.compatibility.write")) {
            Files.writeString(file, table.toString());
        }
        assertThat(Files.exists(file) ? Files.readString(file) : "")
                .as("docs/COMPATIBILITY.md is not what the translators do; regenerate it with -Dkeypool.compatibility.write=true"
                        + " (see this test's Javadoc)")
                .isEqualTo(table.toString());
    }

    static final String HEADER = """
            # Compatibility: OpenAI's chat on Gemini and Ollama

            What an OpenAI chat request (`POST /v1/chat/completions`, or the library's `LlmService`) becomes
            on each provider, and where each field of the answer comes from. **Generated** by
            `CompatibilityTableTest` from what the relay does against the protocol-faithful fakes; do not edit
            it by hand. After a change in translation, regenerate it:

            ```bash
            ./mvnw -B -ntp -q verify -pl keypool-providers -am -Dtest=CompatibilityTableTest \\
                -Dsurefire.failIfNoSpecifiedTests=false -Dkeypool.compatibility.write=true
            ```

            - **passed**: OpenAI receives the request byte for byte.
            - **→ `field`**: translated; the provider fields the parameter changed in the request it received
              (`[]` stands for any element; `(URL)` for the request's path and query); **leaves out**: the
              fields it took away.
            - **refused**: a 400 in OpenAI's shape, `code: "unsupported_parameter"`, `param` naming it (shown
              when it is more precise than the row), before any call and before anything is reserved; with
              `auto` or `KEYPOOL_FALLBACKS` the route is skipped instead, said in `x-keypool-failover`. With
              `KEYPOOL_DROP_UNSUPPORTED_PARAMS=true` a refused request parameter (not a part of the
              conversation) is left out and named in `x-keypool-dropped-params`.
            - **no effect**: accepted, and nothing needs to change (a default), for the reason given.

            Gemini is its native `generateContent` API (see docs/DECISIONS.md for why not its OpenAI-compatible
            endpoint), here for `gemini-2.5-flash`; Ollama is `/api/chat`, here for a model whose `/api/show`
            capabilities include `tools`, `vision` and `thinking`: a model without them makes the route skip
            tools, images or `reasoning_effort` (refused when no other route can carry them).

            """;

    private static String body(Case row, String model) {
        return body(row.messages(), row.more(), model);
    }

    private static String body(List<String> messages, String more, String model) {
        return "{\"model\":\"" + model + "\",\"messages\":[" + String.join(",", messages) + "]"
                + (more.isEmpty() ? "" : "," + more) + "}";
    }

    private String onOpenAi(Case row) {
        openai.reset();
        openai.replyByDefault(FakeOpenAi.completion("Sunny.", 8, 2));
        String body = body(row, "gpt-4o");
        send(body);
        List<RecordedRequest> received = openai.requests("/v1/chat/completions");
        assertThat(received).as(row.name()).hasSize(1);
        JsonNode got = received.get(0).json();
        boolean added = got.path("stream_options").path("include_usage").asBoolean(false)
                && !Json.parseOrMissing(body).path("stream_options").has("include_usage");
        if (!added) {
            assertThat(received.get(0).bodyBytes()).as(row.name()).isEqualTo(body.getBytes(StandardCharsets.UTF_8));
            return "passed";
        }
        // a stream is asked for its usage, which keypool hides again (keypool-server/README.md)
        ObjectNode options = (ObjectNode) got.path("stream_options");
        options.remove("include_usage");
        if (options.isEmpty()) {
            ((ObjectNode) got).remove("stream_options");
        }
        assertThat(got).as(row.name()).isEqualTo(Json.parseOrMissing(body));
        return "passed, with `stream_options.include_usage` (its chunk hidden)";
    }

    private String translated(Case row, String model, FakeUpstream fake, String path, String provider, List<String> lost) {
        JsonNode with;
        try {
            with = upstream(body(row, model), fake, path);
        } catch (RequestRefused refused) {
            assertThat(refused.code()).as(row.name()).isEqualTo("unsupported_parameter");
            String param = refused.param();
            return param.equals(bareName(row.name())) ? "refused" : "refused (`" + param + "`)";
        }
        JsonNode without = upstream(body(row.baseMessages(), row.baseMore(), model), fake, path);
        Set<String> changed = new LinkedHashSet<>();
        diff("", without, with, changed);
        if (changed.isEmpty()) {
            String reason = NO_EFFECT.getOrDefault(row.name() + "|" + provider, NO_EFFECT.get(row.name()));
            if (reason == null) {
                lost.add(row.name() + " on " + provider);
                return "LOST";
            }
            return "no effect: " + reason;
        }
        List<String> added = new ArrayList<>();
        List<String> removed = new ArrayList<>();
        for (String changedPath : changed) {
            if (changedPath.startsWith(REMOVED)) {
                removed.add("`" + changedPath.substring(REMOVED.length()) + "`");
            } else {
                added.add("`" + changedPath + "`");
            }
        }
        return (added.isEmpty() ? "" : "→ " + String.join(", ", added))
                + (removed.isEmpty() ? "" : (added.isEmpty() ? "" : "; ") + "leaves out " + String.join(", ", removed));
    }

    /** The parameter a row is about, as a refusal would name it. */
    private static String bareName(String name) {
        int colon = name.indexOf(':');
        return (colon < 0 ? name : name.substring(0, colon)).trim();
    }

    /** What the fake received for {@code body}, its path and query as {@code (URL)}. */
    private JsonNode upstream(String body, FakeUpstream fake, String path) {
        fake.reset();
        fake.replyByDefault(fake == gemini ? FakeGemini.generated("Sunny.", 8, 2) : FakeOllama.chat("Sunny.", 8, 2));
        send(body);
        RecordedRequest received = fake.requests().stream().filter(request -> request.path().startsWith(path))
                .reduce((first, second) -> second).orElseThrow(() -> new AssertionError("no request for " + body));
        ObjectNode seen = (ObjectNode) received.json().deepCopy();
        seen.put("(URL)", received.path().replaceAll(".*:", ":") + (received.query() == null ? "" : "?" + received.query()));
        return seen;
    }

    /**
     * The paths at which {@code before} and {@code after} differ, array elements as {@code []}: down to
     * the fields that changed; an element added or removed by its own fields.
     */
    private static void diff(String at, JsonNode before, JsonNode after, Set<String> changed) {
        if (before.equals(after)) {
            return;
        }
        if (after.isMissingNode() && !before.isMissingNode()) {
            changed.add(REMOVED + at);
            return;
        }
        if (LEAVES.contains(at.substring(at.lastIndexOf('.') + 1))) {
            changed.add(at);
            return;
        }
        if ((before.isObject() || before.isMissingNode()) && (after.isObject() || after.isMissingNode())) {
            Set<String> names = new LinkedHashSet<>();
            before.fieldNames().forEachRemaining(names::add);
            after.fieldNames().forEachRemaining(names::add);
            for (String name : names) {
                diff(at.isEmpty() ? name : at + "." + name, before.path(name), after.path(name), changed);
            }
            return;
        }
        if ((before.isArray() || before.isMissingNode()) && (after.isArray() || after.isMissingNode())) {
            int common = Math.min(before.size(), after.size());
            for (int i = 0; i < common; i++) {
                diff(at + "[]", before.get(i), after.get(i), changed);
            }
            JsonNode longer = before.size() > after.size() ? before : after;
            for (int i = common; i < longer.size(); i++) {
                if (longer.get(i).isObject()) {
                    longer.get(i).fieldNames().forEachRemaining(name -> changed.add(at + "[]." + name));
                } else {
                    changed.add(at + "[]");
                }
            }
            return;
        }
        changed.add(at);
    }

    /** Marks a path the parameter took away. */
    private static final String REMOVED = "-";
    /** Fields whose value is the caller's own (a schema, arguments, data): shown whole, not field by field. */
    private static final Set<String> LEAVES = Set.of("responseJsonSchema", "parametersJsonSchema", "parameters",
            "format", "args", "response", "inlineData", "arguments");

    /** The relay's answer to {@code body}, as the caller gets it. */
    private byte[] send(String body) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        relay.relay(Provider.OPENAI, Inbound.json("/v1/chat/completions", body.getBytes(StandardCharsets.UTF_8)),
                new Sink() {
                    @Override
                    public OutputStream begin(Head head) {
                        return out;
                    }
                });
        return out.toByteArray();
    }

    // ---- answers -----------------------------------------------------------------------------------

    /**
     * One row of the answer table: where an OpenAI answer field comes from on each provider (the
     * text shown), and the fake's answer and the request's fields beyond the question ({@code more})
     * that make it appear; a {@link #none} source cannot, and the table says so.
     */
    record AnswerRow(String field, String more, Function<JsonNode, JsonNode> read, Source gemini, Source ollama) {
    }

    /** Where a field comes from on one provider, and the scripted answer that shows it. */
    record Source(String from, Reply reply) {
    }

    static Source from(String from, Reply reply) {
        return new Source(from, reply);
    }

    static Source none(String why) {
        return new Source(why, null);
    }

    static List<AnswerRow> answerRows() {
        GeminiFunctionCall geminiCall = new GeminiFunctionCall("get_weather", "{\"city\":\"Paris\"}");
        OllamaToolCall ollamaCall = new OllamaToolCall("get_weather", "{\"city\":\"Paris\"}");
        return List.of(
                new AnswerRow("choices[].message.content", "", a -> a.at("/choices/0/message/content"),
                        from("the candidate's `text` parts, thoughts left out", FakeGemini.generated("Sunny.", 8, 2)),
                        from("`message.content` (`thinking` left out)", FakeOllama.chat("Sunny.", 8, 2))),
                new AnswerRow("choices[].message.tool_calls", TOOLS,
                        a -> a.at("/choices/0/message/tool_calls/0/function/name"),
                        from("`functionCall` parts; id Gemini's or `call_kp…`, its `thoughtSignature` after `__thought__`",
                                FakeGemini.functionCalls(geminiCall)),
                        from("`message.tool_calls`, Ollama's id kept", FakeOllama.toolCalls(8, 2, ollamaCall))),
                new AnswerRow("choices[].finish_reason: tool_calls", TOOLS,
                        a -> a.at("/choices/0/finish_reason").asText().equals("tool_calls") ? a : null,
                        from("`STOP` after a `functionCall`", FakeGemini.functionCalls(geminiCall)),
                        from("`done_reason: stop` after `tool_calls`", FakeOllama.toolCalls(8, 2, ollamaCall))),
                new AnswerRow("choices[].finish_reason: length", "",
                        a -> a.at("/choices/0/finish_reason").asText().equals("length") ? a : null,
                        from("`MAX_TOKENS`", FakeGemini.answer("Sunny").withFinishReason("MAX_TOKENS")),
                        from("`done_reason: length`", FakeOllama.truncated("Sunny", 8, 1))),
                new AnswerRow("choices[].finish_reason: content_filter", "",
                        a -> a.at("/choices/0/finish_reason").asText().equals("content_filter") ? a : null,
                        from("`SAFETY`, `RECITATION`, `BLOCKLIST`, `PROHIBITED_CONTENT`, `SPII`, image safety; a blocked"
                                + " prompt", FakeGemini.answer("").withFinishReason("SAFETY")),
                        none("— (Ollama filters nothing)")),
                new AnswerRow("choices[].logprobs.content", "\"logprobs\":true,\"top_logprobs\":2",
                        a -> a.at("/choices/0/logprobs/content/0/top_logprobs/1/token"),
                        from("`logprobsResult` (`chosenCandidates`, `topCandidates`)", FakeGemini.answer("Sunny")),
                        from("`logprobs` (same shape)", FakeOllama.chat("Sunny", 8, 1))),
                new AnswerRow("choices[] (n: 2)", "\"n\":2", a -> a.at("/choices/1/message/content"),
                        from("`candidates[]`", FakeGemini.answer("Sunny")),
                        none("— (refused: Ollama answers one)")),
                new AnswerRow("usage.prompt_tokens", "", a -> a.at("/usage/prompt_tokens"),
                        from("`promptTokenCount` + `toolUsePromptTokenCount`", FakeGemini.generated("Sunny.", 8, 2, 5)),
                        from("`prompt_eval_count`", FakeOllama.chat("Sunny.", 8, 2))),
                new AnswerRow("usage.completion_tokens", "", a -> a.at("/usage/completion_tokens"),
                        from("`totalTokenCount` − prompt (candidates and thoughts)", FakeGemini.generated("Sunny.", 8, 2, 5)),
                        from("`eval_count`", FakeOllama.chat("Sunny.", 8, 2))),
                new AnswerRow("usage.completion_tokens_details.reasoning_tokens", "",
                        a -> a.at("/usage/completion_tokens_details/reasoning_tokens"),
                        from("`thoughtsTokenCount`", FakeGemini.generated("Sunny.", 8, 2, 5)),
                        none("— (Ollama counts thinking in `eval_count`)")),
                new AnswerRow("usage.prompt_tokens_details.cached_tokens", "",
                        a -> a.at("/usage/prompt_tokens_details/cached_tokens"),
                        from("`cachedContentTokenCount`", FakeGemini.answer("Sunny.").withCachedTokens(1024)),
                        none("— (Ollama reports none)")),
                new AnswerRow("id, model", "", a -> a.path("id").isTextual() && a.path("model").isTextual() ? a : null,
                        from("`responseId`, `modelVersion`", FakeGemini.generated("Sunny.", 8, 2)),
                        from("made up (`chatcmpl-kp…`), `model`", FakeOllama.chat("Sunny.", 8, 2))),
                new AnswerRow("stream: choices[].delta.tool_calls", TOOLS + ",\"stream\":true",
                        a -> a,
                        from("each `functionCall` part, whole, as one delta with its `index`",
                                FakeGemini.functionCalls(geminiCall)),
                        from("each `tool_calls` line, whole, as one delta with its `index`",
                                FakeOllama.toolCalls(8, 2, ollamaCall))),
                new AnswerRow("stream: usage chunk, [DONE]", "\"stream\":true,\"stream_options\":{\"include_usage\":true}",
                        a -> a,
                        from("the last chunk's cumulative `usageMetadata`; `[DONE]` only after a `finishReason`",
                                FakeGemini.generated("Sunny.", 8, 2)),
                        from("the `done` line's counts; `[DONE]` only after it", FakeOllama.chat("Sunny.", 8, 2))));
    }

    private String answered(AnswerRow row, String model, FakeUpstream fake, Source source) {
        if (source.reply() == null) {
            return source.from();
        }
        fake.reset();
        fake.replyByDefault(source.reply());
        String answer = new String(send(body(List.of(ASK), row.more(), model)), StandardCharsets.UTF_8);
        if (row.field().startsWith("stream")) {
            String tail = row.field().contains("tool_calls") ? "\"tool_calls\":[{\"index\":0," : "\"usage\":{";
            assertThat(answer).as(row.field()).contains(tail).endsWith("data: [DONE]\n\n");
        } else {
            JsonNode shown = row.read().apply(Json.parseOrMissing(answer));
            assertThat(shown).as(row.field() + " from " + source.from() + " in " + answer).isNotNull();
            assertThat(shown.isMissingNode() || shown.isNull()).as(row.field() + " in " + answer).isFalse();
        }
        return source.from();
    }

    /** The repository's root: the first directory up from here that holds {@code docs/}. */
    private static Path repositoryRoot() {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null && !Files.isDirectory(dir.resolve("docs"))) {
            dir = dir.getParent();
        }
        if (dir == null) {
            throw new AssertionError("no docs/ directory above " + Path.of("").toAbsolutePath());
        }
        return dir;
    }
}
