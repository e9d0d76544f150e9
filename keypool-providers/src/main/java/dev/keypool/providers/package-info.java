/**
 * Text and search over pooled keys: {@link dev.keypool.providers.LlmService} (the seed's
 * {@code llm_service}) for OpenAI, Gemini and Ollama, {@link dev.keypool.providers.SearchService}
 * for SerpApi, both on a core {@link dev.keypool.rotation.ApiKeyRotator}.
 *
 * <pre>{@code
 * LlmService llm = LlmService.getLlmService();
 * ChatResult answer = llm.generateText("Explain quantum computing", null, null, 0.7, 1000);   // auto
 * ChatResult pinned = llm.chat(new ChatRequest("openai/gpt-4o", messages, null, 500, Map.of()));
 * llm.stream(ChatRequest.of("Tell me a story"), System.out::print);
 *
 * // tools, images, a response format and several choices, on OpenAI, Gemini or Ollama alike
 * ChatRequest ask = ChatRequest.builder().model("gemini-2.5-flash")
 *         .message(ChatMessage.user(ContentPart.text("Weather where this was taken?"), ContentPart.image("image/jpeg", photo)))
 *         .tool(Tool.function("get_weather", "The weather in a city", schema)).build();
 * ChatResult call = llm.chat(ask);
 * for (ToolCall weather : call.toolCalls()) { ... }
 * ChatResult answer = llm.chat(ask.withMessages(call.message(), ChatMessage.toolResult(id, result)));
 * }</pre>
 *
 * <p>What callers catch: {@link dev.keypool.rotation.NoAvailableKeyException} when no key or
 * provider could serve (no upstream call was made unless its reason is {@code ALL_KEYS_FAILED}, whose
 * cause is the last failure); {@link dev.keypool.failure.UpstreamException} for the provider's client
 * errors (its {@code status()} and message are the provider's) and for a stream that broke after it
 * delivered text; {@link dev.keypool.providers.UnknownModelException} for a model no provider serves;
 * {@link IllegalArgumentException} for a malformed request; {@link java.util.concurrent.CancellationException}
 * when the calling thread was interrupted. No message, result or log line holds a full key.
 */
package dev.keypool.providers;
