package dev.keypool.providers.internal;

import io.helidon.http.Header;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.Method;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;

/**
 * One request to a provider, as a client builds it: method, address, headers and, for a POST, the
 * JSON body as bytes. {@link Upstream} sends it.
 */
public final class UpstreamRequest {

    private final Method method;
    private final URI uri;
    private final byte[] body;
    private final List<Header> headers = new ArrayList<>(4);

    private UpstreamRequest(Method method, URI uri, byte[] body) {
        this.method = method;
        this.uri = uri;
        this.body = body;
    }

    /** A POST of {@code json}, with its content type. */
    public static UpstreamRequest postJson(URI uri, byte[] json) {
        return new UpstreamRequest(Method.POST, uri, json).header(HeaderValues.CONTENT_TYPE_JSON);
    }

    public static UpstreamRequest get(URI uri) {
        return new UpstreamRequest(Method.GET, uri, null);
    }

    /**
     * Any method, with the body as the caller sent it ({@code null} for none); the caller adds the
     * content type among its headers.
     */
    public static UpstreamRequest of(String method, URI uri, byte[] body) {
        return new UpstreamRequest(Method.create(method), uri, body);
    }

    /** A header that carries a key: marked sensitive, so that nothing that logs headers shows it. */
    public UpstreamRequest secretHeader(HeaderName name, String value) {
        return header(HeaderValues.create(name, false, true, value));
    }

    /** The caller's headers that go upstream ({@link ForwardedHeaders#upstream}), as they came. */
    public UpstreamRequest forwarding(List<dev.keypool.providers.relay.Header> callerHeaders) {
        for (dev.keypool.providers.relay.Header header : ForwardedHeaders.upstream(callerHeaders)) {
            header(HeaderNames.create(header.name()), header.value());
        }
        return this;
    }

    public UpstreamRequest header(HeaderName name, String value) {
        return header(HeaderValues.create(name, value));
    }

    public UpstreamRequest header(Header header) {
        headers.add(header);
        return this;
    }

    Method method() {
        return method;
    }

    URI uri() {
        return uri;
    }

    /** The body, or {@code null} for none. */
    byte[] body() {
        return body;
    }

    List<Header> headers() {
        return headers;
    }

    @Override
    public String toString() {
        // the headers carry the key: never shown
        return method.text() + " " + uri;
    }
}
