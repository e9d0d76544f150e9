package dev.keypool.providers.fake;

/**
 * A tool call Ollama's model makes: a {@code message.tool_calls} entry with the function's
 * {@code name} and its {@code arguments} as a JSON object ({@code arguments} here is that object's
 * JSON text). Ollama adds the call's {@code id} and {@code function.index}.
 */
public record OllamaToolCall(String name, String arguments) {
}
