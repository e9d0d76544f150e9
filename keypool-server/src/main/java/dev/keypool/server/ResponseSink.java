package dev.keypool.server;

import dev.keypool.failure.UpstreamException;
import dev.keypool.providers.Attempt;
import dev.keypool.providers.relay.Head;
import dev.keypool.providers.relay.Header;
import dev.keypool.providers.relay.Served;
import dev.keypool.providers.relay.Sink;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.webserver.http.ServerResponse;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * A relayed answer on its way to the gateway's caller: the provider's status and headers (as the
 * relay passes them), keypool's {@code x-keypool-*} headers saying who served, then the body. A
 * provider's refusal is passed on the same way, as it came.
 */
final class ResponseSink implements Sink {

    static final HeaderName PROVIDER = HeaderNames.create("x-keypool-provider");
    static final HeaderName KEY_INDEX = HeaderNames.create("x-keypool-key-index");
    static final HeaderName KEY = HeaderNames.create("x-keypool-key");
    static final HeaderName MODEL = HeaderNames.create("x-keypool-model");
    static final HeaderName ATTEMPTS = HeaderNames.create("x-keypool-attempts");
    static final HeaderName FAILOVER = HeaderNames.create("x-keypool-failover");
    static final HeaderName DROPPED = HeaderNames.create("x-keypool-dropped-params");

    private final ServerResponse response;

    ResponseSink(ServerResponse response) {
        this.response = response;
    }

    @Override
    public OutputStream begin(Head head) {
        head(head);
        if (head.contentLength() >= 0) {
            response.headers().contentLength(head.contentLength());
        }
        if (head.streaming()) {
            response.header("X-Accel-Buffering", "no");
        }
        return response.outputStream();
    }

    @Override
    public void whole(Head head, byte[] body) {
        head(head);
        response.send(body);
    }

    @Override
    public void refused(Head head, byte[] body, UpstreamException failure) {
        whole(head, body);
    }

    private void head(Head head) {
        response.status(head.status());
        for (Header header : head.headers()) {
            if (printable(header.value())) {
                response.headers().add(HeaderValues.create(header.name(), header.value()));
            }
        }
        servedBy(response, head.served());
    }

    /**
     * The headers that say who served: provider, key index and masked key, model, what failed before,
     * and the request parameters left out in translation (when the operator opted in to dropping them).
     */
    static void servedBy(ServerResponse response, Served served) {
        response.header(PROVIDER, served.provider().id());
        if (served.keyIndex() >= 0) {
            response.header(KEY_INDEX, Integer.toString(served.keyIndex()));
        }
        if (served.maskedKey() != null) {
            response.header(KEY, ascii(served.maskedKey()));
        }
        if (served.model() != null) {
            response.header(MODEL, ascii(served.model()));
        }
        response.header(ATTEMPTS, Integer.toString(served.attempts().size() + 1));
        List<String> failover = new ArrayList<>();
        for (Attempt attempt : served.attempts()) {
            failover.add(attempt.provider().id() + (attempt.keyIndex() >= 0 ? "/" + attempt.keyIndex() : "") + " "
                    + attempt.kind().id());
        }
        for (String note : served.notes()) {
            failover.add(note);
        }
        if (!failover.isEmpty()) {
            response.header(FAILOVER, ascii(String.join(", ", failover)));
        }
        if (!served.dropped().isEmpty()) {
            response.header(DROPPED, ascii(String.join(", ", served.dropped())));
        }
    }

    /** Header values are ASCII; the mask's ellipsis becomes three dots. */
    static String ascii(String value) {
        StringBuilder ascii = new StringBuilder(value.length() + 2);
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '\u2026') {
                ascii.append("...");
            } else {
                ascii.append(c >= 0x20 && c <= 0x7e ? c : '?');
            }
        }
        return ascii.toString();
    }

    /** Whether a header value can go on the wire as it is (no line breaks, which would split headers). */
    private static boolean printable(String value) {
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '\r' || c == '\n' || c == 0) {
                return false;
            }
        }
        return true;
    }
}
