package dev.keypool.providers.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keypool.rotation.ProviderBudget;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RateLimitSnapshotTest {

    private static ResponseHeaders headers(String... pairs) {
        Map<String, List<String>> map = new java.util.LinkedHashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            map.put(pairs[i], List.of(pairs[i + 1]));
        }
        return ResponseHeaders.of(map);
    }

    @Test
    void fromOpenAi_readsAllSixHeaders() {
        RateLimitSnapshot snapshot = RateLimitSnapshot.fromOpenAi(headers(
                "x-ratelimit-limit-requests", "200", "x-ratelimit-limit-tokens", "40000",
                "x-ratelimit-remaining-requests", "198", "x-ratelimit-remaining-tokens", "39880",
                "x-ratelimit-reset-requests", "11m32.334s", "x-ratelimit-reset-tokens", "180ms")).orElseThrow();

        assertThat(snapshot).isEqualTo(new RateLimitSnapshot(40000, 39880, Duration.ofMillis(180),
                200, 198, Duration.ofMinutes(11).plusMillis(32_334)));
    }

    @Test
    void fromOpenAi_isEmptyWithoutHeaders_andTreatsNegativesAsUnknown() {
        assertThat(RateLimitSnapshot.fromOpenAi(headers("x-request-id", "req_1"))).isEmpty();
        // Azure sends -1 for "unknown".
        assertThat(RateLimitSnapshot.fromOpenAi(headers("x-ratelimit-remaining-tokens", "-1",
                "x-ratelimit-reset-tokens", "0"))).isEmpty();
    }

    @Test
    void toBudget_makesResetsAbsolute_andLeavesAKnownCountWithoutResetUnknown() {
        RateLimitSnapshot snapshot = new RateLimitSnapshot(30000, 120, Duration.ofMinutes(6), 60, 5, null);

        ProviderBudget budget = snapshot.toBudget(1_000_000);

        assertThat(budget.remainingTokens()).isEqualTo(120);
        assertThat(budget.tokensResetAtMillis()).isEqualTo(1_000_000 + 360_000);
        assertThat(budget.remainingRequests()).isEqualTo(-1);
    }
}
