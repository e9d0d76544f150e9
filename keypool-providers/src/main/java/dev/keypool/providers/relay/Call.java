package dev.keypool.providers.relay;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.providers.internal.UpstreamRequest;
import java.util.Set;

/**
 * One caller's request, read: what the pool must reserve for it, and how to send it on a key of
 * its own provider. Built by an {@link Operation}; used by one relay call.
 */
public interface Call {

    /** The model asked for, as written ({@code "auto"}, {@code "gpt-4o"}), or {@code null} when none is. */
    String model();

    /**
     * Whether the model decides the provider (OpenAI's chat, which Gemini and Ollama can serve in
     * translation); otherwise the request goes to the provider whose protocol it speaks.
     */
    default boolean routable() {
        return false;
    }

    /** The estimate of the prompt's tokens, reserved before the call. */
    long promptTokens();

    /** The output tokens reserved: the request's own cap (times its choices), or the configured reserve. */
    long outputTokens();

    default boolean stream() {
        return false;
    }

    /**
     * Whether the request needs a pooled key. A few endpoints answer without one (SerpApi's
     * locations), and then none is spent on them.
     */
    default boolean needsKey() {
        return true;
    }

    /**
     * The session the body names ({@code prompt_cache_key}, else {@code user}: OpenAI keeps a
     * prompt cache per key), or {@code null}: its requests prefer the key that served it last.
     */
    default String session() {
        return null;
    }

    /** Upstream objects the request names (a previous response, a cached content, an archived search). */
    default Set<String> references() {
        return Set.of();
    }

    /**
     * The request as it goes to the provider with {@code apiKey} ({@code null} for keyless Ollama)
     * for {@code model} (the model the route chose; the one asked for unless it was {@code auto},
     * a {@code provider/model} or a fallback).
     */
    UpstreamRequest upstream(String apiKey, String model);

    /** How to read the answer: its framing, where its usage and created ids are, what to hide. */
    AnswerSpec answer();

    /** A routable call's body as JSON, for translation into another provider's shape. */
    default JsonNode json() {
        throw new UnsupportedOperationException("only a routable call is translated");
    }
}
