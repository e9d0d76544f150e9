package dev.keypool.server;

import dev.keypool.providers.SearchResult;
import dev.keypool.providers.SearchService;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code GET /search} and {@code GET /search.json}, SerpApi-compatible: the caller's query
 * parameters go to SerpApi as they are, except {@code api_key}, which never leaves the gateway
 * (the pooled key replaces it; with client tokens configured it is how a SerpApi client presents
 * its token). SerpApi's JSON comes back verbatim.
 */
final class SearchResource implements HttpService {

    private final Gateway gateway;
    private final SearchService search;

    SearchResource(Gateway gateway) {
        this.gateway = gateway;
        this.search = gateway.search();
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/search", this::search)
                .get("/search.json", this::search);
    }

    private void search(ServerRequest request, ServerResponse response) {
        gateway.tokens().requireClient(request, true);
        Map<String, List<String>> parameters = new LinkedHashMap<>(request.query().toMap());
        parameters.remove("api_key");
        if (parameters.isEmpty()) {
            throw ApiException.badRequest("missing_required_parameter", "Missing query: pass SerpApi's parameters, e.g. ?engine=google&q=coffee");
        }
        SearchResult result = search.search(parameters);
        response.status(result.status());
        ChatResource.servedBy(response, dev.keypool.config.Provider.SERP, result.keyIndex(), result.maskedKey());
        response.header(HeaderNames.CONTENT_TYPE, Http.JSON);
        response.send(result.body().getBytes(StandardCharsets.UTF_8));
    }
}
