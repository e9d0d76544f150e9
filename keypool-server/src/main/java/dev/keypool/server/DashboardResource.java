package dev.keypool.server;

import io.helidon.http.HeaderNames;
import io.helidon.http.Method;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.helidon.webserver.staticcontent.ClasspathHandlerConfig;
import io.helidon.webserver.staticcontent.StaticContentFeature;
import java.util.List;

/**
 * The admin dashboard: static files from the classpath's {@code web/} at {@code /} and under
 * {@code /dashboard/}, and WebJars under {@code /webjars/}. No token is needed for the files; the
 * page asks for the admin token and sends it with its API calls. Registered last, so the API
 * routes match first.
 */
final class DashboardResource implements HttpService {

    static final String LOCATION = "web";

    /** What the dashboard's own files end with; the API's top-level paths end in {@code .json} or nothing. */
    private static final List<String> FILE_TYPES = List.of(".html", ".js", ".css", ".ico", ".png", ".svg", ".map");

    /**
     * Whether {@code request} asks for one of the dashboard's files: a {@code GET} or {@code HEAD}
     * of {@code /}, of a page, script, style or image at the top ({@code /app.js}), or of anything
     * under {@code /dashboard/} or {@code /webjars/}. Any other path may be the API's, including
     * ones this gateway has no name for.
     */
    static boolean isFile(ServerRequest request) {
        Method method = request.prologue().method();
        if (method != Method.GET && method != Method.HEAD) {
            return false;
        }
        String path = request.path().path();
        if (path.equals("/") || path.equals("/dashboard") || path.startsWith("/dashboard/") || path.startsWith("/webjars/")) {
            return true;
        }
        return path.indexOf('/', 1) < 0 && FILE_TYPES.stream().anyMatch(path::endsWith);
    }

    @Override
    public void routing(HttpRules rules) {
        if (DashboardResource.class.getClassLoader().getResource(LOCATION + "/index.html") == null) {
            rules.get("/", this::missing);
        } else {
            rules.get("/*", this::headers);
            rules.register("/dashboard", files());
            rules.register("/", files());
        }
        if (DashboardResource.class.getClassLoader().getResource("META-INF/resources/webjars") != null) {
            rules.register("/webjars", StaticContentFeature.createService(ClasspathHandlerConfig.builder()
                    .location("META-INF/resources/webjars")
                    .build()));
        }
    }

    /**
     * The dashboard's policy, sent as a header (a {@code <meta>} policy cannot forbid framing):
     * only its own scripts, styles and API, no plugins, no {@code <base>}, no form posts anywhere,
     * and no page may frame it (clickjacking the reset buttons).
     */
    static final String CONTENT_SECURITY_POLICY = "default-src 'self'; script-src 'self'; style-src 'self';"
            + " img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none';"
            + " frame-ancestors 'none'";

    /**
     * {@code no-cache}: the browser revalidates, so an upgraded gateway never runs a stale app.js;
     * {@code nosniff}: the files are only what their content types say; the content security
     * policy above; no referrer (the page's URL may carry an {@code access_token}); and
     * {@code X-Frame-Options} for browsers older than {@code frame-ancestors}.
     */
    private void headers(ServerRequest request, ServerResponse response) {
        response.header(HeaderNames.CACHE_CONTROL, "no-cache");
        response.header("X-Content-Type-Options", "nosniff");
        response.header("Content-Security-Policy", CONTENT_SECURITY_POLICY);
        response.header("Referrer-Policy", "no-referrer");
        response.header("X-Frame-Options", "DENY");
        response.next();
    }

    private static HttpService files() {
        return StaticContentFeature.createService(ClasspathHandlerConfig.builder()
                .location(LOCATION)
                .welcome("index.html")
                .build());
    }

    /** A build without the dashboard's files still says what it is and where the API lives. */
    private void missing(ServerRequest request, ServerResponse response) {
        response.header(HeaderNames.CONTENT_TYPE, "text/html; charset=utf-8");
        response.send("""
                <!doctype html><title>keypool</title>
                <h1>keypool gateway</h1>
                <p>This build has no dashboard files. The admin API is at
                <code>/api/admin/api-key-status/</code>, metrics at <code>/metrics</code>.</p>
                """);
    }
}
