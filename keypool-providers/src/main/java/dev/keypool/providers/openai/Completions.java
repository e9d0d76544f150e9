package dev.keypool.providers.openai;

import dev.keypool.config.Provider;
import dev.keypool.providers.internal.PromptTally;
import dev.keypool.providers.internal.RequestReader;
import dev.keypool.providers.relay.AnswerSpec;
import dev.keypool.providers.relay.Call;
import dev.keypool.providers.relay.Inbound;
import dev.keypool.providers.relay.Operation;
import dev.keypool.providers.relay.RelayContext;
import dev.keypool.providers.relay.RequestRefused;
import dev.keypool.providers.relay.UsageSpec;
import java.util.List;

/**
 * The legacy {@code POST /v1/completions}: {@code prompt} (text, texts, or token ids) is estimated;
 * the output reserved is {@code max_tokens} (16 when unset, OpenAI's documented default, so no
 * reserve is needed) for each of {@code max(n, best_of)} completions, which OpenAI generates and
 * bills. Streams get the usage chunk as chat streams do.
 */
final class Completions implements Operation {

    /** OpenAI's default {@code max_tokens} for the legacy completions. */
    static final long DEFAULT_MAX_TOKENS = 16;

    private final OpenAiApi api;
    private final RelayContext context;

    Completions(OpenAiApi api, RelayContext context) {
        this.api = api;
        this.context = context;
    }

    @Override
    public String name() {
        return "completions";
    }

    @Override
    public Call prepare(Inbound request) {
        OpenAiCall call = new OpenAiCall(api, request, false);
        PromptTally tally = new PromptTally();
        long cap = DEFAULT_MAX_TOKENS;
        long n = 1;
        long bestOf = 1;
        try (RequestReader reader = RequestReader.object(request.body(), "a completion request")) {
            String field;
            while ((field = reader.nextField()) != null) {
                switch (field) {
                    case "model" -> call.readModel(reader);
                    case "prompt", "suffix" -> OpenAiCall.tallyInput(reader, tally);
                    case "stream" -> call.stream = reader.bool("stream");
                    case "stream_options" -> call.readStreamOptions(reader);
                    case "max_tokens" -> {
                        Long value = reader.positive("max_tokens");
                        cap = value == null ? DEFAULT_MAX_TOKENS : value;
                    }
                    case "n" -> n = orOne(reader.positive("n"));
                    case "best_of" -> bestOf = orOne(reader.positive("best_of"));
                    default -> reader.skip();
                }
            }
            call.rootEnd = reader.start();
            reader.end("a completion request");
        }
        if (call.model == null) {
            throw RequestRefused.missing("model");
        }
        call.askForUsage();
        call.prompt = tally.tokens(context.estimator(), Provider.OPENAI, call.model);
        call.output = cap * Math.max(n, bestOf);
        call.answer = !call.stream ? AnswerSpec.document(UsageSpec.OPENAI, List.of())
                : new AnswerSpec(AnswerSpec.Framing.SSE, UsageSpec.OPENAI, List.of(),
                        call.asksForUsage() ? HiddenUsage.INSTANCE : null, false).openedBy(StreamOpening::chat);
        return call;
    }

    private static long orOne(Long value) {
        return value == null ? 1 : value;
    }
}
