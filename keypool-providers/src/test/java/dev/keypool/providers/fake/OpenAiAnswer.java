package dev.keypool.providers.fake;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;

/**
 * A model's answer as OpenAI sends it, shaped by the endpoint it answers: a {@code chat.completion}
 * (or its {@code chat.completion.chunk} stream) on {@code /v1/chat/completions}, a
 * {@code text_completion} on the legacy {@code /v1/completions}, a {@code response} (or its typed
 * event stream) on {@code /v1/responses}, which the fake then stores for the key that created it.
 * Immutable: each {@code with…} method returns a new answer.
 *
 * <p>What it reads from the request, as OpenAI does: {@code stream}, {@code stream_options}
 * ({@code include_usage}: the usage chunk with {@code choices: []} and {@code "usage": null} on
 * every other chunk; {@code include_obfuscation: false}: no {@code obfuscation} field, which is
 * otherwise on every chunk), {@code n} (that many choices, each with its {@code index}, the usage
 * billing them all), {@code logprobs}/{@code top_logprobs} ({@code choices[].logprobs.content[]} with
 * {@code token}, {@code logprob}, {@code bytes}, {@code top_logprobs}; the legacy endpoint's integer
 * {@code logprobs} gives its {@code tokens}/{@code token_logprobs}/{@code top_logprobs}/{@code text_offset}).
 *
 * <p>Choices made where OpenAI's reference is silent, each from recorded traffic where there was some:
 * a streamed choice starts with a role delta ({@code "content": ""} for text; {@code "content": null}
 * and the first tool call's {@code index}, {@code id}, {@code type}, {@code function.name} and empty
 * {@code arguments} when the answer is only tool calls), then each later tool call's header, then its
 * arguments in token-sized fragments; {@code n} choices stream interleaved, one chunk per choice in turn;
 * citations arrive as an {@code annotations} delta before the finish chunk; a refusal streams as
 * {@code refusal} deltas after a role delta with {@code "refusal": ""}; the legacy endpoint's chunks
 * carry {@code "usage": null} when usage was asked for, as chat's do.
 */
public final class OpenAiAnswer implements Reply {

    private static final String SSE = "text/event-stream; charset=utf-8";
    private static final String JSON = "application/json";

    private final List<String> deltas;
    private final List<List<String>> choices;
    private final List<OpenAiToolCall> toolCalls;
    private final String refusal;
    private final OpenAiUsage usage;
    private final String finishReason;
    private final List<ObjectNode> annotations;
    private final String serviceTier;
    private final String systemFingerprint;
    private final boolean complete;
    private final Reply.Ending ending;
    private final Gate gate;
    private final String errorEvent;

    private OpenAiAnswer(Spec spec) {
        deltas = List.copyOf(spec.deltas);
        choices = spec.choices == null ? null : spec.choices.stream().map(List::copyOf).toList();
        toolCalls = List.copyOf(spec.toolCalls);
        refusal = spec.refusal;
        usage = spec.usage;
        finishReason = spec.finishReason;
        annotations = List.copyOf(spec.annotations);
        serviceTier = spec.serviceTier;
        systemFingerprint = spec.systemFingerprint;
        complete = spec.complete;
        ending = spec.ending;
        gate = spec.gate;
        errorEvent = spec.errorEvent;
    }

    /** Text streamed in exactly these deltas (joined when the request did not stream). */
    static OpenAiAnswer text(List<String> deltas, OpenAiUsage usage) {
        Spec spec = new Spec();
        spec.deltas = new ArrayList<>(deltas);
        spec.usage = usage;
        return new OpenAiAnswer(spec);
    }

    /** Only tool calls: {@code content: null}, {@code finish_reason: "tool_calls"}. */
    static OpenAiAnswer calls(List<OpenAiToolCall> calls, OpenAiUsage usage) {
        Spec spec = new Spec();
        spec.toolCalls = new ArrayList<>(calls);
        spec.usage = usage;
        return new OpenAiAnswer(spec);
    }

