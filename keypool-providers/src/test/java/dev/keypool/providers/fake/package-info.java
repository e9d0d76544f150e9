/**
 * Local stand-ins for OpenAI, Gemini, Ollama and SerpApi that answer the way the real services
 * do: the same paths, headers, success and error bodies (taken from the providers' documentation
 * and recorded traffic), SSE and NDJSON framing. They listen on 127.0.0.1, on a free port.
 *
 * <pre>{@code
 * try (FakeOpenAi openai = FakeOpenAi.start()) {
 *     openai.enqueue("sk-key-0", FakeOpenAi.rateLimitedTokens("644ms"));   // key 0's next request
 *     openai.reply("sk-key-1", FakeOpenAi.completion("Hi", 13, 5));       // key 1's every request
 *     ... point OPENAI_BASE_URL at openai.baseUrl() ...
 *     assertThat(openai.keys()).containsExactly("sk-key-0", "sk-key-1");
 * }
 * }</pre>
 *
 * A request is answered by, in order: the fake's own checks (a missing key, an unknown path:
 * answered as the provider would), the next reply queued for its key, the next reply queued for
 * any key, the reply set for its key, the fake's default reply (a success). {@link Reply} has the
 * generic replies (delays, dropped connections, stalls); each fake has its provider's canned ones.
 */
package dev.keypool.providers.fake;
