package dev.keypool.providers;

import java.util.Locale;
import java.util.Set;

/**
 * One message of a conversation, in OpenAI's vocabulary. Gemini and Ollama clients translate the
 * roles ({@code assistant} becomes Gemini's {@code model}; {@code system} its system instruction).
 *
 * @param role    {@code system}, {@code user} or {@code assistant} ({@code developer} is read as
 *                {@code system} by the providers that lack it)
 * @param content the text
 */
public record ChatMessage(String role, String content) {

    private static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant");

    public ChatMessage {
        if (role == null || !ROLES.contains(role.toLowerCase(Locale.ROOT))) {
            throw new IllegalArgumentException("message role must be one of system, user, assistant, was '" + role + "'");
        }
        if (content == null) {
            throw new IllegalArgumentException("message content must not be null");
        }
        role = role.toLowerCase(Locale.ROOT);
    }

    public static ChatMessage system(String content) {
        return new ChatMessage("system", content);
    }

    public static ChatMessage user(String content) {
        return new ChatMessage("user", content);
    }

    public static ChatMessage assistant(String content) {
        return new ChatMessage("assistant", content);
    }

    /** Whether this message instructs rather than converses ({@code system} or {@code developer}). */
    public boolean isInstruction() {
        return role.equals("system") || role.equals("developer");
    }
}
