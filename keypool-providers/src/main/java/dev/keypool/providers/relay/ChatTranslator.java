package dev.keypool.providers.relay;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.config.Provider;
import dev.keypool.providers.internal.UpstreamRequest;
import java.util.List;

/**
 * OpenAI's chat in another provider's own protocol, both ways: the request into the provider's
 * shape, and its answer (whole or streamed) back into OpenAI's. A translator carries only what has
 * a counterpart; {@link #check} names the first parameter it cannot carry (or that the model cannot:
 * tools to a model without function calling), so the relay can skip the route or refuse the request
 * instead of answering without it. When the operator opted in to dropping parameters
 * ({@code KEYPOOL_DROP_UNSUPPORTED_PARAMS}), a request parameter without a counterpart is left out
 * instead, and named in {@link Translation#dropped()}.
 */
public interface ChatTranslator {

    Provider provider();

    /**
     * Why this provider cannot carry {@code request} for {@code model} ({@code null}: the model is not
     * known yet), naming the parameter; {@code null} when it can.
     */
    RequestRefused check(JsonNode request, String model);

    /** The request in the provider's shape, for {@code model}, with {@code apiKey} ({@code null} if keyless). */
    Translation translate(JsonNode request, String model, String apiKey, boolean stream);

    /** One request translated, and how its answer comes back. */
    interface Translation {

        UpstreamRequest upstream();

        /** How the provider's answer is framed and where its usage is. */
        AnswerSpec answer();

        /** The provider's whole answer as OpenAI's {@code chat.completion}. */
        byte[] completion(byte[] body);

        /**
         * The request parameters left out because the operator opted in to dropping what the
         * provider has no counterpart for; the caller is told in {@code x-keypool-dropped-params}.
         */
        default List<String> dropped() {
            return List.of();
        }

        /** OpenAI's {@code chat.completion.chunk} events for one event of the provider's stream. */
        List<byte[]> chunks(byte[] event);

        /**
         * The events that end OpenAI's stream: the usage chunk when asked for, and {@code [DONE]}
         * only when the provider ended its stream properly ({@code complete}); a stream cut short
         * must look cut short.
         */
        List<byte[]> end(boolean complete);
    }
}
