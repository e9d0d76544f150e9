package dev.keypool.server;

import dev.keypool.config.Provider;
import dev.keypool.providers.ModelInfo;
import dev.keypool.providers.Relay;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * OpenAI's API under {@code /v1/…}, passed through to pooled OpenAI keys ({@code chat/completions}
 * also served by Gemini and Ollama in translation, as its {@code model} routes it), and
 * {@code GET /v1/models}, which the gateway answers itself with what the pool can serve.
 *
 * <p>{@code /v1/…} is also the path of Gemini's stable API: a {@code models/{m}:action} call, and
 * a models listing made with a Google credential ({@code x-goog-api-key} or {@code ?key=}), go to
 * Gemini instead.
 */
final class OpenAiResource implements HttpService {

    private final Relay relay;
    private final Relaying relaying;
    private final Tokens tokens;

    OpenAiResource(Relay relay, Relaying relaying, Tokens tokens) {
        this.relay = relay;
        this.relaying = relaying;
        this.tokens = tokens;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/v1/models", this::models)
                .get("/v1/models/{id}", this::model)
                .any("/v1/*", this::relay);
    }

    private void relay(ServerRequest request, ServerResponse response) {
        if (!relayedToGemini(ErrorShape.of(request.path().rawPath()) == ErrorShape.GOOGLE, request, response)) {
            relaying.relay(Provider.OPENAI, request, response);
        }
    }

    /**
     * A request that is Gemini's ({@code google}) is relayed there, its caller checked as Google's
     * clients expect; any other caller must present an OpenAI client token, and is answered here.
     */
    private boolean relayedToGemini(boolean google, ServerRequest request, ServerResponse response) {
        if (google) {
            tokens.requireClient(request, ErrorShape.GOOGLE);
            relaying.relay(Provider.GEMINI, request, response);
            return true;
        }
        tokens.requireClient(request, ErrorShape.OPENAI);
        return false;
    }

    private void models(ServerRequest request, ServerResponse response) {
        if (relayedToGemini(GeminiResource.speaksGoogle(request), request, response)) {
            return;
        }
        List<Map<String, Object>> data = new ArrayList<>();
        data.add(model("auto", "keypool"));
        for (ModelInfo info : relay.models()) {
            data.add(model(info.id(), info.provider().id()));
        }
        Http.json(response, Map.of("object", "list", "data", data));
    }

    private void model(ServerRequest request, ServerResponse response) {
        if (relayedToGemini(GeminiResource.speaksGoogle(request), request, response)) {
            return;
        }
        String id = request.path().pathParameters().get("id");
        if (id.equals("auto")) {
            Http.json(response, model("auto", "keypool"));
            return;
        }
        for (ModelInfo info : relay.models()) {
            if (info.id().equals(id)) {
                Http.json(response, model(info.id(), info.provider().id()));
                return;
            }
        }
        throw ApiException.notFound("model_not_found", "The model `" + id + "` does not exist or no configured key serves it.");
    }

    private static Map<String, Object> model(String id, String ownedBy) {
        Map<String, Object> model = new LinkedHashMap<>();
        model.put("id", id);
        model.put("object", "model");
        model.put("created", 0);
        model.put("owned_by", ownedBy);
        return model;
    }
}
