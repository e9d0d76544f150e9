package dev.keypool.providers.openai;

import com.fasterxml.jackson.core.JsonToken;
import dev.keypool.config.Provider;
import dev.keypool.providers.internal.PromptTally;
import dev.keypool.providers.internal.RequestReader;
import dev.keypool.providers.relay.AnswerSpec;
import dev.keypool.providers.relay.Call;
import dev.keypool.providers.relay.Inbound;
import dev.keypool.providers.relay.Operation;
import dev.keypool.providers.relay.RelayContext;
import dev.keypool.providers.relay.UsageSpec;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * {@code POST /v1/responses}, plain and streamed. The estimate covers {@code input},
 * {@code instructions}, and the {@code tools} and {@code text} (schema) definitions; the output
 * reserved is {@code max_output_tokens}, else the configured reserve. Usage comes from the
 * response's {@code usage} (in a stream, from {@code response.completed}, {@code response.incomplete}
 * or {@code response.failed}). The session it names ({@code prompt_cache_key}, else {@code user}) is read
 * for a sticky key.
 *
 * <p>A stored response (the default, {@code store} not false) lives in the account of the key that
 * created it: its id is remembered with that key, and a request whose {@code previous_response_id}
 * or {@code conversation} names one goes to the same key.
 */
final class Responses implements Operation {

    static final UsageSpec USAGE = new UsageSpec(List.of("usage"), "input_tokens", "output_tokens", "total_tokens");
    private static final UsageSpec STREAM_USAGE = new UsageSpec(List.of("response", "usage"), "input_tokens",
            "output_tokens", "total_tokens");
    private static final AnswerSpec STORED = AnswerSpec.document(USAGE, List.of(List.of("id")));
    private static final AnswerSpec UNSTORED = AnswerSpec.document(USAGE, List.of());
    private static final AnswerSpec STORED_STREAM = new AnswerSpec(AnswerSpec.Framing.SSE, STREAM_USAGE,
            List.of(List.of("response", "id")), null, false).openedBy(StreamOpening::responses);
    private static final AnswerSpec UNSTORED_STREAM = new AnswerSpec(AnswerSpec.Framing.SSE, STREAM_USAGE,
            List.of(), null, false).openedBy(StreamOpening::responses);

    private final OpenAiApi api;
    private final RelayContext context;

    Responses(OpenAiApi api, RelayContext context) {
        this.api = api;
        this.context = context;
    }

    @Override
    public String name() {
        return "responses";
    }

    @Override
    public Call prepare(Inbound request) {
        OpenAiCall call = new OpenAiCall(api, request, false);
        PromptTally tally = new PromptTally();
        Long cap = null;
        boolean store = true;
        Set<String> references = new LinkedHashSet<>();
        try (RequestReader reader = RequestReader.object(request.body(), "a responses request")) {
            String field;
            while ((field = reader.nextField()) != null) {
                switch (field) {
                    case "model" -> call.readModel(reader);
                    case "input" -> reader.tallyMessages(tally);
                    case "instructions" -> reader.tally(tally);
                    case "tools", "text" -> tally.json(reader.raw());
                    case "stream" -> call.stream = reader.bool("stream");
                    case "store" -> store = reader.token() == JsonToken.VALUE_NULL || reader.bool("store");
                    case "max_output_tokens" -> cap = reader.positive("max_output_tokens");
                    case "previous_response_id" -> addReference(references, reader.string("previous_response_id"));
                    case "conversation" -> {
                        if (reader.token() == JsonToken.START_OBJECT) {
                            String inner;
                            while ((inner = reader.nextField()) != null) {
                                if (inner.equals("id")) {
                                    addReference(references, reader.string("conversation.id"));
                                } else {
                                    reader.skip();
                                }
                            }
                        } else {
                            addReference(references, reader.string("conversation"));
                        }
                    }
                    case "prompt_cache_key" -> call.promptCacheKey = OpenAiCall.sessionField(reader);
                    case "user" -> call.user = OpenAiCall.sessionField(reader);
                    default -> reader.skip();
                }
            }
            reader.end("a responses request");
        }
        call.references = Set.copyOf(references);
        call.prompt = tally.tokens(context.estimator(), Provider.OPENAI, call.model);
        call.output = cap != null ? cap : context.settings().outputReserve();
        call.answer = call.stream ? (store ? STORED_STREAM : UNSTORED_STREAM) : (store ? STORED : UNSTORED);
        return call;
    }

    private static void addReference(Set<String> references, String id) {
        if (id != null && !id.isBlank()) {
            references.add(id);
        }
    }
}
