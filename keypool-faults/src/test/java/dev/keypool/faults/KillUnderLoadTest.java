package dev.keypool.faults;

import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kill -9} of a gateway under load, on its data directory, at three moments: while the
 * first requests are still at the provider (their reservations held, nothing committed), right
 * after the minute's budget was spent (the last second's accounting not yet written), and once
 * the snapshot has certainly been written. The same data directory is started again under the
 * same load; the provider's log must show no key above its limit in any 60 s or in the day.
 */
class KillUnderLoadTest {

    @TempDir
    Path work;

    @Test
    void killMinus9_whileTheFirstRequestsAreAtTheProvider() {
        killAndRestart("1-kill-in-flight", "kill -9 while the first requests are at the provider", run -> {
            await().atMost(Duration.ofSeconds(20)).until(() -> run.arrivals() >= 3);
        });
    }

    @Test
    void killMinus9_rightAfterTheBudgetIsSpent() {
        killAndRestart("2-kill-spent", "kill -9 right after both keys' budgets are spent", run -> {
            await().atMost(Duration.ofSeconds(20)).until(() -> run.load.statuses().of("429") >= 1);
        });
    }

    @Test
    void killMinus9_aSecondAndAHalfAfterTheBudgetIsSpent() {
        killAndRestart("3-kill-written", "kill -9 1.5 s after the budgets are spent (snapshot written)", run -> {
            await().atMost(Duration.ofSeconds(20)).until(() -> run.load.statuses().of("429") >= 1);
            pause(Duration.ofMillis(1_500));
        });
    }

    private interface Moment {
        void await(Running run);
    }

    private record Running(FaultRun fault, Load load) {
        long arrivals() {
            return fault.arrivals();
        }
    }

    private void killAndRestart(String order, String fault, Moment moment) {
        try (FaultRun run = new FaultRun(work)) {
            Map<String, String> store = Map.of("KEYPOOL_DATA_DIR", run.directory("data").toString());
            GatewayProcess first = run.start("first", store);
            Load.Statuses seen = new Load.Statuses();
            try (Load load = Load.start(run::serving, 4, false)) {
                moment.await(new Running(run, load));
                first.kill();
                run.start("restarted", store);
                // The same load on the restarted gateway, for 60 more answers.
                load.awaitMore(60);
                seen.addAll(load.stop());
            }
            run.judge(order, fault, seen, "embedded store (`KEYPOOL_DATA_DIR`), one gateway restarted on it");
        }
    }

    static void pause(Duration duration) {
        try {
            Thread.sleep(duration);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
