package dev.keypool.server;

import dev.keypool.server.feed.EventFeed;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * {@code GET /api/admin/events}: the dashboard's live feed as server-sent events, one
 * {@code event: <type>} per key event, {@code event: status} with the full status, and a
 * {@code : ping} comment every 15 s so proxies keep the stream open. The admin token comes in the
 * header or, for EventSource and curl, as {@code ?access_token=}.
 */
final class EventStreamResource implements HttpService {

    static final Duration PING_INTERVAL = Duration.ofSeconds(15);

    private final EventFeed feed;
    private final Tokens tokens;

    EventStreamResource(EventFeed feed, Tokens tokens) {
        this.feed = feed;
        this.tokens = tokens;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/api/admin/events", this::stream)
                .get("/api/admin/events/", this::stream);
    }

    private void stream(ServerRequest request, ServerResponse response) {
        tokens.requireAdmin(request, true);
        EventFeed.Subscription subscription;
        try {
            subscription = feed.subscribe();
        } catch (IllegalStateException closing) {
            throw new ApiException(503, "service_unavailable", "shutting_down", "The gateway is shutting down.");
        }
        response.header(HeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8");
        response.header(HeaderNames.CACHE_CONTROL, "no-cache");
        response.header("X-Accel-Buffering", "no");
        try (subscription; OutputStream out = response.outputStream()) {
            out.write(": keypool event feed\n\n".getBytes(StandardCharsets.UTF_8));
            out.flush();
            while (true) {
                EventFeed.Frame frame = subscription.next(PING_INTERVAL);
                if (frame != null && frame.isEnd()) {
                    break;
                }
                String wire = frame == null ? ": ping\n\n" : frame.wire();
                out.write(wire.getBytes(StandardCharsets.UTF_8));
                out.flush();
            }
        } catch (IOException | UncheckedIOException e) {
            // The client went away; nothing to answer.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
