package dev.keypool.providers.fake;

/**
 * A function call Gemini's model makes: a {@code functionCall} part with the function's {@code name}
 * and its {@code args} as a JSON object ({@code args} here is that object's JSON text).
 */
public record GeminiFunctionCall(String name, String args) {
}
