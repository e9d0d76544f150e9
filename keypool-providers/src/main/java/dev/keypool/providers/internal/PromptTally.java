package dev.keypool.providers.internal;

import dev.keypool.config.Provider;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The prompt of a request, as the estimate sees it: its texts, its media (images, audio, files,
 * counted at a fixed cost), its messages (each with the provider's framing) and the JSON of its
 * tool and schema definitions, which the providers count as prompt too.
 *
 * <p>Strings that carry media rather than text are told apart by their field ({@code url},
 * {@code image_url}, {@code data}, {@code file_data}, …) or by being a {@code data:} URL: counting a
 * base64 image as text would reserve a hundred thousand tokens for a picture.
 */
public final class PromptTally {

    /**
     * Reserved for each image, audio clip or file part: about what OpenAI charges for a detailed
     * 2048×768 image (1,105), above Gemini's 258 per image tile. The provider's count settles it.
     */
    public static final int MEDIA_TOKENS = 1105;

    /** Fields whose strings are media or references, not prompt text. */
    private static final Set<String> MEDIA_FIELDS = Set.of("url", "image_url", "data", "file_data", "file_url",
            "audio_url", "video_url", "fileUri", "file_uri", "images");

    /** Fields whose strings are labels the providers do not tokenize as prompt text. */
    private static final Set<String> LABEL_FIELDS = Set.of("type", "detail", "format", "mime_type", "mimeType",
            "id", "tool_call_id", "call_id", "file_id", "status");

    private final List<String> texts = new ArrayList<>();
    private final List<String> references = new ArrayList<>();
    private final List<String> json = new ArrayList<>();
    private int media;
    private int messages;
    private long counted;

    public void string(String field, String value) {
        if (field != null && MEDIA_FIELDS.contains(field)) {
            media++;
            int files = value.indexOf("files/");
            if (files >= 0 && (field.equals("fileUri") || field.equals("file_uri"))) {
                references.add(value.substring(files));
            }
        } else if (value.startsWith("data:") && value.contains(";base64,")) {
            media++;
        } else if (field == null || !LABEL_FIELDS.contains(field)) {
            texts.add(value);
        }
    }

    public void text(String value) {
        texts.add(value);
    }

    /** A definition counted as its JSON text (tools, a response schema). */
    public void json(String value) {
        json.add(value);
    }

    public void message() {
        messages++;
    }

    public void media(int count) {
        media += count;
    }

    /** Tokens the caller sent already tokenized (an array of token ids). */
    public void counted(long tokens) {
        counted += tokens;
    }

    /** Uploaded files the prompt names ({@code files/abc} of a Gemini {@code fileData.fileUri}). */
    public List<String> references() {
        return references;
    }

    /** The estimate on {@code provider}'s tokenizer (OpenAI's for {@code model}; an approximation else). */
    public long tokens(TokenEstimator estimator, Provider provider, String model) {
        long tokens = estimator.framing(provider, messages);
        for (String text : texts) {
            tokens += estimator.textTokens(provider, model, text);
        }
        for (String definition : json) {
            tokens += estimator.textTokens(provider, model, definition);
        }
        return tokens + counted + (long) media * MEDIA_TOKENS;
    }
}
