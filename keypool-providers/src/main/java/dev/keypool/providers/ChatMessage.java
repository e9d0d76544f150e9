package dev.keypool.providers;

import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * One message of a conversation, in OpenAI's vocabulary, whichever provider answers it: the roles
 * are translated for Gemini and Ollama ({@code assistant} is Gemini's {@code model}, {@code system}
 * its system instruction; a {@code tool} message Gemini's function response).
 *
 * @param role       {@code system}, {@code developer} (read as {@code system} where a provider lacks it),
 *                   {@code user}, {@code assistant} or {@code tool}
 * @param parts      the content: text, and for a user images ({@link ContentPart}); an assistant message
 *                   that only calls tools may have none
 * @param toolCalls  an assistant message's calls, as a {@link ChatResult} gave them; empty otherwise
 * @param toolCallId a {@code tool} message's call it answers; {@code null} otherwise
 */
public record ChatMessage(String role, List<ContentPart> parts, List<ToolCall> toolCalls, String toolCallId) {

    private static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant", "tool");

    public ChatMessage {
        if (role == null || !ROLES.contains(role.toLowerCase(Locale.ROOT))) {
            throw new IllegalArgumentException("message role must be one of system, developer, user, assistant, tool,"
                    + " was '" + role + "'");
        }
        role = role.toLowerCase(Locale.ROOT);
        parts = parts == null ? List.of() : List.copyOf(parts);
        toolCalls = toolCalls == null ? List.of() : List.copyOf(toolCalls);
        if (!toolCalls.isEmpty() && !role.equals("assistant")) {
            throw new IllegalArgumentException("only an assistant message holds tool calls, not a " + role + " one");
        }
        if (role.equals("tool") != (toolCallId != null)) {
            throw new IllegalArgumentException(role.equals("tool")
                    ? "a message of role tool answers a call: use ChatMessage.toolResult(toolCallId, content)"
                    : "only a message of role tool names the call it answers");
        }
        for (ContentPart part : parts) {
            if (part instanceof ContentPart.Image && !role.equals("user")) {
                throw new IllegalArgumentException("only a user message holds images, not a " + role + " one");
            }
        }
        if (parts.isEmpty() && toolCalls.isEmpty()) {
            throw new IllegalArgumentException("message content must not be null");
        }
    }

    /** A message of one text: the seed's {@code {"role": …, "content": …}}. */
    public ChatMessage(String role, String content) {
        this(role, content == null ? null : List.of(ContentPart.text(content)), List.of(), null);
    }

    public static ChatMessage system(String content) {
        return new ChatMessage("system", content);
    }

    public static ChatMessage user(String content) {
        return new ChatMessage("user", content);
    }

    /** A user message of several parts: text and images. */
    public static ChatMessage user(ContentPart... parts) {
        return new ChatMessage("user", List.of(parts), List.of(), null);
    }

    public static ChatMessage assistant(String content) {
        return new ChatMessage("assistant", content);
    }

    /** What the model said, its calls included, to send back in the next turn. */
    public static ChatMessage assistant(String content, List<ToolCall> toolCalls) {
        boolean calls = toolCalls != null && !toolCalls.isEmpty();
        return new ChatMessage("assistant", calls && (content == null || content.isEmpty()) ? List.of()
                : List.of(ContentPart.text(content == null ? "" : content)), toolCalls, null);
    }

    /** The result of the call {@code toolCallId}, as text (often JSON). */
    public static ChatMessage toolResult(String toolCallId, String content) {
        if (toolCallId == null || toolCallId.isBlank()) {
            throw new IllegalArgumentException("a tool result names the call it answers");
        }
        return new ChatMessage("tool", content == null ? null : List.of(ContentPart.text(content)), List.of(),
                toolCallId);
    }

    /** The message's text: its text parts joined, empty when it has none. */
    public String content() {
        StringBuilder text = new StringBuilder();
        for (ContentPart part : parts) {
            if (part instanceof ContentPart.Text piece) {
                text.append(piece.text());
            }
        }
        return text.toString();
    }

    /** Whether this message instructs rather than converses ({@code system} or {@code developer}). */
    public boolean isInstruction() {
        return role.equals("system") || role.equals("developer");
    }
}
