package dev.keypool.providers.fake;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import dev.keypool.config.Provider;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Gemini's native API as {@code generativelanguage.googleapis.com} answers it:
 * {@code POST /v1beta/models/{model}:generateContent} (JSON, two-space indented) and
 * {@code :streamGenerateContent?alt=sse} (events framed with CRLF CRLF, no {@code [DONE]}, every event
 * carrying the cumulative {@code usageMetadata}); the key in {@code x-goog-api-key} or {@code ?key=};
 * errors as {@code google.rpc.Status} with the details Google sends ({@code QuotaFailure},
 * {@code RetryInfo}, {@code ErrorInfo}).
 */
public final class FakeGemini extends FakeUpstream {

    private static final String JSON = "application/json; charset=UTF-8";
    private static final Pattern METHOD = Pattern.compile("^/v1beta/models/([^/:]+):(generateContent|streamGenerateContent)$");

    private FakeGemini() {
    }

    public static FakeGemini start() {
        FakeGemini fake = new FakeGemini();
        fake.listen();
        return fake;
    }

    @Override
    public Provider provider() {
        return Provider.GEMINI;
    }

    @Override
    protected String keyOf(HttpExchange exchange, RecordedRequest request) {
        String header = request.header("x-goog-api-key");
        return header != null ? header : request.queryParam("key");
    }

    @Override
    protected Reply check(RecordedRequest request) {
        Matcher method = METHOD.matcher(request.path());
        if (!request.method().equals("POST") || !method.matches()) {
            return error(404, "Method not found.", "NOT_FOUND", null);
        }
        if (request.key() == null) {
            return error(403, "Method doesn't allow unregistered callers (callers without established identity)."
                    + " Please use API Key or other form of API consumer identity to call this API.", "PERMISSION_DENIED", null);
        }
        if (!request.json().path("contents").isArray()) {
            return error(400, "* GenerateContentRequest.contents: contents is not specified\n", "INVALID_ARGUMENT", null);
        }
        return null;
    }

    @Override
    protected Reply success() {
        return generated("This is a test!", 8, 5);
    }

    // ---- successes --------------------------------------------------------------------------------

    /** A response; as SSE events of a word or so when the request was a {@code streamGenerateContent}. */
    public static Reply generated(String text, int promptTokens, int candidateTokens) {
        return streamed(FakeOpenAi.words(text), promptTokens, candidateTokens, 0);
    }

    /** A response of a thinking model: {@code thoughtsTokenCount} is billed on top of the candidates. */
    public static Reply generated(String text, int promptTokens, int candidateTokens, int thoughtTokens) {
        return streamed(FakeOpenAi.words(text), promptTokens, candidateTokens, thoughtTokens);
    }

    /** A response streamed in exactly these deltas (joined for {@code generateContent}). */
    public static Reply streamed(List<String> deltas, int promptTokens, int candidateTokens, int thoughtTokens) {
        return exchange -> {
            RecordedRequest request = exchange.request();
            if (isStream(request)) {
                List<ObjectNode> chunks = chunks(deltas, promptTokens, candidateTokens, thoughtTokens, "STOP");
                send(exchange, request, chunks, null, Reply.Ending.CLOSE);
            } else {
                ObjectNode root = response(String.join("", deltas), "STOP");
                root.set("usageMetadata", usage(promptTokens, candidateTokens, thoughtTokens));
                root.put("modelVersion", model(request));
                root.put("responseId", responseId());
                Reply.body(200, JSON, JsonText.pretty(root, 2)).send(exchange);
            }
        };
    }

    /** A stream that sends these deltas and then loses its connection. */
    public static Reply streamThenDrop(String... deltas) {
        return streamThenDrop(null, deltas);
    }

    /** Like {@link #streamThenDrop(String...)}, dropping only once {@code gate} opens. */
    public static Reply streamThenDrop(Gate gate, String... deltas) {
        return exchange -> send(exchange, exchange.request(), chunks(List.of(deltas), 5, deltas.length, 0, null),
                gate, Reply.Ending.DROP);
    }

    /** A stream that sends these deltas and then goes silent, connection open. */
    public static Reply streamThenStall(String... deltas) {
        return exchange -> send(exchange, exchange.request(), chunks(List.of(deltas), 5, deltas.length, 0, null),
                null, Reply.Ending.STALL);
    }

