package dev.keypool.providers.fake;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import dev.keypool.config.Provider;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * OpenAI as {@code api.openai.com} answers it, on every endpoint the gateway carries, with a bearer
 * key: {@code POST /v1/chat/completions} (plain and SSE, tool calls and their stream deltas, {@code n},
 * {@code logprobs}, refusals, citations; see {@link OpenAiAnswer}), the legacy {@code POST /v1/completions},
 * {@code POST /v1/embeddings} (floats or {@code encoding_format: "base64"}), {@code POST /v1/responses}
 * (plain and its typed event stream) with {@code GET}/{@code DELETE /v1/responses/{id}} and
 * {@code GET /v1/responses/{id}/input_items}, {@code POST /v1/files} (multipart upload) with
 * {@code GET}/{@code DELETE /v1/files/{id}}, {@code GET /v1/files/{id}/content} and {@code GET /v1/files},
 * {@code POST /v1/moderations}, {@code GET /v1/models} and {@code GET /v1/models/{id}}.
 *
 * <p>Every answer carries OpenAI's headers ({@code x-request-id}, {@code openai-processing-ms},
 * {@code openai-organization}, {@code openai-project}, {@code openai-version} and the six
 * {@code x-ratelimit-*}) unless the reply set its own. Errors are OpenAI's
 * {@code {"error": {message, type, param, code}}}, pretty-printed with four spaces as the live API
 * does; successes with two.
 *
 * <p>Stored objects belong to the account of the key that created them, as OpenAI's do: a stored
 * response or a file is invisible to every other key (a pool's keys may be different accounts). A
 * response created with {@code "store": false} is never retrievable. {@code previous_response_id}
 * naming a response the key cannot see gets OpenAI's {@code 400 previous_response_not_found}; a
 * {@code GET}/{@code DELETE} of it the {@code 404 "Response with id '…' not found."}; a file the
 * {@code 404 "No such File object: …"}. Reads of stored objects and of the model list are answered by
 * the fake itself, never by a script, so a scripted reply always answers the next generation request.
 *
 * <p>Bodies and messages follow OpenAI's API reference and recorded traffic: the 429
 * {@code rate_limit_exceeded} TPM/RPM and "Request too large" messages, {@code insufficient_quota},
 * {@code invalid_api_key} (which, like the real API, echoes the key with its middle starred out), the
 * 500, 503 and a proxy's HTML 502; the request refusals are in {@link OpenAiValidation}. Choices where
 * the reference is silent: a missing {@code input} on embeddings and a missing {@code file} or
 * {@code purpose} on an upload are answered in the {@code Missing required parameter} form; a model
 * listed nowhere is refused only by {@code GET /v1/models/{id}} (generation takes any model name, so
 * tests need not configure one); embeddings are deterministic unit vectors of the model's real size
 * (1536, 3072 for {@code text-embedding-3-large}, or {@code dimensions}), their {@code prompt_tokens}
 * the {@link Tokens} estimate unless scripted.
 */
public final class FakeOpenAi extends FakeUpstream {

    private static final String ORGANIZATION = "org-uOtiSEwvUnroadaOnJJquBEC";
    private static final String RATE_LIMITS_URL = "https://platform.openai.com/account/rate-limits";
    private static final Pattern RESPONSE = Pattern.compile("^/v1/responses/([^/]+)(/input_items)?$");
    private static final Pattern FILE = Pattern.compile("^/v1/files/([^/]+)(/content)?$");
    private static final Pattern MODEL = Pattern.compile("^/v1/models/(.+)$");
    private static final List<String> JSON_POSTS = List.of("/v1/chat/completions", "/v1/completions",
            "/v1/embeddings", "/v1/responses", "/v1/moderations");

    /** A stored response and the input items it was created from. */
    record StoredResponse(ObjectNode response, ArrayNode inputItems) {
    }

    /** An uploaded file and its bytes. */
    record StoredFile(ObjectNode file, byte[] content) {
    }

    private final Ledger<StoredResponse> responses = new Ledger<>();
    private final Ledger<StoredFile> files = new Ledger<>();
    private final List<String> models = new CopyOnWriteArrayList<>(List.of("gpt-4o-mini", "gpt-4o", "gpt-4.1",
            "o4-mini", "gpt-3.5-turbo-instruct", "text-embedding-3-small", "text-embedding-3-large",
            "omni-moderation-latest"));

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

    /** The models {@code GET /v1/models} lists, for every key (default: a current set of OpenAI's). */
    public void setModels(String... ids) {
        models.clear();
        models.addAll(List.of(ids));
    }

    /** The stored response {@code id} as {@code key} can see it, or {@code null}. */
    public ObjectNode storedResponse(String key, String id) {
        StoredResponse stored = responses.get(id, key);
        return stored == null ? null : stored.response().deepCopy();
    }

    /** The key whose account holds the stored response {@code id}, or {@code null}: where the gateway sent its creation. */
    public String ownerOfResponse(String id) {
        return responses.owner(id);
    }

    /** The key whose account holds the file {@code id}, or {@code null}. */
    public String ownerOfFile(String id) {
        return files.owner(id);
    }

    @Override
    protected String keyOf(HttpExchange exchange, RecordedRequest request) {
        String authorization = request.header("authorization");
        return authorization != null && authorization.startsWith("Bearer ") ? authorization.substring(7) : null;
    }

    @Override
    protected String[] defaultHeaders(RecordedRequest request) {
        List<String> headers = new ArrayList<>(List.of("openai-organization", "user-keypool-test",
                "openai-processing-ms", "212", "openai-project", "proj_keypoolTestProject0001", "openai-version",
                "2020-10-01", "x-request-id", requestId()));
        headers.addAll(List.of(rateLimitHeaders(10000, 9999, "6ms", 30000000, 29999980, "0s")));
        return headers.toArray(String[]::new);
    }

    @Override
    protected Reply check(RecordedRequest request) {
        if (!known(request)) {
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
        if (request.method().equals("POST") && JSON_POSTS.contains(request.path()) && !request.json().isObject()) {
            return error(400, "We could not parse the JSON body of your request. (HINT: This likely means you aren't"
                    + " using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was"
                    + " not valid JSON. If you have trouble figuring out how to fix this, please contact us through our"
                    + " help center at help.openai.com.)", "invalid_request_error", null, null);
        }
        JsonNode body = request.json();
        String route = request.method() + " " + request.path();
        return switch (route) {
            case "POST /v1/chat/completions" -> OpenAiValidation.chat(body);
            case "POST /v1/completions" -> OpenAiValidation.model(body);
            case "POST /v1/embeddings" -> embeddingsRefusal(body);
            case "POST /v1/responses" -> responsesRefusal(request, body);
            case "POST /v1/moderations" -> OpenAiValidation.required(body, "input");
            case "POST /v1/files" -> uploadRefusal(request);
            case "GET /v1/models" -> modelList();
            case "GET /v1/files" -> fileList(request);
            default -> read(request);
        };
    }

    @Override
    protected Reply success() {
        return exchange -> {
            Reply reply = switch (exchange.request().path()) {
                case "/v1/embeddings" -> embeddings();
                case "/v1/moderations" -> moderation();
                case "/v1/files" -> uploaded();
                default -> completion("This is a test!", 13, 5);
            };
            reply.send(exchange);
        };
    }

    @Override
    protected void forget() {
        responses.clear();
        files.clear();
    }

    // ---- successes --------------------------------------------------------------------------------

    /** A completion; streamed in word-sized deltas when the request asked for a stream. */
    public static Reply completion(String text, int promptTokens, int completionTokens) {
        return completion(text, promptTokens, completionTokens, "stop");
    }

    /** A completion with a given {@code finish_reason} ({@code length} for a truncated one). */
    public static Reply completion(String text, int promptTokens, int completionTokens, String finishReason) {
        return OpenAiAnswer.text(words(text), OpenAiUsage.of(promptTokens, completionTokens))
                .withFinishReason(finishReason);
    }

    /** A completion streamed in exactly these deltas (or, to a non-streaming request, joined). */
    public static Reply streamed(List<String> deltas, int promptTokens, int completionTokens) {
        return OpenAiAnswer.text(deltas, OpenAiUsage.of(promptTokens, completionTokens));
    }

    /**
     * An answer of {@code text} (13 prompt tokens, a completion token a word) to shape further: usage
     * details, citations, service tier, several choices. It answers chat, legacy completions and the
     * Responses API each in its own shape.
     */
    public static OpenAiAnswer answer(String text) {
        List<String> words = words(text);
        return OpenAiAnswer.text(words, OpenAiUsage.of(13, words.size()));
    }

    /** An answer that only calls tools: {@code content: null}, {@code finish_reason: "tool_calls"} (13 + 17 tokens). */
    public static OpenAiAnswer toolCalls(OpenAiToolCall... calls) {
        return OpenAiAnswer.calls(List.of(calls), OpenAiUsage.of(13, 17));
    }

    /** A refusal: {@code content: null} and the message's {@code refusal}. */
    public static OpenAiAnswer refusal(String refusal) {
        return OpenAiAnswer.refused(refusal, OpenAiUsage.of(13, words(refusal).size()));
    }

    /** A stream that sends these deltas and then loses its connection: no finish, no usage, no {@code [DONE]}. */
    public static Reply streamThenDrop(String... deltas) {
        return streamThenDrop(null, deltas);
    }

    /** Like {@link #streamThenDrop(String...)}, dropping only once {@code gate} opens. */
    public static Reply streamThenDrop(Gate gate, String... deltas) {
        return OpenAiAnswer.text(List.of(deltas), OpenAiUsage.of(0, 0)).thenDrop(gate);
    }

    /** A stream that sends these deltas and then goes silent, connection open. */
    public static Reply streamThenStall(String... deltas) {
        return OpenAiAnswer.text(List.of(deltas), OpenAiUsage.of(0, 0)).thenStall();
    }

    /** A stream that sends these deltas and then an error event ({@code data: {"error": …}}). */
    public static Reply streamThenError(List<String> deltas, String message) {
        return OpenAiAnswer.text(deltas, OpenAiUsage.of(0, 0)).thenError(message);
    }

    /** Embeddings of every input, {@code prompt_tokens} the fake's estimate. */
    public static Reply embeddings() {
        return embeddings(-1);
    }

    /** Embeddings of every input, reporting {@code promptTokens}. */
    public static Reply embeddings(int promptTokens) {
        return exchange -> {
            JsonNode body = exchange.request().json();
            List<String> inputs = inputs(body.path("input"));
            String model = body.path("model").asText("text-embedding-3-small");
            int dimensions = body.path("dimensions").asInt(model.equals("text-embedding-3-large") ? 3072 : 1536);
            boolean base64 = body.path("encoding_format").asText("float").equals("base64");
            ObjectNode root = JsonText.object();
            root.put("object", "list");
            ArrayNode data = root.putArray("data");
            int tokens = 0;
            for (int i = 0; i < inputs.size(); i++) {
                ObjectNode item = data.addObject();
                item.put("object", "embedding");
                double[] vector = Vectors.unit(inputs.get(i), dimensions);
                if (base64) {
                    ByteBuffer buffer = ByteBuffer.allocate(vector.length * 4).order(ByteOrder.LITTLE_ENDIAN);
                    for (double value : vector) {
                        buffer.putFloat((float) value);
                    }
                    item.put("embedding", Base64.getEncoder().encodeToString(buffer.array()));
                } else {
                    ArrayNode values = item.putArray("embedding");
                    for (double value : vector) {
                        values.add((float) value);
                    }
                }
                item.put("index", i);
                tokens += Tokens.estimate(inputs.get(i));
            }
            root.put("model", model);
            int reported = promptTokens >= 0 ? promptTokens : tokens;
            root.putObject("usage").put("prompt_tokens", reported).put("total_tokens", reported);
            Reply.json(200, JsonText.pretty(root, 2)).send(exchange);
        };
    }

    /** A moderation of every input, flagged in these categories (none: not flagged). */
    public static Reply moderation(String... flaggedCategories) {
        return exchange -> {
            JsonNode body = exchange.request().json();
            JsonNode input = body.path("input");
            int results = input.isArray() && input.size() > 0 && input.get(0).isTextual() ? input.size() : 1;
            List<String> flagged = List.of(flaggedCategories);
            ObjectNode root = JsonText.object();
            root.put("id", "modr-" + Ids.hex(32));
            root.put("model", body.path("model").asText("omni-moderation-latest"));
            ArrayNode list = root.putArray("results");
            for (int i = 0; i < results; i++) {
                ObjectNode result = list.addObject();
                result.put("flagged", !flagged.isEmpty());
                ObjectNode categories = result.putObject("categories");
                ObjectNode scores = result.putObject("category_scores");
                ObjectNode applied = result.putObject("category_applied_input_types");
                for (String category : List.of("harassment", "harassment/threatening", "sexual", "hate",
                        "hate/threatening", "illicit", "illicit/violent", "self-harm/intent", "self-harm/instructions",
                        "self-harm", "sexual/minors", "violence", "violence/graphic")) {
                    categories.put(category, flagged.contains(category));
                    scores.put(category, flagged.contains(category) ? 0.9971134662628174 : 0.000011726012417057063);
                    applied.putArray(category).add("text");
                }
            }
            Reply.json(200, JsonText.pretty(root, 2)).send(exchange);
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
        return Reply.body(status, "application/json; charset=utf-8", JsonText.pretty(root, 4));
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

    // ---- stored objects ---------------------------------------------------------------------------

    /** Keeps a response the Responses API produced for {@code key}, unless the request said {@code store: false}. */
    void store(String key, ObjectNode response, JsonNode request) {
        if (!request.path("store").asBoolean(true)) {
            return;
        }
        responses.put(response.get("id").asText(), key, new StoredResponse(response.deepCopy(), inputItems(request)));
    }

    private Reply responsesRefusal(RecordedRequest request, JsonNode body) {
        Reply model = OpenAiValidation.model(body);
        if (model != null) {
            return model;
        }
        String previous = body.path("previous_response_id").asText("");
        if (!previous.isEmpty() && responses.get(previous, request.key()) == null) {
            return error(400, "Previous response with id '" + previous + "' not found.", "invalid_request_error",
                    "previous_response_id", "previous_response_not_found");
        }
        return null;
    }

    private Reply read(RecordedRequest request) {
        Matcher response = RESPONSE.matcher(request.path());
        if (response.matches()) {
            String id = response.group(1);
            StoredResponse stored = request.method().equals("DELETE") ? responses.remove(id, request.key())
                    : responses.get(id, request.key());
            if (stored == null) {
                return error(404, "Response with id '" + id + "' not found.", "invalid_request_error", null, null);
            }
            if (request.method().equals("DELETE")) {
                return Reply.json(200, JsonText.pretty(JsonText.object().put("id", id).put("object", "response")
                        .put("deleted", true), 2));
            }
            return response.group(2) == null ? Reply.json(200, JsonText.pretty(stored.response(), 2))
                    : Reply.json(200, JsonText.pretty(itemList(stored.inputItems(), request), 2));
        }
        Matcher file = FILE.matcher(request.path());
        if (file.matches()) {
            String id = file.group(1);
            StoredFile stored = request.method().equals("DELETE") ? files.remove(id, request.key())
                    : files.get(id, request.key());
            if (stored == null) {
                return error(404, "No such File object: " + id, "invalid_request_error", "id", null);
            }
            if (request.method().equals("DELETE")) {
                return Reply.json(200, JsonText.pretty(JsonText.object().put("object", "file").put("deleted", true)
                        .put("id", id), 2));
            }
            return file.group(2) == null ? Reply.json(200, JsonText.pretty(stored.file(), 2))
                    : exchange -> exchange.respond(200, "application/octet-stream", stored.content());
        }
        Matcher model = MODEL.matcher(request.path());
        if (model.matches()) {
            String id = model.group(1);
            if (!models.contains(id)) {
                return error(404, "The model '" + id + "' does not exist", "invalid_request_error", "model",
                        "model_not_found");
            }
            return Reply.json(200, JsonText.pretty(model(id), 2));
        }
        return null;
    }

    private Reply modelList() {
        ObjectNode root = JsonText.object();
        root.put("object", "list");
        ArrayNode data = root.putArray("data");
        models.forEach(id -> data.add(model(id)));
        return Reply.json(200, JsonText.pretty(root, 2));
    }

    private static ObjectNode model(String id) {
        ObjectNode model = JsonText.object();
        model.put("id", id);
        model.put("object", "model");
        model.put("created", 1686935002L);
        model.put("owned_by", id.startsWith("ft:") ? "user-keypool-test" : "system");
        model.putNull("shutdown_date");
        return model;
    }

    private Reply uploadRefusal(RecordedRequest request) {
        List<Multipart.Part> parts = Multipart.parse(request.header("content-type"), request.bodyBytes());
        if (parts.stream().noneMatch(part -> "file".equals(part.name()) && part.filename() != null)) {
            return OpenAiValidation.required(JsonText.object(), "file");
        }
        if (parts.stream().noneMatch(part -> "purpose".equals(part.name()))) {
            return OpenAiValidation.required(JsonText.object(), "purpose");
        }
        return null;
    }

    /** The upload stored for the key, answered with its file object. */
    private static Reply uploaded() {
        return exchange -> {
            RecordedRequest request = exchange.request();
            List<Multipart.Part> parts = Multipart.parse(request.header("content-type"), request.bodyBytes());
            Multipart.Part file = parts.stream().filter(part -> "file".equals(part.name())).findFirst().orElseThrow();
            String purpose = parts.stream().filter(part -> "purpose".equals(part.name())).findFirst().orElseThrow().text();
            ObjectNode object = JsonText.object();
            String id = "file-" + Ids.alnum(22);
            object.put("object", "file");
            object.put("id", id);
            object.put("purpose", purpose);
            object.put("filename", file.filename());
            object.put("bytes", file.data().length);
            object.put("created_at", exchange.now().getEpochSecond());
            object.putNull("expires_at");
            object.put("status", "processed");
            object.putNull("status_details");
            if (exchange.upstream() instanceof FakeOpenAi openai) {
                openai.files.put(id, request.key(), new StoredFile(object.deepCopy(), file.data()));
            }
            Reply.json(200, JsonText.pretty(object, 2)).send(exchange);
        };
    }

    private Reply fileList(RecordedRequest request) {
        List<ObjectNode> owned = files.owned(request.key()).stream().map(StoredFile::file).toList();
        ArrayNode data = JsonText.object().arrayNode();
        owned.forEach(file -> data.add(file.deepCopy()));
        return Reply.json(200, JsonText.pretty(list(data), 2));
    }

    private static ObjectNode itemList(ArrayNode items, RecordedRequest request) {
        List<JsonNode> ordered = new ArrayList<>();
        items.forEach(ordered::add);
        if (!"asc".equals(request.queryParam("order"))) {
            Collections.reverse(ordered);
        }
        ArrayNode data = JsonText.object().arrayNode();
        ordered.forEach(item -> data.add(item.deepCopy()));
        return list(data);
    }

    private static ObjectNode list(ArrayNode data) {
        ObjectNode root = JsonText.object();
        root.put("object", "list");
        root.set("data", data);
        if (data.isEmpty()) {
            root.putNull("first_id");
            root.putNull("last_id");
        } else {
            root.put("first_id", data.get(0).path("id").asText());
            root.put("last_id", data.get(data.size() - 1).path("id").asText());
        }
        root.put("has_more", false);
        return root;
    }

    /** The request's {@code input} as the input items OpenAI lists for the response, each with an id. */
    private static ArrayNode inputItems(JsonNode request) {
        ArrayNode items = JsonText.object().arrayNode();
        JsonNode input = request.path("input");
        if (input.isTextual()) {
            items.add(message("user", input.asText()));
        } else if (input.isArray()) {
            for (JsonNode item : input) {
                if (item.path("content").isTextual()) {
                    items.add(message(item.path("role").asText("user"), item.path("content").asText()));
                } else {
                    ObjectNode copy = JsonText.object();
                    copy.put("id", (item.path("type").asText("message").equals("message") ? "msg_" : "fc_")
                            + Ids.hex(48));
                    item.fields().forEachRemaining(field -> copy.set(field.getKey(), field.getValue().deepCopy()));
                    if (!copy.has("type")) {
                        copy.put("type", "message");
                    }
                    items.add(copy);
                }
            }
        }
        return items;
    }

    private static ObjectNode message(String role, String text) {
        ObjectNode message = JsonText.object();
        message.put("id", "msg_" + Ids.hex(48));
        message.put("type", "message");
        message.put("role", role);
        message.putArray("content").addObject().put("type", role.equals("assistant") ? "output_text" : "input_text")
                .put("text", text);
        return message;
    }

    private static Reply embeddingsRefusal(JsonNode body) {
        Reply refused = OpenAiValidation.model(body);
        if (refused == null) {
            refused = OpenAiValidation.required(body, "input");
        }
        if (refused == null && inputs(body.path("input")).stream().anyMatch(String::isEmpty)) {
            refused = badRequest("'$.input' is invalid. Please check the API reference:"
                    + " https://platform.openai.com/docs/api-reference.", null, null);
        }
        return refused;
    }

    /** Each input as text: a string, each string of an array, or token arrays by their numbers. */
    private static List<String> inputs(JsonNode input) {
        List<String> inputs = new ArrayList<>();
        if (input.isTextual()) {
            inputs.add(input.asText());
        } else if (input.isArray() && input.size() > 0 && input.get(0).isNumber()) {
            inputs.add(input.toString());
        } else if (input.isArray()) {
            input.forEach(item -> inputs.add(item.isTextual() ? item.asText() : item.toString()));
            if (input.isEmpty()) {
                inputs.add("");
            }
        }
        return inputs;
    }

    private static boolean known(RecordedRequest request) {
        String method = request.method();
        String path = request.path();
        if (method.equals("POST")) {
            return JSON_POSTS.contains(path) || path.equals("/v1/files");
        }
        if (method.equals("GET")) {
            return path.equals("/v1/models") || path.equals("/v1/files") || MODEL.matcher(path).matches()
                    || RESPONSE.matcher(path).matches() || FILE.matcher(path).matches();
        }
        if (method.equals("DELETE")) {
            Matcher response = RESPONSE.matcher(path);
            Matcher file = FILE.matcher(path);
            return response.matches() && response.group(2) == null || file.matches() && file.group(2) == null;
        }
        return false;
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

    private static String requestId() {
        return "req_" + Ids.hex(32);
    }
}
