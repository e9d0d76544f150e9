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

/** {@code POST /v1/embeddings}: the input is estimated, nothing is reserved for output; usage is {@code prompt_tokens}. */
final class Embeddings implements Operation {

    private static final AnswerSpec ANSWER = AnswerSpec.document(UsageSpec.OPENAI, List.of());

    private final OpenAiApi api;
    private final RelayContext context;

    Embeddings(OpenAiApi api, RelayContext context) {
        this.api = api;
        this.context = context;
    }

    @Override
    public String name() {
        return "embeddings";
    }

    @Override
    public Call prepare(Inbound request) {
        OpenAiCall call = new OpenAiCall(api, request, false);
        PromptTally tally = new PromptTally();
        boolean input = false;
        try (RequestReader reader = RequestReader.object(request.body(), "an embeddings request")) {
            String field;
            while ((field = reader.nextField()) != null) {
                switch (field) {
                    case "model" -> call.readModel(reader);
                    case "input" -> {
                        input = true;
                        OpenAiCall.tallyInput(reader, tally);
                    }
                    default -> reader.skip();
                }
            }
            reader.end("an embeddings request");
        }
        if (call.model == null) {
            throw RequestRefused.missing("model");
        }
        if (!input) {
            throw RequestRefused.missing("input");
        }
        call.prompt = tally.tokens(context.estimator(), Provider.OPENAI, call.model);
        call.output = 0;
        call.answer = ANSWER;
        return call;
    }
}
