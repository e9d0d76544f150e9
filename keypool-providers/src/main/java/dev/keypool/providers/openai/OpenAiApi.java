package dev.keypool.providers.openai;

import dev.keypool.config.Provider;
import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.failure.UpstreamException;
import dev.keypool.providers.internal.Json;
import dev.keypool.providers.internal.RateLimitSnapshot;
import dev.keypool.providers.internal.ResponseHeaders;
import dev.keypool.providers.internal.UpstreamRequest;
import dev.keypool.providers.relay.Header;
import dev.keypool.providers.relay.Operation;
import dev.keypool.providers.relay.ProviderApi;
import dev.keypool.providers.relay.RelayContext;
import io.helidon.http.HeaderNames;
import java.net.URI;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * OpenAI's API ({@code OPENAI_BASE_URL}, default {@code https://api.openai.com/v1}) as the gateway
 * carries it: a caller's {@code /v1/…} request goes to {@code {OPENAI_BASE_URL}/…} as it was
 * written, with a pooled key as its bearer token and {@code OPENAI_ORG_ID} as its organization.
 *
 * <table>
 *   <caption>Endpoints</caption>
 *   <tr><th>caller's request</th><th>reserved</th><th>usage committed from</th></tr>
 *   <tr><td>{@code POST /v1/chat/completions}</td><td>prompt estimate + cap × {@code n}</td>
 *       <td>{@code usage} (a stream's last chunk)</td></tr>
 *   <tr><td>{@code POST /v1/completions}</td><td>prompt + {@code max_tokens} (16 when unset, as OpenAI's
 *       default) × {@code max(n, best_of)}</td><td>{@code usage}</td></tr>
 *   <tr><td>{@code POST /v1/embeddings}</td><td>input estimate</td><td>{@code usage.prompt_tokens}</td></tr>
 *   <tr><td>{@code POST /v1/responses}</td><td>input estimate + {@code max_output_tokens}</td>
 *       <td>{@code usage} ({@code response.completed}'s in a stream)</td></tr>
 *   <tr><td>any other {@code /v1/…}: files, batches, uploads, vector stores, moderations, audio, images,
 *       responses by id, conversations, …</td><td>nothing (a request)</td><td>{@code usage} if the answer has one</td></tr>
 * </table>
 *
 * Objects an answer creates (a stored response, a file, a batch, …: its top-level {@code id}) are
 * remembered with the key that created them, and any later request that names one goes to that key.
 */
public final class OpenAiApi implements ProviderApi {

    private static final io.helidon.http.HeaderName ORGANIZATION = HeaderNames.create("OpenAI-Organization");

    private final RelayContext context;
    private final String baseUrl;
    private final String organization;
    private final Map<String, URI> endpoints;
    private final Operation chat;
    private final Operation completions;
    private final Operation embeddings;
    private final Operation responses;
    private final Operation other;

    public OpenAiApi(RelayContext context) {
        this.context = context;
        this.baseUrl = context.config().baseUrl(Provider.OPENAI);
        this.organization = context.config().openAiOrgId();
        Map<String, URI> parsed = new HashMap<>();
        for (String path : List.of("/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/responses")) {
            parsed.put(path, URI.create(baseUrl + path.substring("/v1".length())));
        }
        this.endpoints = Map.copyOf(parsed);
        this.chat = new ChatCompletions(this, context);
        this.completions = new Completions(this, context);
        this.embeddings = new Embeddings(this, context);
        this.responses = new Responses(this, context);
        this.other = new PassThrough(this);
    }

    @Override
    public Provider provider() {
        return Provider.OPENAI;
    }

    @Override
    public Operation operation(String method, String path) {
        if (!path.startsWith("/v1/")) {
            return null;
        }
        if (method.equals("POST")) {
            switch (path) {
                case "/v1/chat/completions" -> {
                    return chat;
                }
                case "/v1/completions" -> {
                    return completions;
                }
                case "/v1/embeddings" -> {
                    return embeddings;
                }
                case "/v1/responses" -> {
                    return responses;
                }
                default -> {
                }
            }
        }
        return other;
    }

    /** The upstream address of a path without a query; the endpoints of nearly every request are parsed once. */
    private URI endpoint(String path) {
        URI known = endpoints.get(path);
        return known != null ? known : URI.create(baseUrl + path.substring("/v1".length()));
    }

    /** The chat operation, which other protocols' packages translate to. */
    public Operation chat() {
        return chat;
    }

    @Override
    public UpstreamException failure(int status, ResponseHeaders headers, String body, String secret) {
        return OpenAiErrors.failure(status, headers, body, secret, context.clock());
    }

    @Override
    public UpstreamException streamFailure(byte[] event, String secret) {
        JsonNode error = Json.errorEvent(event);
        return error.isMissingNode() ? null
                : OpenAiErrors.failure(0, ResponseHeaders.NONE, Json.write(error), secret, context.clock());
    }

    @Override
    public RateLimitSnapshot budget(ResponseHeaders headers) {
        return RateLimitSnapshot.fromOpenAi(headers).orElse(null);
    }

    /** The caller's request as it goes to OpenAI: same method, path under the base URL, headers and body. */
    UpstreamRequest request(String method, String path, String query, List<Header> headers, byte[] body,
            String apiKey) {
        URI uri = query == null ? endpoint(path) : URI.create(baseUrl + path.substring("/v1".length()) + "?" + query);
        UpstreamRequest request = UpstreamRequest.of(method, uri, body.length == 0 && !method.equals("POST") ? null : body)
                .forwarding(headers);
        request.secretHeader(HeaderNames.AUTHORIZATION, "Bearer " + apiKey);
        if (organization != null) {
            request.header(ORGANIZATION, organization);
        }
        return request;
    }
}
