package dev.keypool.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keypool.config.KeypoolConfig;
import dev.keypool.providers.fake.FakeOpenAi;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A web page in the operator's browser cannot spend the keys through a loopback gateway: no form or
 * {@code text/plain} body, no foreign {@code Host} (DNS rebinding), no foreign {@code Origin}, no
 * cross-site image or link; CORS only for configured origins. Checked from the upstream's log: a
 * refused request never reaches it.
 */
class CrossSiteRequestsTest {

    private static final String KEY = "sk-proj-TEST.cross-site-test-key-00";
    private static final String CHAT = "{\"model\":\"gpt-4o\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    private static final String ALLOWED_ORIGIN = "https://app.example.com";

    private FakeOpenAi openAi;
    private TestGateway server;

    @BeforeEach
    void start() {
        openAi = FakeOpenAi.start();
        KeypoolConfig config = TestGateway.openAiPool(KEY, openAi).build();
        ServerSettings settings = TestGateway.settings(config);
        settings = settings.withEdge(settings.edge().withAllowedHosts(List.of("keypool.internal", "tunnel.example:9000"))
                .withCorsOrigins(List.of(ALLOWED_ORIGIN)));
        server = TestGateway.start(config, java.time.Clock.systemUTC(), settings);
    }

    @AfterEach
    void stop() {
        server.close();
        openAi.close();
    }

    private RawHttp.Answer request(String method, String path, String host, String headers, String body) {
        try (RawHttp http = RawHttp.connect(server.gateway.port())) {
            String bytes = method + " " + path + " HTTP/1.1\r\nHost: " + host + "\r\n" + headers
                    + (body == null ? "" : "Content-Length: " + body.length() + "\r\n") + "\r\n" + (body == null ? "" : body);
            return http.send(bytes).answer();
        }
    }

    private String host() {
        return "127.0.0.1:" + server.gateway.port();
    }

    private RawHttp.Answer chat(String headers) {
        return request("POST", "/v1/chat/completions", host(), headers, CHAT);
    }

    private static String code(RawHttp.Answer answer) {
        return TestGateway.json(answer.body()).path("error").path("code").asText();
    }

