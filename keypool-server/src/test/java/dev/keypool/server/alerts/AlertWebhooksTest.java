package dev.keypool.server.alerts;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keypool.server.status.StatusReport;
import dev.keypool.testing.ManualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * What reaches a webhook as the alerts come and go: each alert once while it holds, again when it
 * rises or after a quiet period, its end when the end is news. Time is a manual clock.
 */
class AlertWebhooksTest {

    private static final String KEY_ID = "0123456789abcdef0123456789abcdef";

    private final ManualClock clock = ManualClock.atNoonish();
    private final List<StatusReport.Alert> alerts = new ArrayList<>();
    private final List<Map<String, Object>> sent = new ArrayList<>();
    private final AlertWebhooks webhooks = new AlertWebhooks(
            () -> new StatusReport(Map.of(), List.copyOf(alerts), false, "", clock.millis(), null), sent::add, clock,
            "127.0.0.1:8080");

    private static StatusReport.Alert deactivated() {
        return new StatusReport.Alert("critical", "openai", 1, "openai key 1 (sk-p…key1) is deactivated: invalid_key",
                StatusReport.Alert.KEY_DEACTIVATED, KEY_ID);
    }

    private static StatusReport.Alert minuteUsage(String level) {
        return new StatusReport.Alert(level, "openai", 1, "openai key 1 (sk-p…key1) is at 85.0% of its per-minute limit",
                StatusReport.Alert.MINUTE_USAGE, KEY_ID);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> fields(Map<String, Object> payload) {
        return (Map<String, Object>) payload.get("keypool");
    }

    @Test
    void requestWindowAlerts_areSentBesideTheTokenOnes_eachWithTheKindOfItsWindow() {
        alerts.add(minuteUsage("warning"));
        alerts.add(new StatusReport.Alert("critical", "openai", 1,
                "openai key 1 (sk-p…key1) has reached its per-minute request limit",
                StatusReport.Alert.REQUEST_MINUTE_USAGE, KEY_ID));
        alerts.add(new StatusReport.Alert("warning", "openai", 1,
                "openai key 1 (sk-p…key1) is at 90.0% of its per-day request limit",
                StatusReport.Alert.REQUEST_DAY_USAGE, KEY_ID));

        webhooks.check();
        webhooks.check();

        assertThat(sent).extracting(payload -> fields(payload).get("kind"))
                .containsExactly("minute_usage", "request_minute_usage", "request_day_usage");
        assertThat(sent.get(1).get("text")).isEqualTo("[keypool 127.0.0.1:8080] CRITICAL: openai key 1 (sk-p…key1)"
                + " has reached its per-minute request limit");
    }

    @Test
    void deactivatedKey_isSentOnceWhileItHolds_andItsReturnIsSent() {
        alerts.add(deactivated());
        webhooks.check();
        webhooks.check();

        assertThat(sent).hasSize(1);
        assertThat(sent.getFirst().get("text")).isEqualTo("[keypool 127.0.0.1:8080] CRITICAL: openai key 1 (sk-p…key1)"
                + " is deactivated: invalid_key");
        assertThat(fields(sent.getFirst())).containsEntry("state", "firing").containsEntry("kind", "key_deactivated")
                .containsEntry("provider", "openai").containsEntry("key_index", 1).containsEntry("key_id", KEY_ID)
                .containsEntry("level", "critical").containsEntry("time", clock.instant().toString());

        alerts.clear();
        webhooks.check();

        assertThat(sent).hasSize(2);
        assertThat(sent.get(1).get("text")).isEqualTo("[keypool 127.0.0.1:8080] RESOLVED: openai key 1 is back in the pool");
        assertThat(fields(sent.get(1))).containsEntry("state", "resolved").containsEntry("kind", "key_deactivated");
    }

    @Test
    void usageAlert_isSentAgainWhenItRises_notWhenItEnds_andNotAgainWithinTheQuietPeriod() {
        alerts.add(minuteUsage("warning"));
        webhooks.check();
        alerts.set(0, minuteUsage("critical"));
        webhooks.check();
        webhooks.check();

        assertThat(sent).extracting(payload -> fields(payload).get("level")).containsExactly("warning", "critical");

        alerts.clear();
        webhooks.check();
        clock.advance(Duration.ofMinutes(1));
        alerts.add(minuteUsage("warning"));
        webhooks.check();

        assertThat(sent).as("the window refilling a minute later is no news").hasSize(2);

        alerts.clear();
        webhooks.check();
        clock.advance(AlertWebhooks.QUIET_PERIOD);
        webhooks.check();
        alerts.add(minuteUsage("warning"));
        webhooks.check();

        assertThat(sent).hasSize(3);
        assertThat(fields(sent.get(2))).containsEntry("state", "firing").containsEntry("kind", "minute_usage");
    }

    @Test
    void coolingDown_staysOnTheDashboard() {
        alerts.add(new StatusReport.Alert("warning", "openai", 0, "openai key 0 (sk-p…key0) is cooling down for 20 s",
                StatusReport.Alert.KEY_COOLING_DOWN, KEY_ID));
        webhooks.check();

        assertThat(sent).isEmpty();
    }

    @Test
    void providerWithoutUsableKey_andStoreDegraded_areSentAndTheirEndsToo() {
        alerts.add(new StatusReport.Alert("critical", "gemini", null, "No usable gemini key: all 2 are cooling down or"
                + " deactivated", StatusReport.Alert.NO_USABLE_KEY, null));
        alerts.add(new StatusReport.Alert("critical", null, null, "Redis is unreachable", StatusReport.Alert.STORE_DEGRADED,
                null));
        webhooks.check();
        alerts.clear();
        webhooks.check();

        assertThat(sent).extracting(payload -> (String) payload.get("text")).containsExactly(
                "[keypool 127.0.0.1:8080] CRITICAL: No usable gemini key: all 2 are cooling down or deactivated",
                "[keypool 127.0.0.1:8080] CRITICAL: Redis is unreachable",
                "[keypool 127.0.0.1:8080] RESOLVED: gemini has a usable key again",
                "[keypool 127.0.0.1:8080] RESOLVED: The usage store keeps its promise again");
    }

    @Test
    void twoKeysDeactivated_areTwoAlerts() {
        alerts.add(deactivated());
        alerts.add(new StatusReport.Alert("critical", "openai", 2, "openai key 2 (sk-p…key2) is deactivated: quota",
                StatusReport.Alert.KEY_DEACTIVATED, "fedcba9876543210fedcba9876543210"));
        webhooks.check();

        assertThat(sent).hasSize(2);
    }
}
