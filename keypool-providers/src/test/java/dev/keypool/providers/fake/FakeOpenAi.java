package dev.keypool.providers.fake;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import dev.keypool.config.Provider;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * OpenAI Chat Completions as {@code api.openai.com} answers it: {@code POST /v1/chat/completions}
 * with a bearer key; JSON or (with {@code "stream": true}) SSE, including the usage chunk when the
 * request asked for {@code stream_options.include_usage}; errors in OpenAI's
 * {@code {"error": {message, type, param, code}}} shape, pretty-printed with four spaces as the live
 * API does; the {@code x-ratelimit-*} headers on every answer.
 *
 * <p>Bodies and messages follow recorded traffic: the 429 {@code rate_limit_exceeded} TPM/RPM and
 * "Request too large" messages, {@code insufficient_quota}, {@code invalid_api_key} (which, like the
 * real API, echoes the key with its middle starred out), the 500, 503 and a proxy's HTML 502.
 */
public final class FakeOpenAi extends FakeUpstream {

    private static final String ORGANIZATION = "org-uOtiSEwvUnroadaOnJJquBEC";
    private static final String RATE_LIMITS_URL = "https://platform.openai.com/account/rate-limits";

    private FakeOpenAi() {
    }

    public static FakeOpenAi start() {
        FakeOpenAi fake = new FakeOpenAi();
        fake.listen();
        return fake;
    }

    @Override
    public Provider provider() {
        return Provider.OPENAI;
    }

    /** {@code http://127.0.0.1:PORT/v1}, as {@code OPENAI_BASE_URL} is written. */
    @Override
    public String baseUrl() {
        return root() + "/v1";
    }

    @Override
    protected String keyOf(HttpExchange exchange, RecordedRequest request) {
        String authorization = request.header("authorization");
        return authorization != null && authorization.startsWith("Bearer ") ? authorization.substring(7) : null;
    }

    @Override
    protected Reply check(RecordedRequest request) {
        if (!request.method().equals("POST") || !request.path().equals("/v1/chat/completions")) {
            return error(404, "Invalid URL (" + request.method() + " " + request.path() + ")",
                    "invalid_request_error", null, null);
        }
        if (request.key() == null) {
            return error(401, "You didn't provide an API key. You need to provide your API key in an Authorization"
                    + " header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with"
                    + " blank username) if you're accessing the API from your browser and are prompted for a username"
                    + " and password. You can obtain an API key from https://platform.openai.com/account/api-keys.",
                    "invalid_request_error", null, null);
        }
        if (!request.json().path("messages").isArray()) {
            return error(400, "Missing required parameter: 'messages'.", "invalid_request_error", "messages",
                    "missing_required_parameter");
        }
        return null;
    }

    @Override
    protected Reply success() {
        return completion("This is a test!", 13, 5);
    }

    // ---- successes --------------------------------------------------------------------------------

    /** A completion; streamed in word-sized deltas when the request asked for a stream. */
    public static Reply completion(String text, int promptTokens, int completionTokens) {
        return completion(text, promptTokens, completionTokens, "stop");
    }

    /** A completion with a given {@code finish_reason} ({@code length} for a truncated one). */
    public static Reply completion(String text, int promptTokens, int completionTokens, String finishReason) {
        return streamed(words(text), promptTokens, completionTokens, finishReason, null, Reply.Ending.CLOSE);
    }

    /** A completion streamed in exactly these deltas (or, to a non-streaming request, joined). */
    public static Reply streamed(List<String> deltas, int promptTokens, int completionTokens) {
        return streamed(deltas, promptTokens, completionTokens, "stop", null, Reply.Ending.CLOSE);
    }

    /** A stream that sends these deltas and then loses its connection: no finish, no usage, no {@code [DONE]}. */
    public static Reply streamThenDrop(String... deltas) {
        return streamThenDrop(null, deltas);
    }

    /** Like {@link #streamThenDrop(String...)}, dropping only once {@code gate} opens. */
    public static Reply streamThenDrop(Gate gate, String... deltas) {
        return streamed(List.of(deltas), 0, 0, null, gate, Reply.Ending.DROP);
    }

    /** A stream that sends these deltas and then goes silent, connection open. */
    public static Reply streamThenStall(String... deltas) {
        return streamed(List.of(deltas), 0, 0, null, null, Reply.Ending.STALL);
    }