    @ParameterizedTest
    @ValueSource(strings = {"Content-Type: text/plain\r\n", "Content-Type: application/x-www-form-urlencoded\r\n",
            "Content-Type: multipart/form-data; boundary=x\r\n", ""})
    void chatWithABodyThatIsNotJson_gets415(String contentType) {
        RawHttp.Answer answer = chat(contentType);

        assertThat(answer.status()).isEqualTo(415);
        assertThat(code(answer)).isEqualTo("unsupported_media_type");
        assertThat(openAi.requests()).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"application/json", "application/json; charset=utf-8", "Application/JSON"})
    void chatWithJson_isServed(String contentType) {
        assertThat(chat("Content-Type: " + contentType + "\r\n").status()).isEqualTo(200);
    }

    @ParameterizedTest
    @ValueSource(strings = {"/v1/files", "/v1/uploads/upload_abc/parts", "/v1/audio/transcriptions",
            "/v1/audio/translations", "/v1/images/edits", "/v1/images/variations"})
    void uploadEndpoints_takeMultipart(String path) {
        RawHttp.Answer answer = request("POST", path, host(), "Content-Type: multipart/form-data; boundary=b\r\n",
                "--b\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n--b--\r\n");

        assertThat(answer.status()).isNotEqualTo(415);
    }

    @Test
    void geminiUploads_takeAnyType() {
        RawHttp.Answer answer = request("POST", "/upload/v1beta/files", host(), "Content-Type: image/png\r\n", "PNGDATA");

        assertThat(answer.status()).isNotEqualTo(415);
    }

    @Test
    void postWithoutABody_isNotChecked() {
        RawHttp.Answer answer = request("POST", "/api/admin/api-key-reset/", host(),
                "Authorization: Bearer " + TestGateway.ADMIN_TOKEN + "\r\n", null);

        assertThat(answer.status()).isEqualTo(200);
    }

    @ParameterizedTest
    @ValueSource(strings = {"evil.example", "evil.example:8080", "127.0.0.1.nip.io", "keypool.internal.evil.example"})
    void foreignHostOnALoopbackBind_isRefused(String host) {
        RawHttp.Answer answer = request("POST", "/v1/chat/completions", host, "Content-Type: application/json\r\n", CHAT);

        assertThat(answer.status()).isEqualTo(403);
        assertThat(code(answer)).isEqualTo("host_not_allowed");
        assertThat(TestGateway.json(answer.body()).path("error").path("message").asText()).contains("KEYPOOL_ALLOWED_HOSTS");
        assertThat(openAi.requests()).isEmpty();
    }

    @Test
    void loopbackAndConfiguredHosts_areAnswered() {
        int port = server.gateway.port();
        for (String host : List.of("127.0.0.1:" + port, "localhost:" + port, "LOCALHOST", "[::1]:" + port,
                "keypool.internal", "keypool.internal:443", "tunnel.example:9000")) {
            assertThat(request("GET", "/health/live", host, "", null).status()).as(host).isEqualTo(200);
        }
        assertThat(request("GET", "/health/live", "tunnel.example:9001", "", null).status()).isEqualTo(403);
    }

    @Test
    void foreignOrigin_isRefused() {
        RawHttp.Answer answer = chat("Content-Type: application/json\r\nOrigin: https://evil.example\r\n");

        assertThat(answer.status()).isEqualTo(403);
        assertThat(code(answer)).isEqualTo("origin_not_allowed");
        assertThat(answer.header("Access-Control-Allow-Origin")).isNull();
        assertThat(openAi.requests()).isEmpty();
    }

    @Test
    void nullOrigin_isRefused() {
        assertThat(chat("Content-Type: application/json\r\nOrigin: null\r\n").status()).isEqualTo(403);
    }

    @Test
    void sameOrigin_asTheDashboardSendsIt_isServed() {
        RawHttp.Answer answer = chat("Content-Type: application/json\r\nOrigin: http://" + host() + "\r\n"
                + "Sec-Fetch-Site: same-origin\r\n");

        assertThat(answer.status()).isEqualTo(200);
        assertThat(answer.header("Access-Control-Allow-Origin")).isNull();
    }

    @Test
    void configuredOrigin_getsCorsHeaders() {
        RawHttp.Answer answer = chat("Content-Type: application/json\r\nOrigin: " + ALLOWED_ORIGIN + "\r\n"
                + "Sec-Fetch-Site: cross-site\r\n");

        assertThat(answer.status()).isEqualTo(200);
        assertThat(answer.header("Access-Control-Allow-Origin")).isEqualTo(ALLOWED_ORIGIN);
        assertThat(answer.header("Vary")).contains("Origin");
    }

    @Test
    void preflightFromAConfiguredOrigin_isAnswered() {
        RawHttp.Answer answer = request("OPTIONS", "/v1/chat/completions", host(), "Origin: " + ALLOWED_ORIGIN + "\r\n"
                + "Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: authorization, content-type\r\n", null);

        assertThat(answer.status()).isEqualTo(204);
        assertThat(answer.header("Access-Control-Allow-Origin")).isEqualTo(ALLOWED_ORIGIN);
        assertThat(answer.header("Access-Control-Allow-Methods")).isEqualTo("POST");
        assertThat(answer.header("Access-Control-Allow-Headers")).isEqualTo("authorization, content-type");
        assertThat(answer.header("Access-Control-Max-Age")).isNotNull();
    }

    @Test
    void preflightFromAnotherOrigin_isRefused() {
        RawHttp.Answer answer = request("OPTIONS", "/v1/chat/completions", host(), "Origin: https://evil.example\r\n"
                + "Access-Control-Request-Method: POST\r\n", null);

        assertThat(answer.status()).isEqualTo(403);
        assertThat(answer.header("Access-Control-Allow-Origin")).isNull();
    }

    @Test
    void crossSiteImageOrLinkToTheApi_isRefused() {
        RawHttp.Answer answer = request("GET", "/search.json?engine=google&q=coffee", host(),
                "Sec-Fetch-Site: cross-site\r\nSec-Fetch-Mode: no-cors\r\n", null);

        assertThat(answer.status()).isEqualTo(403);
        // in SerpApi's own error shape, {"error": "…"}, as its clients read errors
        assertThat(TestGateway.json(answer.body()).path("error").asText()).startsWith("Requests from other sites are refused");
    }

    @ParameterizedTest
    @ValueSource(strings = {"/v1/models", "/api/tags", "/v1beta/models", "/account.json"})
    void crossSiteRequestToAnyApiPath_isRefused(String path) {
        RawHttp.Answer answer = request("GET", path, host(), "Sec-Fetch-Site: same-site\r\nSec-Fetch-Mode: no-cors\r\n", null);

        assertThat(answer.status()).isEqualTo(403);
    }

    @Test
    void crossSiteLinkToTheDashboard_opensIt() {
        RawHttp.Answer answer = request("GET", "/", host(), "Sec-Fetch-Site: cross-site\r\nSec-Fetch-Mode: navigate\r\n", null);

        assertThat(answer.status()).isEqualTo(200);
    }
}
