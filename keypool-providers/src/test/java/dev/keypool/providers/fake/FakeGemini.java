package dev.keypool.providers.fake;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import dev.keypool.config.Provider;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Gemini's native API as {@code generativelanguage.googleapis.com} answers it, under both
 * {@code /v1beta/} and {@code /v1/}: {@code POST models/{model}:generateContent} and
 * {@code :streamGenerateContent} (see {@link GeminiAnswer}: function calls, several candidates, the full
 * {@code usageMetadata}, SSE with {@code alt=sse} or a streamed JSON array without), {@code :embedContent},
 * {@code :batchEmbedContents}, {@code :countTokens}, {@code GET models} and {@code GET models/{model}},
 * {@code POST}/{@code GET cachedContents}, {@code GET}/{@code DELETE cachedContents/{id}}; the key in
 * {@code x-goog-api-key} or {@code ?key=}; errors as {@code google.rpc.Status} with the details Google
 * sends ({@code QuotaFailure}, {@code RetryInfo}, {@code ErrorInfo}); Google's headers on every answer.
 *
 * <p>A cached content belongs to the key that created it (its Google Cloud project, in truth): with
 * any other key, and once expired, a {@code generateContent} naming it and a {@code GET} of it get
 * Google's {@code 403 PERMISSION_DENIED "CachedContent not found (or permission denied)"} (never a
 * 404, as recorded traffic shows). Creation below 1024 tokens (the fake's {@link Tokens} estimate of
 * its contents) is refused as Google refuses it; the default lifetime is an hour. Reads of caches and
 * of the model list are answered by the fake itself, never by a script.
 *
 * <p>Function calling is checked as Google documents it: the function responses of a turn must match its
 * calls in number; on Gemini 3 models ({@code gemini-3-flash-preview} in the catalog) the first function
 * call of each model turn since the user last wrote must carry its {@code thoughtSignature}, or the
 * request is refused with Google's {@code 400 "Function call is missing a thought_signature"}. An
 * {@code inlineData.data} that is not base64 is refused as a bad {@code TYPE_BYTES} value.
 *
 * <p>Messages are Google's where recorded traffic shows them (roles, function-response counts, caches);
 * where none was found they follow the {@code * Request.field: … is not specified} family: a missing
 * {@code content} on embeddings, a missing {@code model} on a cache, an unknown model on
 * {@code GET models/{model}} (worded like generateContent's). Embeddings are deterministic unit vectors of
 * {@code outputDimensionality} or the model's size (3072 for {@code gemini-embedding-001}, 768 otherwise).
 */
public final class FakeGemini extends FakeUpstream {

    static final String JSON = GeminiAnswer.JSON;
    private static final Pattern METHOD = Pattern.compile(
            "^/(v1beta|v1)/models/([^/:]+):(generateContent|streamGenerateContent|embedContent|batchEmbedContents|countTokens)$");
    private static final Pattern MODEL = Pattern.compile("^/(v1beta|v1)/models/([^/:]+)$");
    private static final Pattern MODELS = Pattern.compile("^/(v1beta|v1)/models$");
    private static final Pattern CACHES = Pattern.compile("^/(v1beta|v1)/cachedContents$");
    private static final Pattern CACHE = Pattern.compile("^/(v1beta|v1)/cachedContents/([^/]+)$");
    private static final int MIN_CACHE_TOKENS = 1024;
    private static final String CACHE_GONE = "CachedContent not found (or permission denied)";

    /** A cached content: its resource as Google answers it, its size, and when it expires. */
    record CachedContent(ObjectNode resource, int tokens, Instant expires) {
    }

    private final Ledger<CachedContent> caches = new Ledger<>();

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

    /** The key whose project holds {@code cachedContents/…} {@code name}, or {@code null}. */
    public String ownerOfCache(String name) {
        return caches.owner(name);
    }

    @Override
    protected String keyOf(HttpExchange exchange, RecordedRequest request) {
        String header = request.header("x-goog-api-key");
        return header != null ? header : request.queryParam("key");
    }

    @Override
    protected String[] defaultHeaders(RecordedRequest request) {
        return new String[] {
            "vary", "Origin", "vary", "X-Origin", "vary", "Referer",
            "server", "scaffolding on HTTPServer2",
            "x-xss-protection", "0",
            "x-frame-options", "SAMEORIGIN",
            "x-content-type-options", "nosniff",
            "server-timing", "gfet4t7; dur=512",
        };
    }

    @Override
    protected Reply check(RecordedRequest request) {
        Matcher method = METHOD.matcher(request.path());
        boolean post = request.method().equals("POST");
        boolean get = request.method().equals("GET");
        boolean known = post && method.matches()
                || get && (MODELS.matcher(request.path()).matches() || MODEL.matcher(request.path()).matches())
                || (post || get) && CACHES.matcher(request.path()).matches()
                || (get || request.method().equals("DELETE")) && CACHE.matcher(request.path()).matches();
        if (!known) {
            return error(404, "Method not found.", "NOT_FOUND", null);
        }
        if (request.key() == null) {
            return error(403, "Method doesn't allow unregistered callers (callers without established identity)."
                    + " Please use API Key or other form of API consumer identity to call this API.", "PERMISSION_DENIED", null);
        }
        if (post && !request.json().isObject()) {
            return invalidArgument("Invalid JSON payload received. Unexpected token.");
        }
        if (get && MODELS.matcher(request.path()).matches()) {
            return modelList();
        }
        Matcher model = MODEL.matcher(request.path());
        if (model.matches()) {
            return modelInfo(model.group(1), model.group(2));
        }
        if (CACHES.matcher(request.path()).matches()) {
            return post ? cacheRefusal(request) : cacheList(request);
        }
        Matcher cache = CACHE.matcher(request.path());
        if (cache.matches()) {
            return cacheRead(request, "cachedContents/" + cache.group(2));
        }
        JsonNode body = request.json();
        return switch (method.group(3)) {
            case "embedContent" -> body.path("content").isObject() ? null
                    : invalidArgument("* EmbedContentRequest.content: content is not specified\n");
            case "batchEmbedContents" -> body.path("requests").isArray() ? null
                    : invalidArgument("* BatchEmbedContentsRequest.requests: requests is not specified\n");
            case "countTokens" -> body.path("contents").isArray() || body.path("generateContentRequest").isObject()
                    ? null : invalidArgument("* CountTokensRequest.contents: contents is not specified\n");
            default -> generateRefusal(request, body);
        };
    }

    @Override
    protected Reply success() {
        return exchange -> {
            Matcher method = METHOD.matcher(exchange.request().path());
            Reply reply;
            if (!method.matches()) {
                reply = cacheCreated();
            } else {
                reply = switch (method.group(3)) {
                    case "embedContent", "batchEmbedContents" -> embeddings();
                    case "countTokens" -> tokenCount(-1);
                    default -> generated("This is a test!", 8, 5);
                };
            }
            reply.send(exchange);
        };
    }

    @Override
    protected void forget() {
        caches.clear();
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
        return GeminiAnswer.text(deltas, promptTokens, candidateTokens, thoughtTokens);
    }

    /** An answer of {@code text} (8 prompt tokens, a candidate token a word) to shape further. */
    public static GeminiAnswer answer(String text) {
        List<String> words = FakeOpenAi.words(text);
        return GeminiAnswer.text(words, 8, words.size(), 0);
    }

    /** An answer that only calls functions ({@code finishReason: "STOP"}, 8 + 12 tokens). */
    public static GeminiAnswer functionCalls(GeminiFunctionCall... calls) {
        return GeminiAnswer.text(List.of(), 8, 12, 0).withFunctionCalls(calls);
    }

    /** A stream that sends these deltas and then loses its connection. */
    public static Reply streamThenDrop(String... deltas) {
        return streamThenDrop(null, deltas);
    }

    /** Like {@link #streamThenDrop(String...)}, dropping only once {@code gate} opens. */
    public static Reply streamThenDrop(Gate gate, String... deltas) {
        return GeminiAnswer.text(List.of(deltas), 5, deltas.length, 0).thenEnd(Reply.Ending.DROP, gate);
    }

    /** A stream that sends these deltas and then goes silent, connection open. */
    public static Reply streamThenStall(String... deltas) {
        return GeminiAnswer.text(List.of(deltas), 5, deltas.length, 0).thenEnd(Reply.Ending.STALL, null);
    }

    /** 200 with no candidates: the prompt itself was blocked. */
    public static Reply blockedPrompt() {
        return exchange -> {
            ObjectNode root = JsonText.object();
            ObjectNode feedback = root.putObject("promptFeedback");
            feedback.put("blockReason", "SAFETY");
            feedback.putArray("safetyRatings").addObject()
                    .put("category", "HARM_CATEGORY_DANGEROUS_CONTENT").put("probability", "HIGH");
            ObjectNode usage = root.putObject("usageMetadata");
            usage.put("promptTokenCount", 9).put("totalTokenCount", 9);
            usage.putArray("promptTokensDetails").addObject().put("modality", "TEXT").put("tokenCount", 9);
            root.put("modelVersion", model(exchange.request()));
            root.put("responseId", responseId());
            Reply.body(200, JSON, JsonText.pretty(root, 2)).send(exchange);
        };
    }

    /** Embeddings: {@code {"embedding": {"values": […]}}}, or {@code {"embeddings": […]}} for a batch. */
    public static Reply embeddings() {
        return exchange -> {
            JsonNode body = exchange.request().json();
            String model = model(exchange.request());
            ObjectNode root = JsonText.object();
            if (exchange.request().path().endsWith(":batchEmbedContents")) {
                ArrayNode list = root.putArray("embeddings");
                body.path("requests").forEach(request -> list.add(embedding(request, model)));
            } else {
                root.set("embedding", embedding(body, model));
            }
            Reply.body(200, JSON, JsonText.pretty(root, 2)).send(exchange);
        };
    }

    /** {@code countTokens}: {@code totalTokens} (the fake's estimate of the contents when negative). */
    public static Reply tokenCount(int totalTokens) {
        return exchange -> {
            RecordedRequest request = exchange.request();
            JsonNode body = request.json();
            JsonNode contents = body.has("generateContentRequest") ? body.path("generateContentRequest").path("contents")
                    : body.path("contents");
            String cache = body.path("generateContentRequest").path("cachedContent").asText("");
            int cached = exchange.upstream() instanceof FakeGemini gemini ? gemini.cachedTokens(request.key(), cache) : 0;
            int total = (totalTokens >= 0 ? totalTokens : Tokens.estimate(text(contents))) + cached;
            ObjectNode root = JsonText.object();
            root.put("totalTokens", total);
            if (cached > 0) {
                root.put("cachedContentTokenCount", cached);
            }
            root.putArray("promptTokensDetails").addObject().put("modality", "TEXT").put("tokenCount", total);
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
        return exchange -> error(404, "models/" + model(exchange.request()) + " is not found for API version "
                + version(exchange.request()) + ", or is not supported for generateContent. Call ListModels to see the"
                + " list of available models and their supported methods.", "NOT_FOUND", null).send(exchange);
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

    // ---- request checks ---------------------------------------------------------------------------

    private Reply generateRefusal(RecordedRequest request, JsonNode body) {
        JsonNode contents = body.path("contents");
        if (!contents.isArray()) {
            return invalidArgument("* GenerateContentRequest.contents: contents is not specified\n");
        }
        int calls = 0;
        for (JsonNode content : contents) {
            String role = content.path("role").asText("user");
            if (!role.equals("user") && !role.equals("model")) {
                return invalidArgument("Please use a valid role: user, model.");
            }
            int responses = 0;
            for (JsonNode part : content.path("parts")) {
                responses += part.has("functionResponse") ? 1 : 0;
            }
            if (responses > 0 && responses != calls) {
                return invalidArgument("Please ensure that the number of function response parts is equal to the number"
                        + " of function call parts of the function call turn.");
            }
            calls = 0;
            if (role.equals("model")) {
                for (JsonNode part : content.path("parts")) {
                    calls += part.has("functionCall") ? 1 : 0;
                }
            }
        }
        for (int c = 0; c < contents.size(); c++) {
            JsonNode parts = contents.get(c).path("parts");
            for (int p = 0; p < parts.size(); p++) {
                JsonNode data = parts.get(p).path("inlineData").path("data");
                if (!data.isMissingNode() && !base64(data.asText(""))) {
                    String value = data.asText("");
                    return invalidArgument("Invalid value at 'contents[" + c + "].parts[" + p + "].inline_data.data'"
                            + " (TYPE_BYTES), Base64 decoding failed for \"" + (value.length() > 40
                            ? value.substring(0, 40) + "..." : value) + "\"");
                }
            }
        }
        if (model(request).startsWith("gemini-3")) {
            Reply unsigned = unsignedCall(contents);
            if (unsigned != null) {
                return unsigned;
            }
        }
        String cache = body.path("cachedContent").asText("");
        if (!cache.isEmpty()) {
            if (live(request.key(), cache) == null) {
                return error(403, CACHE_GONE, "PERMISSION_DENIED", null);
            }
            if (body.has("systemInstruction") || body.has("tools") || body.has("toolConfig")) {
                return invalidArgument("CachedContent can not be used with GenerateContent request setting"
                        + " system_instruction, tools or tool_config.\n\nProposed fix: move those values to CachedContent"
                        + " from GenerateContent request.");
            }
        }
        return null;
    }

    /**
     * Gemini 3's check of the current turn (the contents since the user's last text): the first
     * function call of each model content in it must carry a thought signature.
     */
    private static Reply unsignedCall(JsonNode contents) {
        int turn = 0;
        for (int c = 0; c < contents.size(); c++) {
            JsonNode content = contents.get(c);
            if (content.path("role").asText("user").equals("user")) {
                for (JsonNode part : content.path("parts")) {
                    if (part.has("text")) {
                        turn = c;
                    }
                }
            }
        }
        for (int c = turn; c < contents.size(); c++) {
            JsonNode parts = contents.get(c).path("parts");
            for (int p = 0; p < parts.size(); p++) {
                JsonNode part = parts.get(p);
                if (part.has("functionCall")) {
                    if (!part.has("thoughtSignature")) {
                        return invalidArgument("Function call is missing a thought_signature in functionCall parts."
                                + " This is required for tools to work correctly, and missing thought_signature may lead"
                                + " to degraded model performance. Additional data, function call `default_api:"
                                + part.path("functionCall").path("name").asText() + "` , position " + (p + 1)
                                + ". Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more"
                                + " details.");
                    }
                    break;
                }
            }
        }
        return null;
    }

    private static boolean base64(String text) {
        try {
            Base64.getDecoder().decode(text);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    // ---- cached contents --------------------------------------------------------------------------

    /** The tokens of the cache {@code name} as {@code key} can use it (0 when there is none). */
    int cachedTokens(String key, String name) {
        CachedContent cache = name.isEmpty() ? null : live(key, name);
        return cache == null ? 0 : cache.tokens();
    }

    private CachedContent live(String key, String name) {
        CachedContent cache = caches.get(name, key);
        return cache == null || !clock().instant().isBefore(cache.expires()) ? null : cache;
    }

    private Reply cacheRefusal(RecordedRequest request) {
        JsonNode body = request.json();
        if (body.path("model").asText("").isEmpty()) {
            return invalidArgument("* CreateCachedContentRequest.cached_content.model: model is not specified\n");
        }
        int tokens = Tokens.estimate(text(body.path("contents")) + text(body.path("systemInstruction")));
        if (tokens < MIN_CACHE_TOKENS) {
            return invalidArgument("Cached content is too small. total_token_count=" + tokens + ", min_total_token_count="
                    + MIN_CACHE_TOKENS);
        }
        return null;
    }

    /** The cache the request describes, stored for its key. */
    private static Reply cacheCreated() {
        return exchange -> {
            RecordedRequest request = exchange.request();
            JsonNode body = request.json();
            Instant now = exchange.now();
            Instant expires = body.has("expireTime") ? Instant.parse(body.path("expireTime").asText())
                    : now.plus(ttl(body.path("ttl").asText("3600s")));
            String model = body.path("model").asText();
            ObjectNode resource = JsonText.object();
            String name = "cachedContents/" + Ids.lower(40);
            resource.put("name", name);
            resource.put("model", model.startsWith("models/") ? model : "models/" + model);
            resource.put("createTime", now.toString());
            resource.put("updateTime", now.toString());
            resource.put("expireTime", expires.toString());
            resource.put("displayName", body.path("displayName").asText(""));
            int tokens = Tokens.estimate(text(body.path("contents")) + text(body.path("systemInstruction")));
            resource.putObject("usageMetadata").put("totalTokenCount", tokens);
            if (exchange.upstream() instanceof FakeGemini gemini) {
                gemini.caches.put(name, request.key(), new CachedContent(resource.deepCopy(), tokens, expires));
            }
            Reply.body(200, JSON, JsonText.pretty(resource, 2)).send(exchange);
        };
    }

    private Reply cacheRead(RecordedRequest request, String name) {
        CachedContent cache = live(request.key(), name);
        if (cache == null) {
            return error(403, CACHE_GONE, "PERMISSION_DENIED", null);
        }
        if (request.method().equals("DELETE")) {
            caches.remove(name, request.key());
            return Reply.body(200, JSON, "{}\n");
        }
        return Reply.body(200, JSON, JsonText.pretty(cache.resource(), 2));
    }

    private Reply cacheList(RecordedRequest request) {
        ObjectNode root = JsonText.object();
        List<CachedContent> live = new ArrayList<>();
        for (CachedContent cache : caches.owned(request.key())) {
            if (clock().instant().isBefore(cache.expires())) {
                live.add(cache);
            }
        }
        if (!live.isEmpty()) {
            ArrayNode list = root.putArray("cachedContents");
            live.forEach(cache -> list.add(cache.resource().deepCopy()));
        }
        return Reply.body(200, JSON, JsonText.pretty(root, 2));
    }

    private static Duration ttl(String ttl) {
        return Duration.ofMillis(Math.round(Double.parseDouble(ttl.replace("s", "")) * 1000));
    }

    // ---- models -----------------------------------------------------------------------------------

    private static final List<String[]> CATALOG = List.of(
            new String[] {"gemini-2.5-flash", "001", "Gemini 2.5 Flash", "1048576", "65536", "true"},
            new String[] {"gemini-2.5-pro", "2.5", "Gemini 2.5 Pro", "1048576", "65536", "true"},
            new String[] {"gemini-2.0-flash", "2.0", "Gemini 2.0 Flash", "1048576", "8192", "false"},
            new String[] {"gemini-3-flash-preview", "3.0", "Gemini 3 Flash Preview", "1048576", "65536", "true"},
            new String[] {"gemini-embedding-001", "001", "Gemini Embedding 001", "2048", "1", "false"});

    private static Reply modelList() {
        ObjectNode root = JsonText.object();
        ArrayNode models = root.putArray("models");
        CATALOG.forEach(entry -> models.add(model(entry)));
        return Reply.body(200, JSON, JsonText.pretty(root, 2));
    }

    private static Reply modelInfo(String version, String id) {
        for (String[] entry : CATALOG) {
            if (entry[0].equals(id)) {
                return Reply.body(200, JSON, JsonText.pretty(model(entry), 2));
            }
        }
        return error(404, "models/" + id + " is not found for API version " + version + ", or is not supported for"
                + " GetModel. Call ListModels to see the list of available models and their supported methods.",
                "NOT_FOUND", null);
    }

    private static ObjectNode model(String[] entry) {
        boolean embedding = entry[0].contains("embedding");
        ObjectNode model = JsonText.object();
        model.put("name", "models/" + entry[0]);
        model.put("version", entry[1]);
        model.put("displayName", entry[2]);
        model.put("description", "Stable version of " + entry[2] + ".");
        model.put("inputTokenLimit", Integer.parseInt(entry[3]));
        model.put("outputTokenLimit", Integer.parseInt(entry[4]));
        ArrayNode methods = model.putArray("supportedGenerationMethods");
        if (embedding) {
            methods.add("embedContent").add("countTextTokens").add("countTokens");
        } else {
            methods.add("generateContent").add("countTokens").add("createCachedContent").add("batchGenerateContent");
            model.put("temperature", 1);
            model.put("topP", 0.95);
            model.put("topK", 64);
            model.put("maxTemperature", 2);
        }
        if (Boolean.parseBoolean(entry[5])) {
            model.put("thinking", true);
        }
        return model;
    }

    // ---- bodies -----------------------------------------------------------------------------------

    /** Writes these chunks as Google streams them: SSE with {@code alt=sse}, else one JSON array. */
    static void send(Exchange exchange, List<ObjectNode> chunks, Gate gate, Reply.Ending ending) throws IOException {
        RecordedRequest request = exchange.request();
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
        Reply.stream(200, sse ? "text/event-stream" : JSON, events, gate, ending).send(exchange);
    }

    private static ObjectNode embedding(JsonNode request, String model) {
        int dimensions = request.path("outputDimensionality").asInt(model.equals("gemini-embedding-001") ? 3072 : 768);
        ObjectNode embedding = JsonText.object();
        ArrayNode list = embedding.putArray("values");
        for (double value : Vectors.unit(text(request.path("content")), dimensions)) {
            list.add((float) value);
        }
        return embedding;
    }

    /** All the text of a content, of a list of contents, or of a system instruction. */
    private static String text(JsonNode contents) {
        StringBuilder text = new StringBuilder();
        List<JsonNode> all = new ArrayList<>();
        if (contents.isArray()) {
            contents.forEach(all::add);
        } else if (contents.isObject()) {
            all.add(contents);
        }
        for (JsonNode content : all) {
            for (JsonNode part : content.path("parts")) {
                text.append(part.path("text").asText(""));
            }
        }
        return text.toString();
    }

    static String model(RecordedRequest request) {
        Matcher method = METHOD.matcher(request.path());
        return method.matches() ? method.group(2) : "gemini-2.5-flash";
    }

    private static String version(RecordedRequest request) {
        Matcher method = METHOD.matcher(request.path());
        return method.matches() ? method.group(1) : "v1beta";
    }

    static String responseId() {
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        StringBuilder id = new StringBuilder();
        for (int i = 0; i < 23; i++) {
            id.append(alphabet.charAt(ThreadLocalRandom.current().nextInt(alphabet.length())));
        }
        return id.toString();
    }
}
