package dev.keypool.server;

import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Method;
import io.helidon.webserver.http.Filter;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Refuses what a web page open in the operator's browser could make the gateway do. A gateway on
 * loopback is reachable from every page the browser shows: a page may send it simple requests
 * (forms, {@code text/plain}, images) without asking, and a page whose name resolves to 127.0.0.1
 * (DNS rebinding) is even same-origin with it. In order:
 *
 * <ol>
 *   <li><b>Host.</b> On a loopback bind (or whenever {@code KEYPOOL_ALLOWED_HOSTS} is set) the
 *       {@code Host} must be {@code localhost}, {@code 127.0.0.1} or {@code [::1]} (any port), or
 *       one of {@code KEYPOOL_ALLOWED_HOSTS}: a rebinding page sends its own name. 403 otherwise.</li>
 *   <li><b>Origin.</b> A request that says where it comes from ({@code Origin}) must come from the
 *       gateway itself (the dashboard) or from one of {@code KEYPOOL_CORS_ORIGINS}; those get CORS
 *       headers and their preflights are answered. A request the browser marks as cross-site or
 *       same-site ({@code Sec-Fetch-Site}) without such an origin is refused too (an image or a link
 *       sends no {@code Origin}), but for the dashboard's own files, which anyone may open. 403.</li>
 *   <li><b>Body type.</b> A body must be JSON, or what {@link BodyTypes} allows on its path. 415.</li>
 * </ol>
 * Programs (SDKs, curl) send no {@code Origin} and a proper {@code Host}, and pass.
 */
final class CrossSiteFilter implements Filter {

    private static final HeaderName SEC_FETCH_SITE = HeaderNames.create("Sec-Fetch-Site");
    private static final Set<String> LOOPBACK_NAMES = Set.of("localhost", "127.0.0.1", "[::1]");
    private static final Set<String> PREFLIGHT_METHODS = Set.of("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE");
    /** How long a browser may reuse a preflight's answer. */
    private static final String PREFLIGHT_MAX_AGE_SECONDS = "600";

    private final boolean checkHost;
    private final Set<String> allowedHosts;
    private final Set<String> corsOrigins;

    CrossSiteFilter(ServerSettings settings) {
        List<String> configured = settings.edge().allowedHosts();
        this.checkHost = !configured.isEmpty() || ServerSettings.isLoopback(settings.host());
        this.allowedHosts = Set.copyOf(configured);
        this.corsOrigins = Set.copyOf(settings.edge().corsOrigins());
    }

    @Override
    public void filter(FilterChain chain, RoutingRequest request, RoutingResponse response) {
        String host = request.headers().first(HeaderNames.HOST).orElse("");
        if (checkHost && !hostAllowed(host)) {
            refuse(request, response, 403, "host_not_allowed", "This gateway does not answer for the host '" + printable(host)
                    + "'. Call it as localhost or 127.0.0.1, or add the name to KEYPOOL_ALLOWED_HOSTS.");
            return;
        }
        Optional<String> origin = request.headers().first(HeaderNames.ORIGIN);
        if (origin.isPresent()) {
            String from = origin.get().trim().toLowerCase(Locale.ROOT);
            if (corsOrigins.contains(from)) {
                if (preflight(request)) {
                    answerPreflight(request, response, origin.get().trim());
                    return;
                }
                response.header(HeaderNames.ACCESS_CONTROL_ALLOW_ORIGIN, origin.get().trim());
                response.header(HeaderNames.ACCESS_CONTROL_EXPOSE_HEADERS, "*");
                response.header(HeaderNames.VARY, "Origin");
            } else if (!sameOrigin(from, host)) {
                refuse(request, response, 403, "origin_not_allowed", "Requests from pages at '" + printable(origin.get())
                        + "' are refused: they could spend this gateway's keys. Add the origin to KEYPOOL_CORS_ORIGINS"
                        + " to allow it.");
                return;
            }
        } else if (crossSiteFetch(request)) {
            refuse(request, response, 403, "cross_site_request", "Requests from other sites are refused: they could spend this"
                    + " gateway's keys. Add the page's origin to KEYPOOL_CORS_ORIGINS to allow it.");
            return;
        }
        String path = request.path().path();
        if (hasBody(request) && !BodyTypes.accepts(path, request.headers().first(HeaderNames.CONTENT_TYPE).orElse(null))) {
            refuse(request, response, 415, "unsupported_media_type", "The request body must be " + BodyTypes.expected(path)
                    + ", with a Content-Type saying so; got "
                    + request.headers().first(HeaderNames.CONTENT_TYPE).map(type -> "'" + printable(type) + "'")
                            .orElse("none") + ".");
            return;
        }
        chain.proceed();
    }

