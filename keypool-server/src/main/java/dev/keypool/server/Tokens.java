package dev.keypool.server;

import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerRequest;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import java.util.Optional;

/**
 * Checks the bearer tokens: the admin token on {@code /api/admin/*}, and the client tokens
 * ({@code KEYPOOL_CLIENT_TOKENS}) on the gateway endpoints when any are configured.
 *
 * <p>Tokens are compared as SHA-256 digests with {@link MessageDigest#isEqual}: constant time, and
 * equal-length inputs, so neither the content nor the length of a token leaks through timing.
 */
final class Tokens {

    private static final io.helidon.http.HeaderName GOOGLE_KEY = HeaderNames.create("x-goog-api-key");

    private final byte[] adminDigest;
    private final List<byte[]> clientDigests;

    Tokens(String adminToken, List<String> clientTokens) {
        this.adminDigest = digest(adminToken);
        this.clientDigests = clientTokens.stream().map(Tokens::digest).toList();
    }

    /**
     * @param allowQueryToken whether {@code ?access_token=} may stand in for the header (for
     *                        EventSource and curl, which cannot always set headers)
     * @throws ApiException 401 when the admin token is missing or wrong
     */
    void requireAdmin(ServerRequest request, boolean allowQueryToken) {
        Optional<String> token = bearer(request);
        if (token.isEmpty() && allowQueryToken) {
            token = request.query().first("access_token").asOptional();
        }
        if (token.isEmpty() || !MessageDigest.isEqual(adminDigest, digest(token.get()))) {
            throw new ApiException(401, "authentication_error", "invalid_admin_token", token.isEmpty()
                    ? "This endpoint needs the admin token: send 'Authorization: Bearer <KEYPOOL_ADMIN_TOKEN>'."
                    : "The admin token is not valid.");
        }
    }

    /**
     * Admits a gateway caller: anyone when no client tokens are configured, else a caller with one
     * of them as its bearer token (what OpenAI clients send as their API key) or, where its
     * protocol puts the key elsewhere, there: {@code api_key} for SerpApi clients,
     * {@code x-goog-api-key} or {@code key} for Google's.
     *
     * @throws ApiException 401, as OpenAI answers a wrong key
     */
    void requireClient(ServerRequest request, ErrorShape protocol) {
        if (clientDigests.isEmpty()) {
            return;
        }
        Optional<String> token = bearer(request);
        if (token.isEmpty() && protocol == ErrorShape.SERPAPI) {
            token = request.query().first("api_key").asOptional();
        }
        if (token.isEmpty() && protocol == ErrorShape.GOOGLE) {
            token = request.headers().first(GOOGLE_KEY).or(() -> request.query().first("key").asOptional());
        }
        if (token.isPresent()) {
            byte[] given = digest(token.get());
            boolean match = false;
            for (byte[] client : clientDigests) {
                match |= MessageDigest.isEqual(client, given);
            }
            if (match) {
                return;
            }
        }
        throw new ApiException(401, "invalid_request_error", "invalid_api_key", token.isEmpty()
                ? "This gateway needs a client token: send 'Authorization: Bearer <one of KEYPOOL_CLIENT_TOKENS>'."
                : "The client token is not valid for this gateway.");
    }

    private static Optional<String> bearer(ServerRequest request) {
        return request.headers().first(HeaderNames.AUTHORIZATION)
                .map(String::trim)
                .filter(value -> value.regionMatches(true, 0, "Bearer ", 0, 7))
                .map(value -> value.substring(7).trim())
                .filter(value -> !value.isEmpty());
    }

    private static byte[] digest(String token) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }
}
