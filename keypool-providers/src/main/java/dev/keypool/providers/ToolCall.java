package dev.keypool.providers;

/**
 * A call the model made to one of the request's {@link Tool}s: answer it with
 * {@link ChatMessage#toolResult(String, String)} naming its {@code id}, after the assistant message
 * that holds it.
 *
 * @param id        the call's id, as the serving provider (or keypool for it) gave it; pass it back unchanged
 * @param name      the tool's name
 * @param arguments the arguments, a JSON object's text
 */
public record ToolCall(String id, String name, String arguments) {

    public ToolCall {
        if (id == null || id.isBlank()) {
            throw new IllegalArgumentException("a tool call needs its id");
        }
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("a tool call needs the tool's name");
        }
        arguments = arguments == null || arguments.isBlank() ? "{}" : arguments;
    }
}
