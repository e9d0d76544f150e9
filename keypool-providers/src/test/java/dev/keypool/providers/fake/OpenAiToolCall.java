package dev.keypool.providers.fake;

/**
 * A function call the model makes: on Chat Completions a {@code tool_calls} entry ({@code id},
 * {@code type: "function"}, {@code function.name}, {@code function.arguments} as a JSON string); on
 * the Responses API a {@code function_call} output item ({@code call_id}, {@code name},
 * {@code arguments}).
 */
public record OpenAiToolCall(String id, String name, String arguments) {

    /** A call with a fresh {@code call_…} id, as OpenAI gives them. */
    public static OpenAiToolCall of(String name, String arguments) {
        return new OpenAiToolCall("call_" + Ids.alnum(24), name, arguments);
    }
}