    /** A refusal: {@code content: null}, the message's {@code refusal} set. */
    static OpenAiAnswer refused(String refusal, OpenAiUsage usage) {
        Spec spec = new Spec();
        spec.refusal = refusal;
        spec.usage = usage;
        return new OpenAiAnswer(spec);
    }

    /** The same answer reporting {@code usage}. */
    public OpenAiAnswer withUsage(OpenAiUsage usage) {
        return with(spec -> spec.usage = usage);
    }

    /** The same answer with this {@code finish_reason} ({@code length} for a truncated one). */
    public OpenAiAnswer withFinishReason(String finishReason) {
        return with(spec -> spec.finishReason = finishReason);
    }

    /** The same answer followed by these tool calls (text first, then the calls). */
    public OpenAiAnswer withToolCalls(OpenAiToolCall... calls) {
        return with(spec -> spec.toolCalls = new ArrayList<>(List.of(calls)));
    }

    /** The same answer citing a web page over {@code [start, end)} of its text ({@code url_citation}). */
    public OpenAiAnswer withCitation(String url, String title, int start, int end) {
        ObjectNode annotation = JsonText.object();
        annotation.put("type", "url_citation");
        annotation.putObject("url_citation").put("end_index", end).put("start_index", start).put("title", title)
                .put("url", url);
        return with(spec -> spec.annotations.add(annotation));
    }

    /** The same answer in {@code service_tier} {@code tier} ({@code default}, {@code flex}, {@code priority}). */
    public OpenAiAnswer withServiceTier(String tier) {
        return with(spec -> spec.serviceTier = tier);
    }

    /** The same answer with this {@code system_fingerprint}. */
    public OpenAiAnswer withSystemFingerprint(String fingerprint) {
        return with(spec -> spec.systemFingerprint = fingerprint);
    }

    /** One choice per text, whatever {@code n} the request asked for (each streamed word by word). */
    public OpenAiAnswer withChoices(String... texts) {
        List<List<String>> split = new ArrayList<>();
        for (String text : texts) {
            split.add(FakeOpenAi.words(text));
        }
        return with(spec -> spec.choices = split);
    }

    /** The stream ends after its content without a proper end: the connection drops once {@code gate} opens. */
    OpenAiAnswer thenDrop(Gate gate) {
        return with(spec -> {
            spec.complete = false;
            spec.ending = Reply.Ending.DROP;
            spec.gate = gate;
        });
    }

    /** The stream goes silent after its content, connection open. */
    OpenAiAnswer thenStall() {
        return with(spec -> {
            spec.complete = false;
            spec.ending = Reply.Ending.STALL;
        });
    }

    /** The stream sends an error event after its content, and ends (no finish, no usage, no {@code [DONE]}). */
    OpenAiAnswer thenError(String message) {
        return with(spec -> {
            spec.complete = false;
            spec.errorEvent = message;
        });
    }

    @Override
    public void send(Exchange exchange) throws IOException {
        RecordedRequest request = exchange.request();
        JsonNode body = request.json();
        boolean stream = body.path("stream").asBoolean(false) || errorEvent != null;
        if (!stream && !complete) {
            if (ending == Reply.Ending.DROP) {
                exchange.drop();
            } else {
                exchange.stallUntilClosed();
            }
            return;
        }
        switch (request.path()) {
            case "/v1/completions" -> {
                if (stream) {
                    stream(exchange, legacyEvents(exchange, body));
                } else {
                    Reply.json(200, JsonText.pretty(legacy(exchange, body), 2)).send(exchange);
                }
            }
            case "/v1/responses" -> {
                if (stream) {
                    stream(exchange, responseEvents(exchange, body));
                } else {
                    ObjectNode response = response(exchange, body, "completed", output(true), true);
                    store(exchange, body, response);
                    Reply.json(200, JsonText.pretty(response, 2)).send(exchange);
                }
            }
            default -> {
                if (stream) {
                    stream(exchange, chatEvents(exchange, body));
                } else {
                    Reply.json(200, JsonText.pretty(chat(exchange, body), 2)).send(exchange);
                }
            }
        }
    }

