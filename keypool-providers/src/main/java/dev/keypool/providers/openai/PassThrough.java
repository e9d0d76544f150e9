package dev.keypool.providers.openai;

import com.fasterxml.jackson.core.JsonToken;
import dev.keypool.providers.internal.RequestReader;
import dev.keypool.providers.relay.AnswerSpec;
import dev.keypool.providers.relay.Call;
import dev.keypool.providers.relay.Inbound;
import dev.keypool.providers.relay.Operation;
import dev.keypool.providers.relay.RequestRefused;
import dev.keypool.providers.relay.UsageSpec;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Every other {@code /v1/…} endpoint (files, uploads, batches, vector stores, moderations, audio,
 * images, fine-tuning, conversations, responses by id, …): passed through on a pooled key as it
 * came, body and all (multipart uploads included), counted as a request with no tokens reserved.
 *
 * <p>What an answer to a {@code POST} creates (its top-level {@code id}) is remembered with the key
 * that created it; a request that names such an id (in its path, or as a top-level string of its
 * JSON body: {@code file_id}, {@code input_file_id}, {@code vector_store_ids}, …) goes to that key,
 * since another key's account would not know it.
 */
final class PassThrough implements Operation {

    /** OpenAI's object ids: a lower-case prefix, {@code _} or {@code -}, then the id ({@code file-abc…}, {@code resp_…}). */
    private static final Pattern OBJECT_ID = Pattern.compile("[a-z]{2,12}[_-][A-Za-z0-9_-]{6,}");
    private static final AnswerSpec CREATES = AnswerSpec.document(UsageSpec.OPENAI, List.of(List.of("id")));
    private static final AnswerSpec READS = AnswerSpec.document(UsageSpec.OPENAI, List.of());

    private final OpenAiApi api;

    PassThrough(OpenAiApi api) {
        this.api = api;
    }

    @Override
    public String name() {
        return "other";
    }

    @Override
    public Call prepare(Inbound request) {
        OpenAiCall call = new OpenAiCall(api, request, false);
        Set<String> references = new LinkedHashSet<>();
        for (String segment : request.path().split("/")) {
            if (OBJECT_ID.matcher(segment).matches()) {
                references.add(segment);
            }
        }
        String contentType = request.header("Content-Type");
        if (request.body().length > 0 && contentType != null
                && contentType.toLowerCase(Locale.ROOT).startsWith("application/json")) {
            readReferences(request.body(), references);
        }
        call.references = Set.copyOf(references);
        call.answer = request.method().equals("POST") ? CREATES : READS;
        return call;
    }

    /** The top-level strings (and arrays of strings) of a JSON body that look like object ids. */
    private static void readReferences(byte[] body, Set<String> references) {
        try (RequestReader reader = RequestReader.object(body, "a JSON request")) {
            while (reader.nextField() != null) {
                JsonToken token = reader.token();
                if (token == JsonToken.VALUE_STRING) {
                    addIfId(references, reader.text());
                } else if (token == JsonToken.START_ARRAY) {
                    JsonToken element;
                    while ((element = reader.next()) != JsonToken.END_ARRAY) {
                        if (element == JsonToken.VALUE_STRING) {
                            addIfId(references, reader.text());
                        } else {
                            reader.skip();
                        }
                    }
                } else {
                    reader.skip();
                }
            }
        } catch (RequestRefused notJson) {
            // OpenAI judges a malformed body; it names no object keypool knows
        }
    }

    private static void addIfId(Set<String> references, String value) {
        if (OBJECT_ID.matcher(value).matches()) {
            references.add(value);
        }
    }
}