    /** A stream that sends these deltas and then an error event ({@code data: {"error": …}}). */
    public static Reply streamThenError(List<String> deltas, String message) {
        return exchange -> {
            List<String> events = new ArrayList<>(chunks(exchange.request(), deltas, 0, 0, null));
            ObjectNode error = JsonText.object();
            error.putObject("error").put("message", message).put("type", "server_error").putNull("param").putNull("code");
            events.add("data: " + JsonText.compact(error) + "\n\n");
            Reply.stream(200, "text/event-stream; charset=utf-8", events, Reply.Ending.CLOSE, headers()).send(exchange);
        };
    }

    private static Reply streamed(List<String> deltas, int promptTokens, int completionTokens, String finishReason,
            Gate gate, Reply.Ending ending) {
        return exchange -> {
            RecordedRequest request = exchange.request();
            if (request.json().path("stream").asBoolean(false)) {
                Reply.stream(200, "text/event-stream; charset=utf-8",
                        chunks(request, deltas, promptTokens, completionTokens, finishReason), gate, ending, headers())
                        .send(exchange);
            } else if (ending == Reply.Ending.CLOSE) {
                Reply.json(200, body(request, String.join("", deltas), promptTokens, completionTokens, finishReason),
                        headers()).send(exchange);
            } else if (ending == Reply.Ending.DROP) {
                exchange.drop();
            } else {
                exchange.stallUntilClosed();
            }
        };
    }

    // ---- errors (bodies verbatim from OpenAI's answers) ------------------------------------------

    /** 429 {@code rate_limit_exceeded} on tokens per minute; the message and reset header say {@code tryAgain}. */
    public static Reply rateLimitedTokens(String tryAgain) {
        return exchange -> error(429, "Rate limit reached for " + model(exchange.request()) + " in organization "
                + ORGANIZATION + " on tokens per min (TPM): Limit 30000, Used 29937, Requested 385. Please try again in "
                + tryAgain + ". Visit " + RATE_LIMITS_URL + " to learn more.", "tokens", null, "rate_limit_exceeded")
                .withHeaders(rateLimitHeaders(500, 499, "120ms", 30000, 63, tryAgain))
                .send(exchange);
    }

    /** 429 {@code rate_limit_exceeded} on requests per minute. */
    public static Reply rateLimitedRequests(String tryAgain) {
        return exchange -> error(429, "Rate limit reached for " + model(exchange.request()) + " in organization "
                + ORGANIZATION + " on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in "
                + tryAgain + ". Visit " + RATE_LIMITS_URL + " to learn more.", "requests", null, "rate_limit_exceeded")
                .withHeaders(rateLimitHeaders(3, 0, tryAgain, 30000, 29000, "2s"))
                .send(exchange);
    }

    /** 429 on tokens per day: the key is done for the day. */
    public static Reply tokensPerDayExceeded() {
        return exchange -> error(429, "Rate limit reached for " + model(exchange.request()) + " in organization "
                + ORGANIZATION + " on tokens per day (TPD): Limit 90000, Used 89850, Requested 385. Please try again in"
                + " 5m27.36s. Visit " + RATE_LIMITS_URL + " to learn more.", "tokens", null, "rate_limit_exceeded")
                .send(exchange);
    }

    /** 429 "Request too large": the request alone exceeds the limit; no key will take it. */
    public static Reply requestTooLarge() {
        return exchange -> error(429, "Request too large for " + model(exchange.request()) + " in organization "
                + ORGANIZATION + " on tokens per min (TPM): Limit 30000, Requested 31538. The input or output tokens must"
                + " be reduced in order to run successfully. Visit " + RATE_LIMITS_URL + " to learn more.",
                "tokens", null, "rate_limit_exceeded").send(exchange);
    }

    /** 429 {@code insufficient_quota}. */
    public static Reply insufficientQuota() {
        return error(429, "You exceeded your current quota, please check your plan and billing details. For more"
                + " information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
                "insufficient_quota", null, "insufficient_quota");
    }

    /** 429 {@code insufficient_quota} with the 2026 prepaid-credit code. */
    public static Reply creditBalanceExhausted() {
        return error(429, "You have no credits remaining. Add credits to continue using the API at"
                + " https://platform.openai.com/settings/organization/billing/.", "insufficient_quota", null,
                "credit_balance_exhausted");
    }