    private void stream(Exchange exchange, List<String> events) throws IOException {
        Reply.stream(200, SSE, events, gate, complete || errorEvent != null ? Reply.Ending.CLOSE : ending)
                .send(exchange);
    }

    // ---- Chat Completions ------------------------------------------------------------------------

    private ObjectNode chat(Exchange exchange, JsonNode body) {
        List<List<String>> texts = texts(body);
        ObjectNode root = head(exchange, body, "chatcmpl-", "chat.completion");
        ArrayNode choiceArray = root.putArray("choices");
        for (int i = 0; i < texts.size(); i++) {
            List<String> text = texts.get(i);
            ObjectNode choice = choiceArray.addObject();
            choice.put("index", i);
            ObjectNode message = choice.putObject("message");
            message.put("role", "assistant");
            message.put("content", text.isEmpty() ? null : String.join("", text));
            if (!toolCalls.isEmpty()) {
                ArrayNode calls = message.putArray("tool_calls");
                toolCalls.forEach(call -> calls.add(toolCall(call)));
            }
            message.put("refusal", refusal);
            message.putArray("annotations").addAll(annotations);
            if (wantsLogprobs(body)) {
                ObjectNode logprobs = choice.putObject("logprobs");
                ArrayNode content = logprobs.putArray("content");
                text.forEach(token -> content.add(logprob(token, content.size(), topLogprobs(body))));
                logprobs.putNull("refusal");
            } else {
                choice.putNull("logprobs");
            }
            choice.put("finish_reason", finishReason());
        }
        root.set("usage", usage.chat(texts.size()));
        root.put("service_tier", serviceTier);
        root.put("system_fingerprint", systemFingerprint);
        return root;
    }

