package dev.keypool.providers.fake;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.keypool.providers.internal.Json;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * A model's answer as Gemini sends it: a {@code GenerateContentResponse} to
 * {@code models/{model}:generateContent} (two-space indented JSON), or its stream to
 * {@code :streamGenerateContent}: with {@code alt=sse} SSE events framed by {@code \r\n\r\n} and no
 * {@code [DONE]}, without it one JSON array written element by element, as Google does. Every chunk
 * carries the cumulative {@code usageMetadata}, {@code modelVersion} and {@code responseId}.
 * Immutable: each {@code with…} method returns a new answer.
 *
 * <p>From the request it reads {@code generationConfig.candidateCount} (that many candidates, each
 * with its {@code index}, {@code candidatesTokenCount} billing them all) and {@code cachedContent}
 * (the cache's tokens are added to {@code promptTokenCount}, which Google documents as including them,
 * and reported as {@code cachedContentTokenCount} with its {@code cacheTokensDetails}).
 *
 * <p>With {@code generationConfig.responseLogprobs} each candidate carries a {@code logprobsResult}
 * (a word a token; {@code chosenCandidates}, and {@code generationConfig.logprobs} {@code topCandidates}
 * each, the chosen token first) and, in a whole answer, its {@code avgLogprobs}; token {@code i} has a
 * log probability of {@code -0.125 (i + 1)}.
 *
 * <p>Choices where the reference is silent: function calls arrive whole, in the last chunk of a
 * stream with the {@code finishReason}, the first carrying a {@code thoughtSignature} as 2.5 and later
 * models send; several candidates stream side by side in each chunk; a stream's chunks carry the
 * log probabilities of their own tokens only.
 */
public final class GeminiAnswer implements Reply {

    static final String JSON = "application/json; charset=UTF-8";

    private final List<String> deltas;
    private final List<GeminiFunctionCall> calls;
    private final int promptTokens;
    private final int candidateTokens;
    private final int thoughtTokens;
    private final int implicitCache;
    private final String finishReason;
    private final boolean complete;
    private final Reply.Ending ending;
    private final Gate gate;

    private GeminiAnswer(Spec spec) {
        deltas = List.copyOf(spec.deltas);
        calls = List.copyOf(spec.calls);
        promptTokens = spec.promptTokens;
        candidateTokens = spec.candidateTokens;
        thoughtTokens = spec.thoughtTokens;
        implicitCache = spec.implicitCache;
        finishReason = spec.finishReason;
        complete = spec.complete;
        ending = spec.ending;
        gate = spec.gate;
    }

    static GeminiAnswer text(List<String> deltas, int promptTokens, int candidateTokens, int thoughtTokens) {
        Spec spec = new Spec();
        spec.deltas = new ArrayList<>(deltas);
        spec.promptTokens = promptTokens;
        spec.candidateTokens = candidateTokens;
        spec.thoughtTokens = thoughtTokens;
        return new GeminiAnswer(spec);
    }

    /** The same answer reporting these counts ({@code candidateTokens} per candidate). */
    public GeminiAnswer withUsage(int promptTokens, int candidateTokens, int thoughtTokens) {
        return with(spec -> {
            spec.promptTokens = promptTokens;
            spec.candidateTokens = candidateTokens;
            spec.thoughtTokens = thoughtTokens;
        });
    }

    /**
     * The same answer from a prompt of which {@code tokens} were cached by Gemini's implicit caching
     * (2.5 models and later): reported as {@code cachedContentTokenCount} with the prompt's count
     * including them, as for an explicit cache.
     */
    public GeminiAnswer withCachedTokens(int tokens) {
        return with(spec -> spec.implicitCache = tokens);
    }

    /** The same answer followed by these function calls. */
    public GeminiAnswer withFunctionCalls(GeminiFunctionCall... calls) {
        return with(spec -> spec.calls = new ArrayList<>(List.of(calls)));
    }

    /** The same answer with this {@code finishReason} ({@code MAX_TOKENS}, {@code SAFETY}, …). */
    public GeminiAnswer withFinishReason(String finishReason) {
        return with(spec -> spec.finishReason = finishReason);
    }

    /** The stream ends after its deltas, without a finish: cut (once {@code gate} opens) or stalled. */
    GeminiAnswer thenEnd(Reply.Ending how, Gate gate) {
        return with(spec -> {
            spec.complete = false;
            spec.ending = how;
            spec.gate = gate;
        });
    }

    @Override
    public void send(Exchange exchange) throws IOException {
        RecordedRequest request = exchange.request();
        JsonNode body = request.json();
        int candidates = Math.max(1, body.path("generationConfig").path("candidateCount").asInt(1));
        int top = body.path("generationConfig").path("responseLogprobs").asBoolean(false)
                ? body.path("generationConfig").path("logprobs").asInt(0) : -1;
        int cached = implicitCache + (exchange.upstream() instanceof FakeGemini gemini
                ? gemini.cachedTokens(request.key(), body.path("cachedContent").asText("")) : 0);
        if (!request.path().endsWith(":streamGenerateContent")) {
            if (!complete) {
                if (ending == Reply.Ending.DROP) {
                    exchange.drop();
                } else {
                    exchange.stallUntilClosed();
                }
                return;
            }
            List<String> whole = deltas.isEmpty() ? List.of() : List.of(String.join("", deltas));
            ObjectNode root = chunk(whole, candidates, true, true, top, 0, deltas, true);
            root.set("usageMetadata", usage(candidateTokens * candidates, cached));
            root.put("modelVersion", FakeGemini.model(request));
            root.put("responseId", FakeGemini.responseId());
            Reply.body(200, JSON, JsonText.pretty(root, 2)).send(exchange);
            return;
        }
        List<ObjectNode> chunks = new ArrayList<>();
        List<String> pieces = deltas.isEmpty() ? List.of("") : deltas;
        for (int i = 0; i < pieces.size(); i++) {
            boolean last = i == pieces.size() - 1;
            List<String> piece = pieces.get(i).isEmpty() ? List.of() : List.of(pieces.get(i));
            ObjectNode chunk = chunk(piece, candidates, last && complete, last && complete, top, i, piece, false);
            // Cumulative: each event counts everything so far; the last one is the total.
            int soFar = last && complete ? candidateTokens
                    : Math.max(1, candidateTokens * (i + 1) / Math.max(1, pieces.size()));
            chunk.set("usageMetadata", usage(soFar * candidates, cached));
            chunks.add(chunk);
        }
        FakeGemini.send(exchange, chunks, gate, complete ? Reply.Ending.CLOSE : ending);
    }

