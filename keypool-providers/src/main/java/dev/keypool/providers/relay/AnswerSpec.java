package dev.keypool.providers.relay;

import java.util.List;

/**
 * How the relay reads an answer as it passes on to the caller: its framing, where the usage to
 * commit is, which ids it creates (remembered with the key that created them), and what keypool
 * itself added to the request that must be hidden again.
 *
 * @param ids    paths to string fields that name an object the answer created ({@code ["id"]},
 *               {@code ["response", "id"]}); each is remembered with the serving key
 * @param editor changes to each event of a stream ({@code null}: none)
 * @param scrub  whether the answer may echo the key (SerpApi's does), so that it is masked
 * @param opens  which event of a stream is the first that says something (text, a tool call, an end):
 *               the events before it are held back, so a stream that fails before it still fails
 *               over unseen; {@code null} when the first event already does
 */
public record AnswerSpec(Framing framing, UsageSpec usage, List<List<String>> ids, EventEditor editor,
        boolean scrub, java.util.function.Predicate<byte[]> opens) {

    public AnswerSpec {
        ids = List.copyOf(ids);
    }

    public AnswerSpec(Framing framing, UsageSpec usage, List<List<String>> ids, EventEditor editor, boolean scrub) {
        this(framing, usage, ids, editor, scrub, null);
    }

    /** This spec with {@code opens} deciding which event opens the stream. */
    public AnswerSpec openedBy(java.util.function.Predicate<byte[]> test) {
        return new AnswerSpec(framing, usage, ids, editor, scrub, test);
    }

    /** How an answer's body is framed. */
    public enum Framing {
        /** One JSON document (read for usage when its content type is JSON). */
        DOCUMENT,
        /** Server-sent events, each {@code data:} a JSON document. */
        SSE,
        /** One JSON document per line (Ollama's streams). */
        NDJSON,
        /** A JSON array whose elements arrive one by one (Gemini's stream without {@code alt=sse}). */
        JSON_ARRAY,
        /** Bytes keypool does not read (audio, a file's content). */
        OPAQUE
    }

    public static AnswerSpec document(UsageSpec usage, List<List<String>> ids) {
        return new AnswerSpec(Framing.DOCUMENT, usage, ids, null, false);
    }

    public static AnswerSpec opaque() {
        return new AnswerSpec(Framing.OPAQUE, null, List.of(), null, false);
    }

    /**
     * A change to one event of a stream, given its {@code data} (one JSON document): the same array
     * to keep it, another to replace it, {@code null} to leave the event out.
     */
    @FunctionalInterface
    public interface EventEditor {
        byte[] edit(byte[] data);
    }
}