    /** 401 {@code invalid_api_key}, echoing the key with its middle starred out as OpenAI does. */
    public static Reply invalidApiKey() {
        return exchange -> error(401, "Incorrect API key provided: " + starred(exchange.request().key())
                + ". You can find your API key at https://platform.openai.com/account/api-keys.",
                "invalid_request_error", null, "invalid_api_key").send(exchange);
    }

    /** 401 whose message holds the full key: worse than OpenAI, to prove keypool scrubs what it is told. */
    public static Reply invalidApiKeyEchoingFullKey() {
        return exchange -> error(401, "Incorrect API key provided: " + exchange.request().key() + ".",
                "invalid_request_error", null, "invalid_api_key").send(exchange);
    }

    /** 404 {@code model_not_found} for the requested model. */
    public static Reply modelNotFound() {
        return exchange -> error(404, "The model `" + model(exchange.request())
                + "` does not exist or you do not have access to it.", "invalid_request_error", null, "model_not_found")
                .send(exchange);
    }

    /** 400 {@code invalid_request_error}. */
    public static Reply badRequest(String message, String param, String code) {
        return error(400, message, "invalid_request_error", param, code);
    }

    /** 500 {@code server_error}. */
    public static Reply serverError() {
        return error(500, "The server had an error while processing your request. Sorry about that! You can retry your"
                + " request, or contact us through our help center if the error persists.", "server_error", null,
                "server_error");
    }

    /** 503 "The engine is currently overloaded". */
    public static Reply overloaded() {
        return error(503, "The engine is currently overloaded, please try again later", "server_error", null, null);
    }

    /** 502 from the CDN in front of the API: HTML, not JSON. */
    public static Reply badGatewayHtml() {
        return Reply.body(502, "text/html", "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
                + "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n");
    }

    /** Any OpenAI error answer. */
    public static Reply error(int status, String message, String type, String param, String code) {
        ObjectNode root = JsonText.object();
        ObjectNode error = root.putObject("error");
        error.put("message", message);
        error.put("type", type);
        error.put("param", param);
        error.put("code", code);
        return Reply.body(status, "application/json; charset=utf-8", JsonText.pretty(root, 4),
                "x-request-id", requestId(), "openai-version", "2020-10-01");
    }

    /**
     * The six {@code x-ratelimit-*} headers, as name-value pairs for {@link Reply#withHeaders}.
     * Resets are Go durations ({@code 6m0s}, {@code 20ms}).
     */
    public static String[] rateLimitHeaders(long limitRequests, long remainingRequests, String resetRequests,
            long limitTokens, long remainingTokens, String resetTokens) {
        return new String[] {
            "x-ratelimit-limit-requests", String.valueOf(limitRequests),
            "x-ratelimit-limit-tokens", String.valueOf(limitTokens),
            "x-ratelimit-remaining-requests", String.valueOf(remainingRequests),
            "x-ratelimit-remaining-tokens", String.valueOf(remainingTokens),
            "x-ratelimit-reset-requests", resetRequests,
            "x-ratelimit-reset-tokens", resetTokens,
        };
    }

    // ---- bodies -----------------------------------------------------------------------------------

    private static String[] headers() {
        List<String> headers = new ArrayList<>(List.of("openai-organization", "user-keypool-test",
                "openai-processing-ms", "212", "openai-version", "2020-10-01", "x-request-id", requestId()));
        headers.addAll(List.of(rateLimitHeaders(10000, 9999, "6ms", 30000000, 29999980, "0s")));
        return headers.toArray(String[]::new);
    }

    private static String body(RecordedRequest request, String text, int promptTokens, int completionTokens,
            String finishReason) {
        ObjectNode root = JsonText.object();
        root.put("id", completionId());
        root.put("object", "chat.completion");
        root.put("created", 1741570283L);
        root.put("model", model(request));
        ObjectNode choice = root.putArray("choices").addObject();
        choice.put("index", 0);
        ObjectNode message = choice.putObject("message");
        message.put("role", "assistant");
        message.put("content", text);
        message.putNull("refusal");
        message.putArray("annotations");
        choice.putNull("logprobs");
        choice.put("finish_reason", finishReason);
        root.set("usage", usage(promptTokens, completionTokens));
        root.put("service_tier", "default");
        root.put("system_fingerprint", "fp_fc9f1d7035");
        return JsonText.pretty(root, 2);
    }

