package dev.keypool.server;

import dev.keypool.providers.internal.Json;
import dev.keypool.server.connection.ConnectionLimits;
import dev.keypool.server.connection.GuardedConnections;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.ToDoubleFunction;

/**
 * The gateway's caps on the work it takes, and its answer beyond them: a 503 at once, in OpenAI's
 * shape, with {@code Retry-After}, rather than work queued without bound until the JVM runs out of
 * memory.
 *
 * <p>Requests that may call upstream are counted against {@code KEYPOOL_MAX_IN_FLIGHT}, and their
 * bodies against {@code KEYPOOL_MAX_BODY_BYTES_IN_FLIGHT}: each such request holds a virtual thread,
 * its buffered body, an upstream connection and the answer's buffers (about 30 KiB beside its body
 * and its own connection, docs/DECISIONS.md). Both counts are lock-free: an increment that passes
 * the cap is taken back, so a burst may be refused a little early, never admitted past the cap.
 * Connections are capped by {@link GuardedConnections}, which answers with {@link #connectionRefusal}.
 */
final class LoadShedding {

    private final ServerSettings.Edge edge;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicLong bodyBytes = new AtomicLong();
    private final LongAdder shedRequests = new LongAdder();
    private final LongAdder shedBodies = new LongAdder();

    /** @param edge the caps in force ({@link ServerSettings.Edge#fitToFileDescriptors}) */
    LoadShedding(ServerSettings.Edge edge) {
        this.edge = edge;
    }

    /** Whether a request was let in. */
    enum Admission { ADMITTED, DRAINING, OVERLOADED, BODIES_OVERLOADED }

    /**
     * Counts a request that may call upstream in, with its body's size; a lone request is let in
     * whatever its body's size (the body limit is for that). {@link #release} it once served.
     */
    Admission admit(long requestBodyBytes) {
        if (inFlight.incrementAndGet() > edge.maxInFlight()) {
            inFlight.decrementAndGet();
            shedRequests.increment();
            return Admission.OVERLOADED;
        }
        long held = bodyBytes.addAndGet(requestBodyBytes);
        if (held > edge.maxBodyBytesInFlight() && held != requestBodyBytes) {
            bodyBytes.addAndGet(-requestBodyBytes);
            inFlight.decrementAndGet();
            shedBodies.increment();
            return Admission.BODIES_OVERLOADED;
        }
        return Admission.ADMITTED;
    }

    void release(long requestBodyBytes) {
        bodyBytes.addAndGet(-requestBodyBytes);
        inFlight.decrementAndGet();
    }

    /** The refusal of a request {@link #admit} did not let in. */
    ApiException refusal(Admission admission) {
        return switch (admission) {
            case OVERLOADED -> overloaded("in_flight", "The gateway is serving its limit of " + edge.maxInFlight()
                    + " requests at once (KEYPOOL_MAX_IN_FLIGHT); retry shortly.");
            case BODIES_OVERLOADED -> overloaded("body_bytes", "The gateway holds its limit of "
                    + edge.maxBodyBytesInFlight() + " bytes of request bodies in flight"
                    + " (KEYPOOL_MAX_BODY_BYTES_IN_FLIGHT); retry shortly.");
            case DRAINING -> new ApiException(503, "service_unavailable", "shutting_down",
                    "The gateway is shutting down; retry against another instance.");
            case ADMITTED -> throw new IllegalArgumentException("an admitted request is not refused");
        };
    }

    /** The whole HTTP answer a connection above {@code KEYPOOL_MAX_CONNECTIONS} gets before it is closed. */
    byte[] connectionRefusal() {
        ConnectionLimits limits = edge.connections();
        byte[] body = Json.writeBytes(overloaded("connections", "The gateway has its limit of " + limits.maxConnections()
                + " connections open (KEYPOOL_MAX_CONNECTIONS); retry shortly.").body());
        ByteArrayOutputStream response = new ByteArrayOutputStream(160 + body.length);
        response.writeBytes(("HTTP/1.1 503 Service Unavailable\r\nContent-Type: " + Http.JSON + "\r\nRetry-After: "
                + limits.retryAfter().toSeconds() + "\r\nConnection: close\r\nContent-Length: " + body.length
                + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        response.writeBytes(body);
        return response.toByteArray();
    }

    private ApiException overloaded(String what, String message) {
        return new ApiException(503, "service_unavailable", "overloaded_" + what, message,
                Map.of("Retry-After", Long.toString(edge.connections().retryAfter().toSeconds())));
    }

    /** Gauges of the connections and requests in flight, counters of what was shed and closed. */
    void registerMetrics(MeterRegistry registry, GuardedConnections connections) {
        Gauge.builder("keypool_http_connections", connections, GuardedConnections::open)
                .description("Connections open now").register(registry);
        Gauge.builder("keypool_http_in_flight", inFlight, AtomicInteger::get)
                .description("Gateway requests being served now (counted against KEYPOOL_MAX_IN_FLIGHT)")
                .register(registry);
        shed(registry, "connections", connections, GuardedConnections::refused);
        shed(registry, "in_flight", shedRequests, LongAdder::sum);
        shed(registry, "body_bytes", shedBodies, LongAdder::sum);
        closed(registry, "header_timeout", connections, GuardedConnections::headerTimeouts);
        closed(registry, "idle_timeout", connections, GuardedConnections::idleTimeouts);
    }

    private static <T> void shed(MeterRegistry registry, String reason, T source, ToDoubleFunction<T> count) {
        FunctionCounter.builder("keypool_http_shed_total", source, count)
                .description("Connections and requests refused with 503 at a cap").tag("reason", reason)
                .register(registry);
    }

    private static <T> void closed(MeterRegistry registry, String reason, T source, ToDoubleFunction<T> count) {
        FunctionCounter.builder("keypool_http_connections_closed_total", source, count)
                .description("Connections the gateway closed on a timeout").tag("reason", reason)
                .register(registry);
    }
}