    private boolean hostAllowed(String host) {
        String value = host.trim().toLowerCase(Locale.ROOT);
        String name = value;
        int colon = value.lastIndexOf(':');
        if (colon > value.lastIndexOf(']')) {
            name = value.substring(0, colon);
        }
        return LOOPBACK_NAMES.contains(name) || allowedHosts.contains(name) || allowedHosts.contains(value);
    }

    /** The dashboard's own calls: {@code Origin} names the authority the request was sent to. */
    private static boolean sameOrigin(String origin, String host) {
        int scheme = origin.indexOf("://");
        return scheme > 0 && !host.isEmpty() && origin.substring(scheme + 3).equals(host.trim().toLowerCase(Locale.ROOT));
    }

    /** Marked by the browser as sent from another site, and not to the dashboard's files. */
    private static boolean crossSiteFetch(RoutingRequest request) {
        String site = request.headers().first(SEC_FETCH_SITE).orElse("");
        return (site.equalsIgnoreCase("cross-site") || site.equalsIgnoreCase("same-site"))
                && !DashboardResource.isFile(request);
    }

    private static boolean preflight(RoutingRequest request) {
        return request.prologue().method() == Method.OPTIONS
                && request.headers().contains(HeaderNames.ACCESS_CONTROL_REQUEST_METHOD);
    }

    private static void answerPreflight(RoutingRequest request, RoutingResponse response, String origin) {
        String method = request.headers().first(HeaderNames.ACCESS_CONTROL_REQUEST_METHOD).orElse("").trim()
                .toUpperCase(Locale.ROOT);
        if (!PREFLIGHT_METHODS.contains(method)) {
            refuse(request, response, 403, "method_not_allowed", "CORS allows GET, HEAD, POST, PUT, PATCH and DELETE here.");
            return;
        }
        response.header(HeaderNames.ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        response.header(HeaderNames.ACCESS_CONTROL_ALLOW_METHODS, method);
        String headers = request.headers().first(HeaderNames.ACCESS_CONTROL_REQUEST_HEADERS).orElse("");
        if (headers.matches("[A-Za-z0-9!#$%&'*+.^_`|~-]+(\\s*,\\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+)*")) {
            // Named one by one: the "*" wildcard does not cover Authorization.
            response.header(HeaderNames.ACCESS_CONTROL_ALLOW_HEADERS, headers);
        }
        response.header(HeaderNames.ACCESS_CONTROL_MAX_AGE, PREFLIGHT_MAX_AGE_SECONDS);
        response.header(HeaderNames.VARY, "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
        response.status(204);
        response.send();
    }

    private static boolean hasBody(RoutingRequest request) {
        return request.headers().contentLength().orElse(0) > 0 || request.headers().contains(HeaderNames.TRANSFER_ENCODING);
    }

    private static void refuse(RoutingRequest request, RoutingResponse response, int status, String code, String message) {
        ApiErrors.write(request, response, new ApiException(status, "invalid_request_error", code, message));
    }

    /** A header value as it may appear in a message: printable ASCII, at most 100 characters. */
    private static String printable(String value) {
        StringBuilder printable = new StringBuilder(Math.min(value.length(), 103));
        for (int i = 0; i < value.length() && i < 100; i++) {
            char c = value.charAt(i);
            printable.append(c >= 0x20 && c <= 0x7e ? c : '?');
        }
        return value.length() > 100 ? printable.append("...").toString() : printable.toString();
    }
}