    /** 200 with no candidates: the prompt itself was blocked. */
    public static Reply blockedPrompt() {
        return exchange -> {
            ObjectNode root = JsonText.object();
            ObjectNode feedback = root.putObject("promptFeedback");
            feedback.put("blockReason", "SAFETY");
            feedback.putArray("safetyRatings").addObject()
                    .put("category", "HARM_CATEGORY_DANGEROUS_CONTENT").put("probability", "HIGH");
            root.set("usageMetadata", usage(9, 0, 0));
            root.put("modelVersion", model(exchange.request()));
            root.put("responseId", responseId());
            Reply.body(200, JSON, JsonText.pretty(root, 2)).send(exchange);
        };
    }

    // ---- errors (bodies verbatim from Google's answers) -------------------------------------------

    /** 429 on the per-minute free-tier quota, with {@code RetryInfo.retryDelay} ({@code "20s"}). */
    public static Reply rateLimited(String retryDelay) {
        return exchange -> resourceExhausted(model(exchange.request()),
                "GenerateRequestsPerMinutePerProjectPerModel-FreeTier", "generate_content_free_tier_requests", "5",
                retryDelay).send(exchange);
    }

    /** 429 on the per-day quota; Google still sends a seconds-long {@code retryDelay}. */
    public static Reply dailyQuotaExhausted() {
        return exchange -> resourceExhausted(model(exchange.request()),
                "GenerateRequestsPerDayPerProjectPerModel-FreeTier", "generate_content_free_tier_requests", "20",
                "26s").send(exchange);
    }

