package dev.keypool.server.alerts;

import dev.keypool.config.ConfigException;
import dev.keypool.providers.internal.Json;
import dev.keypool.server.logging.SecretScrubber;
import io.helidon.http.HeaderNames;
import io.helidon.webclient.api.HttpClientResponse;
import io.helidon.webclient.http1.Http1Client;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Posts alert messages to the webhook URLs, each attempt on a virtual thread of its own, so that
 * nobody waits for a receiver: not a request (alerts are never sent on a request's path), not the
 * check that made the message, not the other receivers.
 *
 * <p>A receiver that answers 2xx has the message. A network error, a timeout, 408, 429 or a 5xx
 * is tried again after {@link #BACKOFF} (1, 2, 4, 8, 16 and 32 s: a receiver restarting within
 * about a minute loses nothing); any other status means the receiver refuses the message, which
 * sending it again would not change. At most {@link #MAX_PENDING} messages wait at once; past
 * that a message is dropped with a warning rather than let a dead receiver grow the heap.
 *
 * <p>A webhook URL is a secret of its own (Slack's carries its token in the path): logs name only
 * its host.
 */
public final class WebhookDelivery {

    private static final Logger LOG = LoggerFactory.getLogger(WebhookDelivery.class);

    /** The waits before each retry. */
    public static final List<Duration> BACKOFF = List.of(Duration.ofSeconds(1), Duration.ofSeconds(2),
            Duration.ofSeconds(4), Duration.ofSeconds(8), Duration.ofSeconds(16), Duration.ofSeconds(32));

    /** Messages waiting for a receiver (in an attempt or between two) at most. */
    public static final int MAX_PENDING = 256;

    /** How long one attempt may take to connect, and then to be answered. */
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
    static final Duration READ_TIMEOUT = Duration.ofSeconds(10);

    /** How a message reaches a receiver: the status it answered, or an exception. */
    @FunctionalInterface
    public interface Transport {
        int post(URI target, byte[] json) throws IOException;
    }

    private final List<URI> targets;
    private final Transport transport;
    private final ScheduledExecutorService timer;
    private final List<Duration> backoff;
    private final AtomicInteger pending = new AtomicInteger();
    private final AtomicLong delivered = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();

    /**
     * @param timer where retries wait (the gateway's timer); attempts run on virtual threads
     */
    public WebhookDelivery(List<URI> targets, Transport transport, ScheduledExecutorService timer,
            List<Duration> backoff) {
        this.targets = List.copyOf(targets);
        this.transport = Objects.requireNonNull(transport, "transport");
        this.timer = Objects.requireNonNull(timer, "timer");
        this.backoff = List.copyOf(backoff);
    }

    /** Over Helidon's HTTP/1.1 client, with {@link #BACKOFF}. */
    public static WebhookDelivery overHttp(List<URI> targets, ScheduledExecutorService timer) {
        return overHttp(targets, timer, BACKOFF);
    }

    /** Over Helidon's HTTP/1.1 client, with the given waits before each retry. */
    public static WebhookDelivery overHttp(List<URI> targets, ScheduledExecutorService timer, List<Duration> backoff) {
        return new WebhookDelivery(targets, httpTransport(), timer, backoff);
    }

    /** Sends {@code payload} as JSON to every target. */
    public void send(Map<String, Object> payload) {
        byte[] json = SecretScrubber.scrub(Json.write(payload)).getBytes(StandardCharsets.UTF_8);
        for (URI target : targets) {
            if (pending.incrementAndGet() > MAX_PENDING) {
                pending.decrementAndGet();
                failed.incrementAndGet();
                LOG.warn("Dropped an alert for the webhook on {}: {} alerts are already waiting for their receivers",
                        target.getHost(), MAX_PENDING);
                continue;
            }
            Thread.ofVirtual().name("keypool-webhook").start(() -> attempt(target, json, 0));
        }
    }

    /** Messages a receiver took, counted per receiver. */
    public long delivered() {
        return delivered.get();
    }

    /** Messages given up on (refused, out of retries, or dropped), counted per receiver. */
    public long failed() {
        return failed.get();
    }

    private void attempt(URI target, byte[] json, int attempt) {
        String problem;
        try {
            int status = transport.post(target, json);
            if (status >= 200 && status < 300) {
                delivered.incrementAndGet();
                pending.decrementAndGet();
                return;
            }
            problem = "answered " + status;
            if (!(status == 408 || status == 429 || status >= 500)) {
                giveUp(target, problem + ", which sending again would not change");
                return;
            }
        } catch (IOException | RuntimeException e) {
            problem = "could not be reached (" + e.getClass().getSimpleName() + ")";
        }
        if (attempt >= backoff.size()) {
            giveUp(target, problem + " after " + (attempt + 1) + " attempts");
            return;
        }
        Duration wait = backoff.get(attempt);
        LOG.debug("The webhook on {} {}; trying again in {} ms", target.getHost(), problem, wait.toMillis());
        try {
            timer.schedule(() -> Thread.ofVirtual().name("keypool-webhook").start(() -> attempt(target, json, attempt + 1)),
                    wait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            giveUp(target, problem + " and the gateway is stopping");
        }
    }

    private void giveUp(URI target, String why) {
        pending.decrementAndGet();
        failed.incrementAndGet();
        LOG.warn("An alert did not reach the webhook on {}: it {}", target.getHost(), why);
    }

    private static Transport httpTransport() {
        Http1Client client = Http1Client.builder()
                .connectTimeout(CONNECT_TIMEOUT)
                .readTimeout(READ_TIMEOUT)
                .followRedirects(false)
                .build();
        return (target, json) -> {
            try (HttpClientResponse response = client.post(target.toString())
                    .header(HeaderNames.CONTENT_TYPE, "application/json")
                    .submit(json)) {
                return response.status().code();
            } catch (java.io.UncheckedIOException e) {
                throw e.getCause();
            }
        };
    }

    /**
     * {@code KEYPOOL_ALERT_WEBHOOK_URL}: one or more {@code http(s)://} URLs, comma-separated.
     *
     * @throws ConfigException naming the variable (never echoing a URL: it may hold a token)
     */
    public static List<URI> targets(String value) {
        List<URI> targets = new ArrayList<>();
        if (value == null) {
            return targets;
        }
        int position = 0;
        for (String item : value.split(",")) {
            if (item.isBlank()) {
                continue;
            }
            position++;
            URI uri;
            try {
                uri = new URI(item.trim());
            } catch (URISyntaxException e) {
                uri = null;
            }
            if (uri == null || !("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) || uri.getHost() == null) {
                throw new ConfigException("KEYPOOL_ALERT_WEBHOOK_URL", "URL " + position
                        + " is not an http:// or https:// URL with a host");
            }
            targets.add(uri);
        }
        return targets;
    }
}
