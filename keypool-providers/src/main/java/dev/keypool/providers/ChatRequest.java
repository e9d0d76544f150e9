package dev.keypool.providers;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A chat request as the caller wrote it, for any of the three LLM providers. Validated by the record
 * itself: a request that cannot be sent throws {@link IllegalArgumentException} naming the field.
 * Build one with {@link #builder()}, or the constructor of the seed's five fields.
 *
 * <p>Whatever the serving provider cannot carry (Ollama has no {@code n}, no strict tools) is refused
 * ({@link dev.keypool.providers.relay.RequestRefused}), never answered without it; with {@code auto}
 * or a fallback, a provider that cannot carry it is skipped.
 *
 * @param model          as the caller wrote it: {@code "auto"}, {@code "gpt-4o"}, {@code "gemini-2.5-flash"},
 *                       {@code "llama3.2"}, {@code "openai/gpt-4o"}, a bare provider name ({@code "gemini"}: that
 *                       provider, each key's configured model), or {@code null} (= {@code auto})
 * @param messages       the conversation, at least one message
 * @param temperature    {@code null} for the provider's default; else 0 to 2
 * @param maxTokens      the completion cap per choice, {@code null} for none (the pool reserves
 *                       {@code KEYPOOL_OUTPUT_RESERVE_TOKENS}, and sends no cap unless an operator opted in)
 * @param extra          other OpenAI request fields ({@code top_p}, {@code stop}, {@code seed}, {@code logprobs},
 *                       …), translated for Gemini and Ollama where they have a counterpart. Never {@code null};
 *                       may hold {@code null} values. A field this record has a member for is taken from the
 *                       member when the member is set
 * @param tools          the functions the model may call; empty for none
 * @param toolChoice     whether and which tools the model may call; {@code null} for the provider's default
 * @param responseFormat what the answer's text must be; {@code null} for free text
 * @param n              how many choices to generate; {@code null} for one
 */
public record ChatRequest(String model, List<ChatMessage> messages, Double temperature, Integer maxTokens,
        Map<String, Object> extra, List<Tool> tools, ToolChoice toolChoice, ResponseFormat responseFormat, Integer n) {

    public ChatRequest {
        if (messages == null || messages.isEmpty()) {
            throw new IllegalArgumentException("messages must hold at least one message");
        }
        for (int i = 0; i < messages.size(); i++) {
            if (messages.get(i) == null) {
                throw new IllegalArgumentException("messages[" + i + "] is null");
            }
        }
        messages = List.copyOf(messages);
        if (temperature != null && (temperature.isNaN() || temperature < 0 || temperature > 2)) {
            throw new IllegalArgumentException("temperature must be between 0 and 2, was " + temperature);
        }
        if (maxTokens != null && maxTokens <= 0) {
            throw new IllegalArgumentException("max_tokens must be a positive integer, was " + maxTokens);
        }
        // Map.copyOf refuses null values, and JSON requests carry them ("stop": null).
        extra = extra == null || extra.isEmpty() ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(extra));
        tools = tools == null ? List.of() : List.copyOf(tools);
        if (toolChoice != null && toolChoice.mode() != ToolChoice.Mode.NONE && tools.isEmpty()) {
            throw new IllegalArgumentException("tool_choice needs tools to choose from");
        }
        if (toolChoice != null && toolChoice.function() != null
                && tools.stream().noneMatch(tool -> tool.name().equals(toolChoice.function()))) {
            throw new IllegalArgumentException("tool_choice names " + toolChoice.function() + ", which is not among the tools");
        }
        if (n != null && n <= 0) {
            throw new IllegalArgumentException("n must be a positive integer, was " + n);
        }
    }

    /** The seed's five fields: no tools, no format, one choice. */
    public ChatRequest(String model, List<ChatMessage> messages, Double temperature, Integer maxTokens,
            Map<String, Object> extra) {
        this(model, messages, temperature, maxTokens, extra, List.of(), null, null, null);
    }

    /** A one-message request on {@code auto} with every default, like the seed's simplest call. */
    public static ChatRequest of(String prompt) {
        return new ChatRequest(null, List.of(ChatMessage.user(prompt)), null, null, Map.of());
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this request, to change. */
    public Builder toBuilder() {
        Builder builder = new Builder().model(model).messages(messages).temperature(temperature).maxTokens(maxTokens)
                .tools(tools).toolChoice(toolChoice).responseFormat(responseFormat).n(n);
        extra.forEach(builder::extra);
        return builder;
    }

    /** A copy of this request for another model. */
    public ChatRequest withModel(String otherModel) {
        return new ChatRequest(otherModel, messages, temperature, maxTokens, extra, tools, toolChoice, responseFormat, n);
    }

    /** A copy with {@code more} messages after these (the model's answer, a tool's result, the next question). */
    public ChatRequest withMessages(ChatMessage... more) {
        List<ChatMessage> all = new ArrayList<>(messages);
        all.addAll(List.of(more));
        return new ChatRequest(model, all, temperature, maxTokens, extra, tools, toolChoice, responseFormat, n);
    }

    /** Builds a {@link ChatRequest}; {@link #build()} validates it. Not thread-safe. */
    public static final class Builder {

        private String model;
        private final List<ChatMessage> messages = new ArrayList<>();
        private Double temperature;
        private Integer maxTokens;
        private final Map<String, Object> extra = new LinkedHashMap<>();
        private final List<Tool> tools = new ArrayList<>();
        private ToolChoice toolChoice;
        private ResponseFormat responseFormat;
        private Integer n;

        private Builder() {
        }

        public Builder model(String model) {
            this.model = model;
            return this;
        }

        public Builder message(ChatMessage message) {
            messages.add(message);
            return this;
        }

        public Builder messages(List<ChatMessage> list) {
            messages.clear();
            messages.addAll(list);
            return this;
        }

        public Builder temperature(Double temperature) {
            this.temperature = temperature;
            return this;
        }

        public Builder maxTokens(Integer maxTokens) {
            this.maxTokens = maxTokens;
            return this;
        }

        /** Another OpenAI request field ({@code top_p}, {@code seed}, …). */
        public Builder extra(String name, Object value) {
            extra.put(name, value);
            return this;
        }

        public Builder tool(Tool tool) {
            tools.add(tool);
            return this;
        }

        public Builder tools(List<Tool> list) {
            tools.clear();
            tools.addAll(list);
            return this;
        }

        public Builder toolChoice(ToolChoice toolChoice) {
            this.toolChoice = toolChoice;
            return this;
        }

        public Builder responseFormat(ResponseFormat responseFormat) {
            this.responseFormat = responseFormat;
            return this;
        }

        public Builder n(Integer n) {
            this.n = n;
            return this;
        }

        /** @throws IllegalArgumentException naming the field that cannot be sent */
        public ChatRequest build() {
            return new ChatRequest(model, messages, temperature, maxTokens, extra, tools, toolChoice, responseFormat, n);
        }
    }
}
