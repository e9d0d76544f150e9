package dev.keypool.usage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keypool.config.WindowLimits;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class InMemoryUsageStoreTest extends UsageStoreContract {

    @Override
    protected UsageStore createStore() {
        return new InMemoryUsageStore();
    }

    @ParameterizedTest
    @ValueSource(longs = {0, -1000, 7, 70_000})
    void constructor_rejectsABucketWidthThatDoesNotDivideAMinute(long bucketMillis) {
        assertThatThrownBy(() -> new InMemoryUsageStore(bucketMillis))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("bucketMillis");
    }

    @Test
    void settle_tokensSettledByALaggingCallerCountAMinuteFromTheNewestMomentSeen() {
        // Given a caller whose clock is 30 s ahead settled tokens
        WindowLimits limits = WindowLimits.of(1_000, WindowLimits.UNLIMITED);
        spent(KEY, limits, 100, T0 + 30 * SECOND);

        // When a caller whose clock lags settles more
        spent(KEY, limits, 900, T0);

        // Then they are placed at the newest moment, so they count at least as long as the newest tokens
        assertThat(denied(KEY, limits, 1, T0 + 30 * SECOND + MINUTE - 1).reason())
                .isEqualTo(DenialReason.MINUTE_LIMIT);
    }

    @Test
    void usage_afterManyIdleMinutes_isZeroAndReservingStillWorks() {
        WindowLimits limits = WindowLimits.of(1_000, WindowLimits.UNLIMITED);
        spent(KEY, limits, 1_000, T0);

        long muchLater = T0 + 3 * 60 * MINUTE + 123;
        assertThat(usage(KEY, muchLater).minuteTokens()).isZero();
        spent(KEY, limits, 1_000, muchLater);
        assertThat(usage(KEY, muchLater).minuteTokens()).isEqualTo(1_000);
    }

    /** The same contract with tenth-of-a-second buckets: the sliding minute is then tighter. */
    @Nested
    class WithTenthOfASecondBuckets extends UsageStoreContract {

        @Override
        protected UsageStore createStore() {
            return new InMemoryUsageStore(100);
        }

        @Override
        protected long bucketMillis() {
            return 100;
        }
    }
}
