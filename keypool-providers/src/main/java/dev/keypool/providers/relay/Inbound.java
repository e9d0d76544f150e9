package dev.keypool.providers.relay;

import java.util.List;
import java.util.Objects;

/**
 * A caller's request as it arrived at the gateway, in the protocol of one provider: nothing in it
 * has been parsed or rebuilt.
 *
 * @param method  {@code POST}, {@code GET}, …
 * @param path    the path as the caller wrote it, from the root: {@code /v1/chat/completions},
 *                {@code /v1beta/models/gemini-2.5-flash:generateContent}, {@code /api/chat}, {@code /search.json}
 * @param query   the raw query string without its {@code ?}, or {@code null}
 * @param headers the caller's headers, in order
 * @param body    the body's bytes; empty for none
 */
public record Inbound(String method, String path, String query, List<Header> headers, byte[] body) {

    private static final byte[] NONE = new byte[0];

    public Inbound {
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(path, "path");
        headers = List.copyOf(headers);
        body = body == null ? NONE : body;
    }

    /** A request with a JSON body and no headers of note (the library's own calls). */
    public static Inbound json(String path, byte[] body) {
        return new Inbound("POST", path, null, List.of(new Header("Content-Type", "application/json")), body);
    }

    /** The first value of a header, or {@code null}. */
    public String header(String name) {
        return Header.first(headers, name);
    }

    @Override
    public String toString() {
        // the headers may carry the caller's credential: never shown
        return method + " " + path + (query == null ? "" : "?…") + " (" + body.length + " bytes)";
    }
}
