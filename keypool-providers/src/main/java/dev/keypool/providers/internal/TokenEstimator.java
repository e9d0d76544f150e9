package dev.keypool.providers.internal;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingRegistry;
import com.knuddels.jtokkit.api.EncodingType;
import dev.keypool.config.Provider;
import dev.keypool.providers.ChatMessage;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Counts the tokens of a prompt before it is sent, so that the reservation covers the request
 * (prompt + {@code max_tokens}) before the provider sees it; the provider's reported usage then
 * settles it.
 *
 * <ul>
 *   <li><b>OpenAI</b>: the model's own encoding ({@code o200k_base} for gpt-4o, gpt-4.1, gpt-4.5,
 *       gpt-5 and the o-series; {@code cl100k_base} for gpt-4, gpt-4-turbo and gpt-3.5) and the chat
 *       framing of OpenAI's cookbook: 3 tokens per message plus its role, 3 to prime the reply. Unknown
 *       names are taken as current models ({@code o200k_base}).</li>
 *   <li><b>Gemini and Ollama</b>: an approximation. Their tokenizers (SentencePiece for Gemini, each
 *       model's own for Ollama) are not available in Java; {@code o200k_base} plus 10 %, and 4 tokens
 *       per message, errs on the side of reserving a little too much, which the settlement refunds.</li>
 * </ul>
 *
 * <p>Special-token text in a prompt ({@code <|endoftext|>}) is counted as ordinary text, as the
 * providers do for user content. Thread-safe; the encodings load on first use.
 *
 * <h2>Counts are remembered</h2>
 * Byte-pair encoding is the costliest step of a gateway request (a regex split, then merges), and
 * most of what it counts was counted before: the system prompt of every call, and every earlier turn
 * of a conversation, which each call sends again. So each encoding keeps the counts of recent texts
 * in a fixed table of {@value #SLOTS} slots, found by a 64-bit hash of the text: a repeat costs one
 * pass over its characters instead of the encoding. A slot holds the hash, the length and the count,
 * not the text, so the table's memory is fixed whatever the prompts; a hash collision (about one in
 * 2<sup>64</sup> per lookup) would misstate one reservation, which the provider's reported usage then
 * settles.
 */
public final class TokenEstimator {

    private static final EncodingRegistry REGISTRY = Encodings.newLazyEncodingRegistry();
    /** Slots of each encoding's table of remembered counts (a power of two). */
    static final int SLOTS = 4096;
    private static final Map<EncodingType, Counter> COUNTERS = new EnumMap<>(EncodingType.class);

    static {
        for (EncodingType type : EncodingType.values()) {
            COUNTERS.put(type, new Counter(type));
        }
    }

    /** Framing tokens per message in OpenAI's chat format. */
    private static final int OPENAI_PER_MESSAGE = 3;
    /** Tokens that prime the assistant's reply in OpenAI's chat format. */
    private static final int OPENAI_REPLY_PRIMING = 3;
    /** Framing tokens per message assumed for Gemini and Ollama. */
    private static final int APPROXIMATE_PER_MESSAGE = 4;
    /** Margin on the o200k count for tokenizers we only approximate. */
    private static final double APPROXIMATION_MARGIN = 1.10;

    /** The prompt tokens of a request to {@code model} on {@code provider} ({@code model} may be null). */
    public long promptTokens(Provider provider, String model, List<ChatMessage> messages, Map<String, Object> extra) {
        if (provider == Provider.OPENAI) {
            Counter encoding = openAiEncoding(model);
            long tokens = OPENAI_REPLY_PRIMING;
            for (ChatMessage message : messages) {
                tokens += OPENAI_PER_MESSAGE + encoding.countTokensOrdinary(message.role())
                        + encoding.countTokensOrdinary(message.content());
            }
            Object tools = extra.get("tools");
            if (tools != null) {
                tokens += encoding.countTokensOrdinary(Json.valueToTree(tools).toString());
            }
            return tokens;
        }
        long tokens = 0;
        for (ChatMessage message : messages) {
            tokens += APPROXIMATE_PER_MESSAGE + approximate(message.content());
        }
        return tokens;
    }

    /**
     * The framing tokens of a chat prompt of {@code messages} messages: OpenAI's 3 per message and 3
     * to prime the reply; 4 per message for the providers we approximate. None for a prompt that is
     * not a conversation ({@code messages} 0).
     */
    public long framing(Provider provider, int messages) {
        if (messages == 0) {
            return 0;
        }
        return provider == Provider.OPENAI ? OPENAI_REPLY_PRIMING + (long) OPENAI_PER_MESSAGE * messages
                : (long) APPROXIMATE_PER_MESSAGE * messages;
    }

    /** The tokens of generated text (a completion the provider did not count for us). */
    public long textTokens(Provider provider, String model, String text) {
        if (text == null || text.isEmpty()) {
            return 0;
        }
        return provider == Provider.OPENAI ? openAiEncoding(model).countTokensOrdinary(text) : approximate(text);
    }

    private static long approximate(String text) {
        int tokens = COUNTERS.get(EncodingType.O200K_BASE).countTokensOrdinary(text);
        return (long) Math.ceil(tokens * APPROXIMATION_MARGIN);
    }

    private static Counter openAiEncoding(String model) {
        return COUNTERS.get(openAiEncodingType(model));
    }

    /** An encoding's counts, remembered by the hash of the text. */
    static final class Counter {

        private record Slot(long hash, int length, int tokens) {
        }

        private final EncodingType type;
        private volatile Encoding encoding;
        /** Racy by design: a slot is an immutable record, so a reader sees a whole one or an older one. */
        private final Slot[] slots = new Slot[SLOTS];

        private Counter(EncodingType type) {
            this.type = type;
        }

        int countTokensOrdinary(String text) {
            long hash = hash(text);
            int index = (int) (hash ^ (hash >>> 32)) & (SLOTS - 1);
            Slot slot = slots[index];
            if (slot != null && slot.hash == hash && slot.length == text.length()) {
                return slot.tokens;
            }
            int tokens = encoding().countTokensOrdinary(text);
            slots[index] = new Slot(hash, text.length(), tokens);
            return tokens;
        }

        private Encoding encoding() {
            Encoding loaded = encoding;
            if (loaded == null) {
                loaded = REGISTRY.getEncoding(type);
                encoding = loaded;
            }
            return loaded;
        }

        /** FNV-1a over the UTF-16 units, then a final mix so that the low bits spread. */
        static long hash(String text) {
            long hash = 0xcbf29ce484222325L;
            for (int i = 0; i < text.length(); i++) {
                hash = (hash ^ text.charAt(i)) * 0x100000001b3L;
            }
            hash ^= hash >>> 33;
            hash *= 0xff51afd7ed558ccdL;
            return hash ^ (hash >>> 33);
        }
    }

    /** The encoding of an OpenAI model. */
    static EncodingType openAiEncodingType(String model) {
        if (model == null) {
            return EncodingType.O200K_BASE;
        }
        String name = model.toLowerCase(Locale.ROOT);
        if (name.startsWith("ft:")) {
            name = name.substring(3);
        }
        if (name.startsWith("gpt-4o") || name.startsWith("gpt-4.1") || name.startsWith("gpt-4.5")
                || name.startsWith("chatgpt-4o")) {
            return EncodingType.O200K_BASE;
        }
        if (name.startsWith("gpt-4") || name.startsWith("gpt-3.5") || name.startsWith("gpt-35")
                || name.startsWith("text-embedding-") || name.startsWith("davinci-002") || name.startsWith("babbage-002")) {
            return EncodingType.CL100K_BASE;
        }
        return EncodingType.O200K_BASE;
    }
}
