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
import dev.keypool.providers.relay.RequestRefused;
import dev.keypool.providers.relay.UsageSpec;
import java.util.List;

/**
 * {@code POST /v1/chat/completions}. Reads {@code model}, {@code messages} (for the estimate),
 * {@code stream} and {@code stream_options}, the caps {@code max_completion_tokens} /
 * {@code max_tokens}, {@code n}, and the definitions the provider counts as prompt ({@code tools},
 * {@code functions}, {@code response_format}), and the session it names ({@code prompt_cache_key}, else
 * {@code user}, for a sticky key); everything else passes unread. The gateway checks
 * only what it needs ({@code model} a string, {@code messages} a non-empty array, the caps and
 * {@code n} positive integers); OpenAI judges the rest.
 */
final class ChatCompletions implements Operation {

    private static final AnswerSpec PLAIN = AnswerSpec.document(UsageSpec.OPENAI, List.of());
    private static final AnswerSpec STREAM = new AnswerSpec(AnswerSpec.Framing.SSE, UsageSpec.OPENAI, List.of(),
            null, false).openedBy(StreamOpening::chat);
    private static final AnswerSpec STREAM_HIDING_USAGE = new AnswerSpec(AnswerSpec.Framing.SSE, UsageSpec.OPENAI,
            List.of(), HiddenUsage.INSTANCE, false).openedBy(StreamOpening::chat);

    private final OpenAiApi api;
    private final RelayContext context;

    ChatCompletions(OpenAiApi api, RelayContext context) {
        this.api = api;
        this.context = context;
    }

    @Override
    public String name() {
        return "chat_completions";
    }

    @Override
    public Call prepare(Inbound request) {
        OpenAiCall call = new OpenAiCall(api, request, true);
        PromptTally tally = new PromptTally();
        Long maxTokens = null;
        Long maxCompletionTokens = null;
        long choices = 1;
        boolean messages = false;
        try (RequestReader reader = RequestReader.object(request.body(), "a chat completion request")) {
            String field;
            while ((field = reader.nextField()) != null) {
                switch (field) {
                    case "model" -> call.readModel(reader);
                    case "messages" -> {
                        if (reader.token() != JsonToken.START_ARRAY) {
                            reader.skip();
                            throw RequestRefused.invalid("messages", "'messages' must be a non-empty array.");
                        }
                        while (reader.next() != JsonToken.END_ARRAY) {
                            messages = true;
                            tally.message();
                            reader.tally(tally);
                        }
                    }
                    case "stream" -> call.stream = reader.bool("stream");
                    case "stream_options" -> call.readStreamOptions(reader);
                    case "max_tokens" -> maxTokens = reader.positive("max_tokens");
                    case "max_completion_tokens" -> maxCompletionTokens = reader.positive("max_completion_tokens");
                    case "n" -> {
                        Long n = reader.positive("n");
                        choices = n == null ? 1 : n;
                    }
                    case "tools", "functions", "response_format" -> tally.json(reader.raw());
                    case "prompt_cache_key" -> call.promptCacheKey = OpenAiCall.sessionField(reader);
                    case "user" -> call.user = OpenAiCall.sessionField(reader);
                    default -> reader.skip();
                }
            }
            call.rootEnd = reader.start();
            reader.end("a chat completion request");
        }
        if (call.model == null) {
            throw RequestRefused.missing("model");
        }
        if (!messages) {
            throw RequestRefused.invalid("messages", "'messages' must be a non-empty array.");
        }
        call.askForUsage();
        Long cap = maxCompletionTokens != null ? maxCompletionTokens : maxTokens;
        long perChoice = cap != null ? cap : context.settings().outputReserve();
        call.enforcedCap = cap == null && context.settings().enforceOutputCap() ? perChoice : 0;
        call.prompt = tally.tokens(context.estimator(), Provider.OPENAI, call.model);
        call.output = perChoice * choices;
        call.answer = !call.stream ? PLAIN : call.asksForUsage() ? STREAM_HIDING_USAGE : STREAM;
        return call;
    }
}