    /** 400 {@code API_KEY_INVALID}: Google's invalid-key answer is a 400, not a 401. */
    public static Reply apiKeyInvalid() {
        ObjectNode details = JsonText.object();
        ArrayNode list = details.putArray("details");
        ObjectNode info = list.addObject();
        info.put("@type", "type.googleapis.com/google.rpc.ErrorInfo");
        info.put("reason", "API_KEY_INVALID");
        info.put("domain", "googleapis.com");
        info.putObject("metadata").put("service", "generativelanguage.googleapis.com");
        list.addObject().put("@type", "type.googleapis.com/google.rpc.LocalizedMessage").put("locale", "en-US")
                .put("message", "API key not valid. Please pass a valid API key.");
        return error(400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT", list);
    }

    /** 403 {@code PERMISSION_DENIED}: the key was reported as leaked. */
    public static Reply keyLeaked() {
        return error(403, "Your API key was reported as leaked. Please use another API key.", "PERMISSION_DENIED", null);
    }

    /** 503 {@code UNAVAILABLE}. */
    public static Reply overloaded() {
        return error(503, "The model is overloaded. Please try again later.", "UNAVAILABLE", null);
    }

    /** 500 {@code INTERNAL}. */
    public static Reply internalError() {
        return error(500, "An internal error has occurred. Please retry or report in"
                + " https://developers.generativeai.google/guide/troubleshooting", "INTERNAL", null);
    }

    /** 404 {@code NOT_FOUND} for the requested model. */
    public static Reply modelNotFound() {
        return exchange -> error(404, "models/" + model(exchange.request()) + " is not found for API version v1beta, or is"
                + " not supported for generateContent. Call ListModels to see the list of available models and their"
                + " supported methods.", "NOT_FOUND", null).send(exchange);
    }

    /** 400 {@code INVALID_ARGUMENT} that is the request's fault. */
    public static Reply invalidArgument(String message) {
        return error(400, message, "INVALID_ARGUMENT", null);
    }

    /** Any {@code google.rpc.Status} answer. */
    public static Reply error(int status, String message, String rpcStatus, ArrayNode details) {
        ObjectNode root = JsonText.object();
        ObjectNode error = root.putObject("error");
        error.put("code", status);
        error.put("message", message);
        error.put("status", rpcStatus);
        if (details != null) {
            error.set("details", details);
        }
        return Reply.body(status, JSON, JsonText.pretty(root, 2));
    }

    private static Reply resourceExhausted(String model, String quotaId, String metric, String limit, String retryDelay) {
        ArrayNode details = JsonText.object().putArray("details");
        ObjectNode help = details.addObject();
        help.put("@type", "type.googleapis.com/google.rpc.Help");
        help.putArray("links").addObject().put("description", "Learn more about Gemini API quotas")
                .put("url", "https://ai.google.dev/gemini-api/docs/rate-limits");
        ObjectNode failure = details.addObject();
        failure.put("@type", "type.googleapis.com/google.rpc.QuotaFailure");
        ObjectNode violation = failure.putArray("violations").addObject();
        violation.put("quotaMetric", "generativelanguage.googleapis.com/" + metric);
        violation.put("quotaId", quotaId);
        violation.putObject("quotaDimensions").put("model", model).put("location", "global");
        violation.put("quotaValue", limit);
        details.addObject().put("@type", "type.googleapis.com/google.rpc.RetryInfo").put("retryDelay", retryDelay);
        String seconds = retryDelay.substring(0, retryDelay.length() - 1);
        return error(429, "You exceeded your current quota, please check your plan and billing details. For more"
                + " information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits. To monitor"
                + " your current usage, head to: https://ai.dev/rate-limit. \n* Quota exceeded for metric:"
                + " generativelanguage.googleapis.com/" + metric + ", limit: " + limit + ", model: " + model
                + "\nPlease retry in " + seconds + "s.", "RESOURCE_EXHAUSTED", details);
    }

    // ---- bodies -----------------------------------------------------------------------------------

    private static boolean isStream(RecordedRequest request) {
        return request.path().endsWith(":streamGenerateContent");
    }

    private static void send(Exchange exchange, RecordedRequest request, List<ObjectNode> chunks, Gate gate,
            Reply.Ending ending)
            throws java.io.IOException {
        String model = model(request);
        String id = responseId();
        List<String> events = new ArrayList<>();
        boolean sse = "sse".equals(request.queryParam("alt"));
        for (int i = 0; i < chunks.size(); i++) {
            ObjectNode chunk = chunks.get(i);
            chunk.put("modelVersion", model);
            chunk.put("responseId", id);
            if (sse) {
                events.add("data: " + JsonText.googleCompact(chunk) + "\r\n\r\n");
            } else {
                // Without alt=sse Google streams one JSON array, element by element.
                events.add((i == 0 ? "[" : ",\r\n") + JsonText.pretty(chunk, 2).strip());
            }
        }
        if (!sse && ending == Reply.Ending.CLOSE) {
            events.add("]");
        }
        Reply.stream(200, sse ? "text/event-stream" : JSON, events, gate, ending)
                .send(exchange);
    }

    private static List<ObjectNode> chunks(List<String> deltas, int promptTokens, int candidateTokens, int thoughtTokens,
            String finishReason) {
        List<ObjectNode> chunks = new ArrayList<>();
        for (int i = 0; i < deltas.size(); i++) {
            boolean last = i == deltas.size() - 1;
            ObjectNode chunk = response(deltas.get(i), last ? finishReason : null);
            // Cumulative: each event counts everything so far; the last one is the total.
            int soFar = last ? candidateTokens : Math.max(1, candidateTokens * (i + 1) / deltas.size());
            chunk.set("usageMetadata", usage(promptTokens, soFar, thoughtTokens));
            chunks.add(chunk);
        }
        return chunks;
    }

    private static ObjectNode response(String text, String finishReason) {
        ObjectNode root = JsonText.object();
        ObjectNode candidate = root.putArray("candidates").addObject();
        ObjectNode content = candidate.putObject("content");
        content.putArray("parts").addObject().put("text", text);
        content.put("role", "model");
        if (finishReason != null) {
            candidate.put("finishReason", finishReason);
        }
        candidate.put("index", 0);
        return root;
    }

    private static ObjectNode usage(int promptTokens, int candidateTokens, int thoughtTokens) {
        ObjectNode usage = JsonText.object();
        usage.put("promptTokenCount", promptTokens);
        if (candidateTokens > 0) {
            usage.put("candidatesTokenCount", candidateTokens);
        }
        usage.put("totalTokenCount", promptTokens + candidateTokens + thoughtTokens);
        usage.putArray("promptTokensDetails").addObject().put("modality", "TEXT").put("tokenCount", promptTokens);
        if (thoughtTokens > 0) {
            usage.put("thoughtsTokenCount", thoughtTokens);
        }
        return usage;
    }

    private static String model(RecordedRequest request) {
        Matcher method = METHOD.matcher(request.path());
        return method.matches() ? method.group(1) : "gemini-2.5-flash";
    }

    private static String responseId() {
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        StringBuilder id = new StringBuilder();
        for (int i = 0; i < 23; i++) {
            id.append(alphabet.charAt(ThreadLocalRandom.current().nextInt(alphabet.length())));
        }
        return id.toString();
    }
}
