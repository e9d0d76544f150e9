package dev.keypool.providers.internal;

import dev.keypool.providers.openai.ChatAnswers;
import dev.keypool.providers.relay.AnswerSpec;
import dev.keypool.providers.relay.ChatTranslator;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * What every translated chat shares, whatever the provider: the request as sent and how its answer
 * is framed, the parameters dropped, and OpenAI's side of the answer: its id, creation time and
 * model, whether the caller asked for the usage chunk, the usage seen so far, and how the stream
 * ends. A provider's translation reads the provider's answer into OpenAI's; the stream's end is the
 * same for all: the usage chunk when asked for, then {@code [DONE]}, and only when the provider
 * finished properly, so that a stream cut short looks cut short.
 */
public abstract class TranslatedChat implements ChatTranslator.Translation {

    private final UpstreamRequest upstream;
    private final AnswerSpec spec;
    private final List<String> dropped;
    /** The model the caller asked for, named in the answer when the provider names none. */
    protected final String model;
    /** Whether the caller asked for the stream's usage chunk ({@code stream_options.include_usage}). */
    protected final boolean includeUsage;
    /** The answer's {@code created}, in seconds. */
    protected final long created;
    /** The answer's id; a translation that takes the provider's own sets it when it has read it. */
    protected String id;
    /** The usage the provider reported last, {@code null} until it reports one. */
    protected ChatAnswers.Usage usage;

    protected TranslatedChat(String model, boolean includeUsage, AnswerSpec spec, UpstreamRequest upstream,
            long created, List<String> dropped) {
        this.model = model;
        this.includeUsage = includeUsage;
        this.spec = spec;
        this.upstream = upstream;
        this.created = created;
        this.dropped = List.copyOf(dropped);
    }

    @Override
    public final UpstreamRequest upstream() {
        return upstream;
    }

    @Override
    public final AnswerSpec answer() {
        return spec;
    }

    @Override
    public final List<String> dropped() {
        return dropped;
    }

    /** The events that end the stream: nothing unless the provider {@code finished} a {@code complete} stream. */
    protected final List<byte[]> end(boolean complete, boolean finished) {
        if (!complete || !finished) {
            return List.of();
        }
        List<byte[]> end = new ArrayList<>(2);
        if (includeUsage) {
            end.add(ChatAnswers.usageChunk(id, created, model, usage));
        }
        end.add("[DONE]".getBytes(StandardCharsets.US_ASCII));
        return end;
    }

    /** One {@code chat.completion.chunk} of this answer, under {@code chunkId} and the model {@code version}. */
    protected final byte[] chunk(String chunkId, String version, ChatAnswers.Delta delta) {
        return ChatAnswers.chunk(chunkId, created, version, delta, includeUsage);
    }
}
