package dev.keypool.providers.relay;

/** One endpoint of a provider's protocol ({@code POST /v1/chat/completions}, {@code :generateContent}). */
public interface Operation {

    /** A short name for metrics and logs: {@code chat_completions}, {@code generate_content}. */
    String name();

    /**
     * Reads what the pool needs from the caller's request, without rebuilding it.
     *
     * @throws RequestRefused when the request cannot be read (not JSON, no model) or names
     *                        something keypool cannot reserve for (a negative output cap)
     */
    Call prepare(Inbound request);
}