    /** A chunk of these texts; with {@code top} at 0 or more, the log probabilities of {@code tokens}, the {@code from}-th first. */
    private ObjectNode chunk(List<String> texts, int candidates, boolean withCalls, boolean finished, int top, int from,
            List<String> tokens, boolean whole) {
        ObjectNode root = JsonText.object();
        ArrayNode list = root.putArray("candidates");
        for (int c = 0; c < candidates; c++) {
            ObjectNode candidate = list.addObject();
            ObjectNode content = candidate.putObject("content");
            ArrayNode parts = content.putArray("parts");
            texts.forEach(text -> parts.addObject().put("text", text));
            if (withCalls) {
                for (int k = 0; k < calls.size(); k++) {
                    ObjectNode part = parts.addObject();
                    ObjectNode call = part.putObject("functionCall");
                    call.put("name", calls.get(k).name());
                    call.set("args", Json.parseOrMissing(calls.get(k).args()));
                    if (k == 0) {
                        part.put("thoughtSignature", "CiQB0e2Kb" + Ids.alnum(40));
                    }
                }
            }
            content.put("role", "model");
            if (finished) {
                candidate.put("finishReason", finishReason);
            }
            if (top >= 0 && !tokens.isEmpty()) {
                candidate.set("logprobsResult", logprobsResult(tokens, from, top));
                if (whole) {
                    candidate.put("avgLogprobs", -0.125 * (tokens.size() + 1) / 2);
                }
            }
            candidate.put("index", c);
        }
        return root;
    }

    private static ObjectNode logprobsResult(List<String> tokens, int from, int top) {
        ObjectNode result = JsonText.object();
        ArrayNode topCandidates = result.putArray("topCandidates");
        ArrayNode chosen = result.putArray("chosenCandidates");
        double sum = 0;
        for (int i = 0; i < tokens.size(); i++) {
            double logprob = -0.125 * (from + i + 1);
            sum += logprob;
            if (top > 0) {
                ArrayNode alternatives = topCandidates.addObject().putArray("candidates");
                for (int k = 0; k < top; k++) {
                    alternatives.addObject().put("token", k == 0 ? tokens.get(i) : tokens.get(i) + "~" + k)
                            .put("tokenId", 1000 + k).put("logProbability", logprob - k);
                }
            }
            chosen.addObject().put("token", tokens.get(i)).put("tokenId", 1000).put("logProbability", logprob);
        }
        if (top <= 0) {
            result.remove("topCandidates");
        }
        result.put("logProbabilitySum", sum);
        return result;
    }

    private ObjectNode usage(int candidates, int cached) {
        int prompt = promptTokens + cached;
        ObjectNode usage = JsonText.object();
        usage.put("promptTokenCount", prompt);
        if (candidates > 0) {
            usage.put("candidatesTokenCount", candidates);
        }
        usage.put("totalTokenCount", prompt + candidates + thoughtTokens);
        if (cached > 0) {
            usage.put("cachedContentTokenCount", cached);
        }
        usage.putArray("promptTokensDetails").addObject().put("modality", "TEXT").put("tokenCount", prompt);
        if (cached > 0) {
            usage.putArray("cacheTokensDetails").addObject().put("modality", "TEXT").put("tokenCount", cached);
        }
        if (thoughtTokens > 0) {
            usage.put("thoughtsTokenCount", thoughtTokens);
        }
        return usage;
    }

    private GeminiAnswer with(Consumer<Spec> change) {
        Spec spec = new Spec(this);
        change.accept(spec);
        return new GeminiAnswer(spec);
    }

    private static final class Spec {
        List<String> deltas = new ArrayList<>();
        List<GeminiFunctionCall> calls = new ArrayList<>();
        int promptTokens;
        int candidateTokens;
        int thoughtTokens;
        int implicitCache;
        String finishReason = "STOP";
        boolean complete = true;
        Reply.Ending ending = Reply.Ending.CLOSE;
        Gate gate;

        Spec() {
        }

        Spec(GeminiAnswer answer) {
            deltas = new ArrayList<>(answer.deltas);
            calls = new ArrayList<>(answer.calls);
            promptTokens = answer.promptTokens;
            candidateTokens = answer.candidateTokens;
            thoughtTokens = answer.thoughtTokens;
            implicitCache = answer.implicitCache;
            finishReason = answer.finishReason;
            complete = answer.complete;
            ending = answer.ending;
            gate = answer.gate;
        }
    }
}
