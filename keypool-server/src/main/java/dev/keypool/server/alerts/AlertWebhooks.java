package dev.keypool.server.alerts;

import dev.keypool.server.status.StatusReport;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Alerts that reach someone: each time {@link #check()} runs (every {@link #CHECK_PERIOD} on the
 * gateway's timer), the alerts of the status report (the same ones the dashboard shows, made in
 * {@code StatusReporter} alone) are compared with those already sent, and what changed goes to
 * every {@code KEYPOOL_ALERT_WEBHOOK_URL} as one JSON POST: Slack-compatible {@code text} beside
 * the alert's own fields under {@code keypool}.
 *
 * <h2>What is sent</h2>
 * <ul>
 * <li><b>firing</b>, when an alert appears: a key above 80 % of a window or at its limit, a key
 * deactivated (with the reason), a provider with no usable key, a store that cannot keep its
 * promise. A key cooling down is not sent: the pool rides over a rate limit by itself, and a busy
 * pool cools keys every minute; its deactivation is.</li>
 * <li><b>resolved</b>, when a deactivated key is back, a provider has a usable key again, or the
 * store is healthy again. A usage alert ends without a message: the window moving on is no news.</li>
 * </ul>
 *
 * <h2>De-duplicated</h2>
 * An alert is one {@code (kind, provider, key)}. It is sent once while it holds, and again only
 * if its level rises (80 % → the limit) or after it has been gone for {@link #QUIET_PERIOD}: a
 * per-minute window that fills every minute is one message, not sixty an hour. The delivery itself
 * ({@link WebhookDelivery}) is retried with back-off on its own threads, so a slow or dead receiver
 * never holds up a check, and nothing here is on a request's path.
 *
 * <p>No full key is ever in a message: alerts name keys by index, masked key and fingerprint, and
 * the text passes the log's secret scrubber besides.
 */
public final class AlertWebhooks {

    /** How often the alerts are looked at. */
    public static final Duration CHECK_PERIOD = Duration.ofSeconds(5);

    /** How long an alert must have been gone before the same alert is sent again. */
    public static final Duration QUIET_PERIOD = Duration.ofMinutes(10);

    /** The kinds a webhook hears of; the others ({@code key_cooling_down}) stay on the dashboard. */
    static final Set<String> SENT = Set.of(StatusReport.Alert.KEY_DEACTIVATED, StatusReport.Alert.MINUTE_USAGE,
            StatusReport.Alert.DAY_USAGE, StatusReport.Alert.REQUEST_MINUTE_USAGE, StatusReport.Alert.REQUEST_DAY_USAGE,
            StatusReport.Alert.NO_USABLE_KEY, StatusReport.Alert.STORE_DEGRADED);

    /** The kinds whose end is news. */
    static final Set<String> RESOLVABLE = Set.of(StatusReport.Alert.KEY_DEACTIVATED,
            StatusReport.Alert.NO_USABLE_KEY, StatusReport.Alert.STORE_DEGRADED);

    private final Supplier<StatusReport> status;
    private final Consumer<Map<String, Object>> delivery;
    private final Clock clock;
    private final String instance;
    /** The alerts sent and still holding, by identity. */
    private final Map<Identity, StatusReport.Alert> open = new HashMap<>();
    /** When each alert that ended was last seen, for the quiet period. */
    private final Map<Identity, Long> ended = new HashMap<>();

    /**
     * @param delivery where the messages go ({@link WebhookDelivery#send}); called on the checking thread
     * @param instance what names this gateway in the messages ({@code host:port})
     */
    public AlertWebhooks(Supplier<StatusReport> status, Consumer<Map<String, Object>> delivery, Clock clock,
            String instance) {
        this.status = Objects.requireNonNull(status, "status");
        this.delivery = Objects.requireNonNull(delivery, "delivery");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.instance = instance;
    }

    /** Compares the alerts with those sent, and hands what changed to the delivery. */
    public synchronized void check() {
        long now = clock.millis();
        Map<Identity, StatusReport.Alert> current = new LinkedHashMap<>();
        for (StatusReport.Alert alert : status.get().alerts()) {
            if (alert.kind() != null && SENT.contains(alert.kind())) {
                current.putIfAbsent(Identity.of(alert), alert);
            }
        }
        current.forEach((identity, alert) -> {
            StatusReport.Alert before = open.get(identity);
            boolean fresh = before == null && !recentlyEnded(identity, now);
            boolean risen = before != null && rank(alert.level()) > rank(before.level());
            if (fresh || risen) {
                delivery.accept(payload("firing", alert, now));
            }
            if (before == null || risen) {
                open.put(identity, alert);
            }
            ended.remove(identity);
        });
        Set<Identity> gone = new HashSet<>(open.keySet());
        gone.removeAll(current.keySet());
        for (Identity identity : gone) {
            StatusReport.Alert alert = open.remove(identity);
            ended.put(identity, now);
            if (RESOLVABLE.contains(alert.kind())) {
                delivery.accept(payload("resolved", alert, now));
            }
        }
        ended.values().removeIf(at -> now - at >= QUIET_PERIOD.toMillis());
    }

    private boolean recentlyEnded(Identity identity, long now) {
        Long at = ended.get(identity);
        return at != null && now - at < QUIET_PERIOD.toMillis();
    }

    private static int rank(String level) {
        return "critical".equals(level) ? 2 : 1;
    }

    private Map<String, Object> payload(String state, StatusReport.Alert alert, long now) {
        String text = "resolved".equals(state) ? resolvedText(alert) : alert.message();
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("state", state);
        fields.put("kind", alert.kind());
        fields.put("level", "resolved".equals(state) ? "info" : alert.level());
        fields.put("provider", alert.provider());
        fields.put("key_index", alert.index());
        fields.put("key_id", alert.keyId());
        fields.put("message", text);
        fields.put("time", Instant.ofEpochMilli(now).toString());
        fields.put("instance", instance);
        String label = "resolved".equals(state) ? "RESOLVED" : alert.level().toUpperCase(Locale.ROOT);
        Map<String, Object> payload = new LinkedHashMap<>();
        payload.put("text", "[keypool" + (instance == null ? "" : " " + instance) + "] " + label + ": " + text);
        payload.put("keypool", fields);
        return payload;
    }

    private static String resolvedText(StatusReport.Alert alert) {
        return switch (alert.kind()) {
            case StatusReport.Alert.KEY_DEACTIVATED -> alert.provider() + " key " + alert.index()
                    + " is back in the pool";
            case StatusReport.Alert.NO_USABLE_KEY -> alert.provider() + " has a usable key again";
            case StatusReport.Alert.STORE_DEGRADED -> "The usage store keeps its promise again";
            default -> "No longer: " + alert.message();
        };
    }

    /** One alert as the webhook hears of it: its kind, its provider, its key. */
    private record Identity(String kind, String provider, String key) {

        static Identity of(StatusReport.Alert alert) {
            String key = alert.keyId() != null ? alert.keyId() : alert.index() == null ? null : "#" + alert.index();
            return new Identity(alert.kind(), alert.provider(), key);
        }
    }
}