    private static List<String> chunks(RecordedRequest request, List<String> deltas, int promptTokens,
            int completionTokens, String finishReason) {
        boolean includeUsage = request.json().path("stream_options").path("include_usage").asBoolean(false);
        String id = completionId();
        String model = model(request);
        List<String> events = new ArrayList<>();
        ObjectNode first = chunk(id, model, includeUsage);
        ObjectNode roleDelta = ((ObjectNode) first.get("choices").get(0)).putObject("delta");
        roleDelta.put("role", "assistant").put("content", "").putNull("refusal");
        ((ObjectNode) first.get("choices").get(0)).putNull("logprobs").putNull("finish_reason");
        events.add(event(first));
        for (String delta : deltas) {
            ObjectNode chunk = chunk(id, model, includeUsage);
            ObjectNode choice = (ObjectNode) chunk.get("choices").get(0);
            choice.putObject("delta").put("content", delta);
            choice.putNull("logprobs").putNull("finish_reason");
            events.add(event(chunk));
        }
        if (finishReason == null) {
            return events;
        }
        ObjectNode last = chunk(id, model, includeUsage);
        ObjectNode lastChoice = (ObjectNode) last.get("choices").get(0);
        lastChoice.putObject("delta");
        lastChoice.putNull("logprobs").put("finish_reason", finishReason);
        events.add(event(last));
        if (includeUsage) {
            ObjectNode usage = chunk(id, model, true);
            usage.putArray("choices");
            usage.set("usage", usage(promptTokens, completionTokens));
            events.add(event(usage));
        }
        events.add("data: [DONE]\n\n");
        return events;
    }

    private static ObjectNode chunk(String id, String model, boolean includeUsage) {
        ObjectNode chunk = JsonText.object();
        chunk.put("id", id);
        chunk.put("object", "chat.completion.chunk");
        chunk.put("created", 1741570283L);
        chunk.put("model", model);
        chunk.put("service_tier", "default");
        chunk.put("system_fingerprint", "fp_44709d6fcb");
        ArrayNode choices = chunk.putArray("choices");
        choices.addObject().put("index", 0);
        if (includeUsage) {
            chunk.putNull("usage");
        }
        chunk.put("obfuscation", Long.toString(ThreadLocalRandom.current().nextLong(1L << 20), 36));
        return chunk;
    }

    private static String event(JsonNode chunk) {
        return "data: " + JsonText.compact(chunk) + "\n\n";
    }

    private static ObjectNode usage(int promptTokens, int completionTokens) {
        ObjectNode usage = JsonText.object();
        usage.put("prompt_tokens", promptTokens);
        usage.put("completion_tokens", completionTokens);
        usage.put("total_tokens", promptTokens + completionTokens);
        usage.putObject("prompt_tokens_details").put("cached_tokens", 0).put("audio_tokens", 0);
        usage.putObject("completion_tokens_details").put("reasoning_tokens", 0).put("audio_tokens", 0)
                .put("accepted_prediction_tokens", 0).put("rejected_prediction_tokens", 0);
        return usage;
    }

    private static String model(RecordedRequest request) {
        String model = request.json().path("model").asText("");
        return model.isEmpty() ? "gpt-4o-mini" : model;
    }

    /** Text cut after each space, the way deltas usually arrive. */
    static List<String> words(String text) {
        List<String> words = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < text.length(); i++) {
            if (text.charAt(i) == ' ' && i > start) {
                words.add(text.substring(start, i));
                start = i;
            }
        }
        if (start < text.length()) {
            words.add(text.substring(start));
        }
        return words;
    }

    private static String starred(String key) {
        if (key == null || key.length() <= 12) {
            return "sk-****";
        }
        return key.substring(0, 8) + "*".repeat(key.length() - 12) + key.substring(key.length() - 4);
    }

    private static String completionId() {
        return "chatcmpl-" + randomToken(29);
    }

    private static String requestId() {
        return "req_" + randomToken(32).toLowerCase(java.util.Locale.ROOT);
    }

    private static String randomToken(int length) {
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        StringBuilder token = new StringBuilder(length);
        for (int i = 0; i < length; i++) {
            token.append(alphabet.charAt(ThreadLocalRandom.current().nextInt(alphabet.length())));
        }
        return token.toString();
    }
}
