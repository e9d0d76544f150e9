/**
 * Local stand-ins for OpenAI, Gemini, Ollama and SerpApi that answer the way the real services
 * do, on every endpoint the gateway carries: the same paths, headers, success and error bodies (taken
 * from the providers' API references and recorded traffic; where a reference is silent, each fake's
 * Javadoc says what it chose), SSE and NDJSON framing, and the per-account state of stored objects
 * (OpenAI's responses and files, Gemini's cached contents, SerpApi's archived searches belong to the
 * key that created them). They listen on 127.0.0.1, on a free port.
 *
 * <pre>{@code
 * try (FakeOpenAi openai = FakeOpenAi.start()) {
 *     openai.enqueue("sk-key-0", FakeOpenAi.rateLimitedTokens("644ms"));   // key 0's next request
 *     openai.reply("sk-key-1", FakeOpenAi.completion("Hi", 13, 5));       // key 1's every request
 *     openai.enqueue(FakeOpenAi.toolCalls(OpenAiToolCall.of("get_weather", "{\"city\":\"Paris\"}")));
 *     ... point OPENAI_BASE_URL at openai.baseUrl() ...
 *     assertThat(openai.keys()).containsExactly("sk-key-0", "sk-key-1");
 *     assertThat(openai.lastResponse().bodyText()).isEqualTo(whatTheCallerReceived);
 * }
 * }</pre>
 *
 * A request is answered by, in order: the fake's own checks (a missing key, an unknown path, a body
 * the provider refuses, a stored object the key cannot see: answered as the provider would; reads of
 * stored objects, model lists, archives and accounts, answered from the fake's state), the next reply
 * queued for its key, the next reply queued for any key, the reply set for its key, the fake's
 * default reply (a success shaped for the endpoint). {@link Reply} has the generic replies (delays,
 * dropped connections, stalls); each fake has its provider's canned ones, and the text answers
 * ({@link OpenAiAnswer}, {@link GeminiAnswer}) shape themselves for whichever endpoint they answer.
 *
 * <p>Everything is recorded: each request with its raw body and its arrival time on the fake's
 * {@link java.time.Clock} ({@link RecordedRequest}), each answer byte for byte ({@link RecordedResponse}).
 */
package dev.keypool.providers.fake;