    private List<String> chatEvents(Exchange exchange, JsonNode body) {
        List<List<String>> texts = texts(body);
        boolean includeUsage = body.path("stream_options").path("include_usage").asBoolean(false);
        boolean obfuscate = body.path("stream_options").path("include_obfuscation").asBoolean(true);
        String id = "chatcmpl-" + Ids.alnum(29);
        long created = exchange.now().getEpochSecond();
        String model = model(body);
        List<List<ObjectNode>> perChoice = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            perChoice.add(choiceSteps(i, texts.get(i), body));
        }
        List<String> events = new ArrayList<>();
        int longest = perChoice.stream().mapToInt(List::size).max().orElse(0);
        for (int step = 0; step < longest; step++) {
            for (List<ObjectNode> steps : perChoice) {
                if (step < steps.size()) {
                    ObjectNode chunk = chunk(id, created, model, includeUsage, obfuscate);
                    ((ArrayNode) chunk.get("choices")).add(steps.get(step));
                    events.add(event(chunk));
                }
            }
        }
        if (errorEvent != null) {
            ObjectNode error = JsonText.object();
            error.putObject("error").put("message", errorEvent).put("type", "server_error").putNull("param")
                    .putNull("code");
            events.add("data: " + JsonText.compact(error) + "\n\n");
            return events;
        }
        if (!complete) {
            return events;
        }
        if (includeUsage) {
            ObjectNode chunk = chunk(id, created, model, false, false);
            chunk.putArray("choices");
            chunk.set("usage", usage.chat(texts.size()));
            if (obfuscate) {
                chunk.put("obfuscation", obfuscation());
            }
            events.add(event(chunk));
        }
        events.add("data: [DONE]\n\n");
        return events;
    }

    /** The {@code choices[0]} of each chunk one choice streams, in order. */
    private List<ObjectNode> choiceSteps(int index, List<String> text, JsonNode body) {
        List<ObjectNode> steps = new ArrayList<>();
        ObjectNode role = JsonText.object().put("role", "assistant");
        boolean callsInRoleDelta = text.isEmpty() && refusal == null && !toolCalls.isEmpty();
        if (!text.isEmpty()) {
            role.put("content", "");
        } else {
            role.putNull("content");
        }
        if (callsInRoleDelta) {
            role.putArray("tool_calls").add(toolCallHeader(0, toolCalls.get(0)));
        }
        if (refusal != null) {
            role.put("refusal", "");
        } else {
            role.putNull("refusal");
        }
        steps.add(step(index, role, null, null));
        for (int i = 0; i < text.size(); i++) {
            ObjectNode logprobs = null;
            if (wantsLogprobs(body)) {
                logprobs = JsonText.object();
                logprobs.putArray("content").add(logprob(text.get(i), i, topLogprobs(body)));
                logprobs.putNull("refusal");
            }
            steps.add(step(index, JsonText.object().put("content", text.get(i)), logprobs, null));
        }
        if (refusal != null) {
            for (String piece : FakeOpenAi.words(refusal)) {
                steps.add(step(index, JsonText.object().put("refusal", piece), null, null));
            }
        }
        for (int k = 0; k < toolCalls.size(); k++) {
            OpenAiToolCall call = toolCalls.get(k);
            if (!(k == 0 && callsInRoleDelta)) {
                ObjectNode header = JsonText.object();
                header.putArray("tool_calls").add(toolCallHeader(k, call));
                steps.add(step(index, header, null, null));
            }
            for (String fragment : fragments(call.arguments())) {
                ObjectNode delta = JsonText.object();
                ObjectNode entry = delta.putArray("tool_calls").addObject();
                entry.put("index", k);
                entry.putObject("function").put("arguments", fragment);
                steps.add(step(index, delta, null, null));
            }
        }
        if (!annotations.isEmpty() && complete) {
            ObjectNode delta = JsonText.object();
            delta.putArray("annotations").addAll(annotations);
            steps.add(step(index, delta, null, null));
        }
        if (complete) {
            steps.add(step(index, JsonText.object(), null, finishReason()));
        }
        return steps;
    }

    private static ObjectNode step(int index, ObjectNode delta, ObjectNode logprobs, String finishReason) {
        ObjectNode choice = JsonText.object();
        choice.put("index", index);
        choice.set("delta", delta);
        if (logprobs == null) {
            choice.putNull("logprobs");
        } else {
            choice.set("logprobs", logprobs);
        }
        choice.put("finish_reason", finishReason);
        return choice;
    }

    private ObjectNode chunk(String id, long created, String model, boolean includeUsage, boolean obfuscate) {
        ObjectNode chunk = JsonText.object();
        chunk.put("id", id);
        chunk.put("object", "chat.completion.chunk");
        chunk.put("created", created);
        chunk.put("model", model);
        chunk.put("service_tier", serviceTier);
        chunk.put("system_fingerprint", systemFingerprint);
        chunk.putArray("choices");
        if (includeUsage) {
            chunk.putNull("usage");
        }
        if (obfuscate) {
            chunk.put("obfuscation", obfuscation());
        }
        return chunk;
    }

    private static ObjectNode toolCall(OpenAiToolCall call) {
        ObjectNode entry = JsonText.object();
        entry.put("id", call.id());
        entry.put("type", "function");
        entry.putObject("function").put("name", call.name()).put("arguments", call.arguments());
        return entry;
    }

    private static ObjectNode toolCallHeader(int index, OpenAiToolCall call) {
        ObjectNode entry = JsonText.object();
        entry.put("index", index);
        entry.put("id", call.id());
        entry.put("type", "function");
        entry.putObject("function").put("name", call.name()).put("arguments", "");
        return entry;
    }

    // ---- legacy Completions ------------------------------------------------------------------------

    private ObjectNode legacy(Exchange exchange, JsonNode body) {
        List<List<String>> texts = texts(body);
        ObjectNode root = head(exchange, body, "cmpl-", "text_completion");
        root.put("system_fingerprint", systemFingerprint);
        ArrayNode choiceArray = root.putArray("choices");
        for (int i = 0; i < texts.size(); i++) {
            ObjectNode choice = choiceArray.addObject();
            choice.put("text", String.join("", texts.get(i)));
            choice.put("index", i);
            legacyLogprobs(choice, texts.get(i), body);
            choice.put("finish_reason", finishReason());
        }
        root.set("usage", usage.legacy(texts.size()));
        return root;
    }

    private List<String> legacyEvents(Exchange exchange, JsonNode body) {
        List<List<String>> texts = texts(body);
        boolean includeUsage = body.path("stream_options").path("include_usage").asBoolean(false);
        String id = "cmpl-" + Ids.alnum(29);
        long created = exchange.now().getEpochSecond();
        List<String> events = new ArrayList<>();
        int longest = texts.stream().mapToInt(List::size).max().orElse(0);
        for (int step = 0; step <= longest; step++) {
            for (int i = 0; i < texts.size(); i++) {
                List<String> text = texts.get(i);
                boolean finish = step == text.size();
                if (step > text.size() || finish && !complete) {
                    continue;
                }
                String piece = finish ? "" : text.get(step);
                ObjectNode chunk = JsonText.object();
                chunk.put("id", id);
                chunk.put("object", "text_completion");
                chunk.put("created", created);
                ObjectNode choice = chunk.putArray("choices").addObject();
                choice.put("text", piece);
                choice.put("index", i);
                legacyLogprobs(choice, finish ? List.of() : List.of(piece), body);
                choice.put("finish_reason", finish ? finishReason() : null);
                chunk.put("model", model(body));
                chunk.put("system_fingerprint", systemFingerprint);
                if (includeUsage) {
                    chunk.putNull("usage");
                }
                events.add(event(chunk));
            }
        }
        if (!complete) {
            return events;
        }
        if (includeUsage) {
            ObjectNode chunk = JsonText.object();
            chunk.put("id", id);
            chunk.put("object", "text_completion");
            chunk.put("created", created);
            chunk.putArray("choices");
            chunk.put("model", model(body));
            chunk.put("system_fingerprint", systemFingerprint);
            chunk.set("usage", usage.legacy(texts.size()));
            events.add(event(chunk));
        }
        events.add("data: [DONE]\n\n");
        return events;
    }

    private static void legacyLogprobs(ObjectNode choice, List<String> tokens, JsonNode body) {
        JsonNode asked = body.path("logprobs");
        if (!asked.isInt()) {
            choice.putNull("logprobs");
            return;
        }
        ObjectNode logprobs = choice.putObject("logprobs");
        ArrayNode text = logprobs.putArray("tokens");
        ArrayNode values = logprobs.putArray("token_logprobs");
        ArrayNode top = logprobs.putArray("top_logprobs");
        ArrayNode offsets = logprobs.putArray("text_offset");
        int offset = 0;
        for (int i = 0; i < tokens.size(); i++) {
            text.add(tokens.get(i));
            values.add(logprobValue(i));
            ObjectNode alternatives = top.addObject();
            alternatives.put(tokens.get(i), logprobValue(i));
            for (int j = 1; j < asked.asInt(); j++) {
                alternatives.put(alternative(tokens.get(i), j), logprobValue(i) - j);
            }
            offsets.add(offset);
            offset += tokens.get(i).length();
        }
    }

    // ---- Responses API -----------------------------------------------------------------------------

    /** The output items, each a fresh node ({@code done}: completed items with their full content). */
    private List<ObjectNode> output(boolean done) {
        List<ObjectNode> items = new ArrayList<>();
        if (!deltas.isEmpty() || refusal != null) {
            ObjectNode message = JsonText.object();
            message.put("id", "msg_" + Ids.hex(48));
            message.put("type", "message");
            message.put("status", done ? "completed" : "in_progress");
            ArrayNode content = message.putArray("content");
            if (done) {
                content.add(part(done));
            }
            message.put("role", "assistant");
            items.add(message);
        }
        for (OpenAiToolCall call : toolCalls) {
            ObjectNode item = JsonText.object();
            item.put("id", "fc_" + Ids.hex(48));
            item.put("type", "function_call");
            item.put("status", done ? "completed" : "in_progress");
            item.put("arguments", done ? call.arguments() : "");
            item.put("call_id", call.id());
            item.put("name", call.name());
            items.add(item);
        }
        return items;
    }

    private ObjectNode part(boolean done) {
        ObjectNode part = JsonText.object();
        if (refusal != null) {
            part.put("type", "refusal");
            part.put("refusal", done ? refusal : "");
            return part;
        }
        part.put("type", "output_text");
        part.putArray("annotations").addAll(done ? annotations : List.of());
        part.putArray("logprobs");
        part.put("text", done ? String.join("", deltas) : "");
        return part;
    }

    private ObjectNode response(Exchange exchange, JsonNode body, String status, List<ObjectNode> output,
            boolean withUsage) {
        long now = exchange.now().getEpochSecond();
        ObjectNode response = JsonText.object();
        response.put("id", "resp_" + Ids.hex(48));
        response.put("object", "response");
        response.put("created_at", now);
        response.put("status", status);
        if (status.equals("completed")) {
            response.put("completed_at", now);
        } else {
            response.putNull("completed_at");
        }
        response.put("background", body.path("background").asBoolean(false));
        response.putNull("error");
        response.putNull("incomplete_details");
        response.set("instructions", echo(body, "instructions"));
        response.set("max_output_tokens", echo(body, "max_output_tokens"));
        response.set("max_tool_calls", echo(body, "max_tool_calls"));
        response.put("model", model(body));
        response.putArray("output").addAll(output);
        response.put("parallel_tool_calls", body.path("parallel_tool_calls").asBoolean(true));
        response.set("previous_response_id", echo(body, "previous_response_id"));
        response.set("prompt_cache_key", echo(body, "prompt_cache_key"));
        ObjectNode reasoning = response.putObject("reasoning");
        reasoning.set("effort", echo(body.path("reasoning"), "effort"));
        reasoning.set("summary", echo(body.path("reasoning"), "summary"));
        response.set("safety_identifier", echo(body, "safety_identifier"));
        response.put("service_tier", serviceTier);
        response.put("store", body.path("store").asBoolean(true));
        response.put("temperature", body.path("temperature").isNumber() ? body.path("temperature").asDouble() : 1.0);
        if (body.path("text").isObject()) {
            response.set("text", body.path("text").deepCopy());
        } else {
            ObjectNode text = response.putObject("text");
            text.putObject("format").put("type", "text");
            text.put("verbosity", "medium");
        }
        response.set("tool_choice", body.has("tool_choice") ? body.get("tool_choice").deepCopy()
                : JsonText.object().textNode("auto"));
        response.set("tools", body.path("tools").isArray() ? body.get("tools").deepCopy() : JsonText.object().arrayNode());
        response.put("top_logprobs", body.path("top_logprobs").asInt(0));
        response.put("top_p", body.path("top_p").isNumber() ? body.path("top_p").asDouble() : 1.0);
        response.put("truncation", body.path("truncation").asText("disabled"));
        if (withUsage) {
            response.set("usage", usage.responses());
        } else {
            response.putNull("usage");
        }
        response.set("user", echo(body, "user"));
        response.set("metadata", body.path("metadata").isObject() ? body.get("metadata").deepCopy() : JsonText.object());
        return response;
    }

    private List<String> responseEvents(Exchange exchange, JsonNode body) {
        List<String> events = new ArrayList<>();
        ObjectNode response = response(exchange, body, "in_progress", List.of(), false);
        int[] sequence = {0};
        boolean obfuscate = body.path("stream_options").path("include_obfuscation").asBoolean(true);
        events.add(typed(sequence, "response.created", event -> event.set("response", response.deepCopy())));
        events.add(typed(sequence, "response.in_progress", event -> event.set("response", response.deepCopy())));
        List<ObjectNode> started = output(false);
        List<ObjectNode> finished = output(true);
        for (int i = 0; i < started.size(); i++) {
            int outputIndex = i;
            ObjectNode item = started.get(i);
            ObjectNode done = finished.get(i);
            done.put("id", item.get("id").asText());
            events.add(typed(sequence, "response.output_item.added", event -> event.put("output_index", outputIndex)
                    .set("item", item)));
            String itemId = item.get("id").asText();
            if (item.get("type").asText().equals("message")) {
                events.add(typed(sequence, "response.content_part.added", event -> event.put("item_id", itemId)
                        .put("output_index", outputIndex).put("content_index", 0).set("part", part(false))));
                List<String> pieces = refusal != null ? FakeOpenAi.words(refusal) : deltas;
                String deltaType = refusal != null ? "response.refusal.delta" : "response.output_text.delta";
                for (String piece : pieces) {
                    events.add(typed(sequence, deltaType, event -> {
                        event.put("item_id", itemId).put("output_index", outputIndex).put("content_index", 0)
                                .put("delta", piece);
                        if (refusal == null) {
                            event.putArray("logprobs");
                        }
                        if (obfuscate) {
                            event.put("obfuscation", obfuscation());
                        }
                    }));
                }
                if (!complete) {
                    return events;
                }
                if (refusal != null) {
                    events.add(typed(sequence, "response.refusal.done", event -> event.put("item_id", itemId)
                            .put("output_index", outputIndex).put("content_index", 0).put("refusal", refusal)));
                } else {
                    events.add(typed(sequence, "response.output_text.done", event -> {
                        event.put("item_id", itemId).put("output_index", outputIndex).put("content_index", 0)
                                .put("text", String.join("", deltas));
                        event.putArray("logprobs");
                    }));
                }
                events.add(typed(sequence, "response.content_part.done", event -> event.put("item_id", itemId)
                        .put("output_index", outputIndex).put("content_index", 0).set("part", part(true))));
            } else {
                String arguments = done.get("arguments").asText();
                for (String fragment : fragments(arguments)) {
                    events.add(typed(sequence, "response.function_call_arguments.delta", event -> {
                        event.put("item_id", itemId).put("output_index", outputIndex).put("delta", fragment);
                        if (obfuscate) {
                            event.put("obfuscation", obfuscation());
                        }
                    }));
                }
                if (!complete) {
                    return events;
                }
                events.add(typed(sequence, "response.function_call_arguments.done", event -> event
                        .put("item_id", itemId).put("name", done.get("name").asText()).put("output_index", outputIndex)
                        .put("arguments", arguments)));
            }
            events.add(typed(sequence, "response.output_item.done", event -> event.put("output_index", outputIndex)
                    .set("item", done)));
        }
        if (!complete) {
            return events;
        }
        ObjectNode completed = response.deepCopy();
        completed.put("status", "completed");
        completed.put("completed_at", exchange.now().getEpochSecond());
        completed.putArray("output").addAll(finished);
        completed.set("usage", usage.responses());
        store(exchange, body, completed);
        events.add(typed(sequence, "response.completed", event -> event.set("response", completed)));
        return events;
    }

    private static String typed(int[] sequence, String type, Consumer<ObjectNode> fill) {
        ObjectNode event = JsonText.object();
        event.put("type", type);
        fill.accept(event);
        event.put("sequence_number", sequence[0]++);
        return "event: " + type + "\ndata: " + JsonText.compact(event) + "\n\n";
    }

    private static void store(Exchange exchange, JsonNode body, ObjectNode response) {
        if (exchange.upstream() instanceof FakeOpenAi openai) {
            openai.store(exchange.request().key(), response, body);
        }
    }

    private static JsonNode echo(JsonNode body, String field) {
        JsonNode value = body.path(field);
        return value.isMissingNode() ? JsonText.object().nullNode() : value.deepCopy();
    }

    // ---- shared ------------------------------------------------------------------------------------

    private List<List<String>> texts(JsonNode body) {
        if (choices != null) {
            return choices;
        }
        int n = Math.max(1, body.path("n").asInt(1));
        return Collections.nCopies(n, deltas);
    }

    private String finishReason() {
        if (finishReason != null) {
            return finishReason;
        }
        return toolCalls.isEmpty() ? "stop" : "tool_calls";
    }

    private static boolean wantsLogprobs(JsonNode body) {
        return body.path("logprobs").asBoolean(false);
    }

    private static int topLogprobs(JsonNode body) {
        return body.path("top_logprobs").asInt(0);
    }

    private static ObjectNode logprob(String token, int position, int top) {
        ObjectNode entry = JsonText.object();
        entry.put("token", token);
        entry.put("logprob", logprobValue(position));
        bytes(entry.putArray("bytes"), token);
        ArrayNode alternatives = entry.putArray("top_logprobs");
        for (int j = 0; j < top; j++) {
            String alternative = j == 0 ? token : alternative(token, j);
            ObjectNode option = alternatives.addObject();
            option.put("token", alternative);
            option.put("logprob", logprobValue(position) - j);
            bytes(option.putArray("bytes"), alternative);
        }
        return entry;
    }

    private static double logprobValue(int position) {
        return -0.0001 * (position + 1) * (position + 1);
    }

    private static String alternative(String token, int rank) {
        return token + "#" + rank;
    }

    private static void bytes(ArrayNode into, String token) {
        for (byte b : token.getBytes(StandardCharsets.UTF_8)) {
            into.add(b & 0xff);
        }
    }

    /** What a whole (not streamed) completion opens with: its id, what it is, when it was made, and the model. */
    private static ObjectNode head(Exchange exchange, JsonNode body, String idPrefix, String object) {
        ObjectNode root = JsonText.object();
        root.put("id", idPrefix + Ids.alnum(29));
        root.put("object", object);
        root.put("created", exchange.now().getEpochSecond());
        root.put("model", model(body));
        return root;
    }

    private static String model(JsonNode body) {
        String model = body.path("model").asText("");
        return model.isEmpty() ? "gpt-4o-mini" : model;
    }

    private static String event(JsonNode chunk) {
        return "data: " + JsonText.compact(chunk) + "\n\n";
    }

    /** Random padding of a random length, as OpenAI's {@code obfuscation} is. */
    private static String obfuscation() {
        return Ids.alnum(1 + ThreadLocalRandom.current().nextInt(16));
    }

    /** JSON text cut where a tokenizer would: runs of letters or digits, and runs of anything else. */
    static List<String> fragments(String text) {
        List<String> fragments = new ArrayList<>();
        int start = 0;
        for (int i = 1; i <= text.length(); i++) {
            if (i == text.length() || Character.isLetterOrDigit(text.charAt(i)) != Character.isLetterOrDigit(text.charAt(i - 1))) {
                fragments.add(text.substring(start, i));
                start = i;
            }
        }
        return fragments;
    }

    private OpenAiAnswer with(Consumer<Spec> change) {
        Spec spec = new Spec(this);
        change.accept(spec);
        return new OpenAiAnswer(spec);
    }

    /** The answer's parts while a copy is being changed. */
    private static final class Spec {
        List<String> deltas = new ArrayList<>();
        List<List<String>> choices;
        List<OpenAiToolCall> toolCalls = new ArrayList<>();
        String refusal;
        OpenAiUsage usage = OpenAiUsage.of(13, 5);
        String finishReason;
        List<ObjectNode> annotations = new ArrayList<>();
        String serviceTier = "default";
        String systemFingerprint = "fp_44709d6fcb";
        boolean complete = true;
        Reply.Ending ending = Reply.Ending.CLOSE;
        Gate gate;
        String errorEvent;

        Spec() {
        }

        Spec(OpenAiAnswer answer) {
            deltas = new ArrayList<>(answer.deltas);
            choices = answer.choices;
            toolCalls = new ArrayList<>(answer.toolCalls);
            refusal = answer.refusal;
            usage = answer.usage;
            finishReason = answer.finishReason;
            annotations = new ArrayList<>(answer.annotations);
            serviceTier = answer.serviceTier;
            systemFingerprint = answer.systemFingerprint;
            complete = answer.complete;
            ending = answer.ending;
            gate = answer.gate;
            errorEvent = answer.errorEvent;
        }
    }
}
