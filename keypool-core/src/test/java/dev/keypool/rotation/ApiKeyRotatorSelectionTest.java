package dev.keypool.rotation;

import static dev.keypool.rotation.Pool.openAi;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.keypool.config.KeyId;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.config.SelectionStrategy;
import dev.keypool.config.WindowLimits;
import dev.keypool.event.KeyEvent;
import dev.keypool.failure.Failure;
import dev.keypool.failure.FailureKind;
import dev.keypool.usage.DenialReason;
import dev.keypool.usage.KeyState;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;

class ApiKeyRotatorSelectionTest {

    private static final WindowLimits MINUTE_1000 = WindowLimits.of(1_000, WindowLimits.UNLIMITED);

    private static Pool pool(SelectionStrategy strategy, WindowLimits limits) {
        return new Pool(Pool.threeOpenAiKeys(limits).selectionStrategy(strategy).build());
    }

    private static NoAvailableKeyException exhausted(ThrowingCallable call) {
        NoAvailableKeyException refusal = catchThrowableOfType(NoAvailableKeyException.class, call);
        assertThat(refusal).as("no key is available").isNotNull();
        return refusal;
    }

    private static List<Integer> indexesOfAcquires(Pool pool, int count, long tokens) {
        List<Integer> indexes = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            Reservation reservation = pool.rotator.acquire(Provider.OPENAI, null, tokens);
            indexes.add(reservation.index());
            reservation.commit(tokens);
        }
        return indexes;
    }

    // ---- strategies ----------------------------------------------------------------------------------

    @Test
    void leastUsed_isTheDefault() {
        assertThat(KeypoolConfig.builder().build().selectionStrategy()).isEqualTo(SelectionStrategy.LEAST_USED);
    }

    @Test
    void leastUsed_picksTheKeyWithTheMostHeadroom() {
        Pool pool = pool(SelectionStrategy.LEAST_USED, MINUTE_1000);
        pool.use(openAi(0), 500);
        pool.use(openAi(1), 100);
        pool.use(openAi(2), 300);

        Reservation reservation = pool.rotator.acquire(Provider.OPENAI, null, 10);

        assertThat(reservation.keyId()).isEqualTo(openAi(1));
    }

    @Test
    void leastUsed_measuresHeadroomAsAShareOfEachKeysLimit() {
        Pool pool = new Pool(KeypoolConfig.builder()
                .addKey(Provider.OPENAI, Pool.KEY_1, null, WindowLimits.of(1_000, WindowLimits.UNLIMITED))
                .addKey(Provider.OPENAI, Pool.KEY_2, null, WindowLimits.of(10_000, WindowLimits.UNLIMITED))
                .build());
        pool.use(openAi(0), 500);   // half left
        pool.use(openAi(1), 4_000); // 60 % left, though more tokens used

        assertThat(pool.rotator.acquire(Provider.OPENAI, null, 10).keyId()).isEqualTo(openAi(1));
    }

    @Test
    void leastUsed_countsTheDayWindowToo() {
        Pool pool = new Pool(Pool.threeOpenAiKeys(WindowLimits.of(1_000, 10_000)).build());
        pool.use(openAi(0), 900);
        pool.clock.advance(Duration.ofMinutes(2));
        pool.use(openAi(0), 1_000);
        pool.clock.advance(Duration.ofMinutes(2));
        pool.use(openAi(0), 1_000);
        pool.clock.advance(Duration.ofMinutes(2));
        pool.use(openAi(0), 1_000);
        pool.clock.advance(Duration.ofMinutes(2));
        pool.use(openAi(0), 1_000);
        pool.clock.advance(Duration.ofMinutes(2)); // key 0: an empty minute, but its day 49 % spent
        pool.use(openAi(1), 400);                  // key 1: 40 % of its minute, 4 % of its day
        pool.use(openAi(2), 600);                  // key 2: 60 % of its minute

        assertThat(pool.rotator.acquire(Provider.OPENAI, null, 10).keyId()).isEqualTo(openAi(1));
    }

    @Test
    void leastUsed_withEqualHeadroom_keepsTheConfiguredOrder() {
        Pool pool = pool(SelectionStrategy.LEAST_USED, WindowLimits.NONE);

        assertThat(pool.rotator.acquire(Provider.OPENAI, null, 10).keyId()).isEqualTo(openAi(0));
    }

    @Test
    void roundRobin_cyclesThroughTheKeys() {
        Pool pool = pool(SelectionStrategy.ROUND_ROBIN, MINUTE_1000);

        assertThat(indexesOfAcquires(pool, 6, 10)).containsExactly(0, 1, 2, 0, 1, 2);
    }

    @Test
    void roundRobin_passesOverAKeyWithoutRoom() {
        Pool pool = pool(SelectionStrategy.ROUND_ROBIN, MINUTE_1000);
        pool.use(openAi(1), 1_000);

        assertThat(indexesOfAcquires(pool, 6, 10)).doesNotContain(1).contains(0, 2);
    }

    @Test
    void roundRobin_cyclesTheModelsKeys_whenModelLessKeysFollowThem() {
        // Given two keys for gpt-4o and two with no model
        Pool pool = new Pool(KeypoolConfig.builder()
                .addKey(Provider.OPENAI, Pool.KEY_1, "gpt-4o", WindowLimits.NONE)
                .addKey(Provider.OPENAI, Pool.KEY_2, "gpt-4o", WindowLimits.NONE)
                .addKey(Provider.OPENAI, Pool.KEY_3, null, WindowLimits.NONE)
                .addKey(Provider.OPENAI, "sk-proj-TEST.key4", null, WindowLimits.NONE)
                .selectionStrategy(SelectionStrategy.ROUND_ROBIN)
                .build());

        // When gpt-4o is asked for four times
        List<Integer> indexes = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            Reservation reservation = pool.rotator.acquire(Provider.OPENAI, "gpt-4o", 10);
            indexes.add(reservation.index());
            reservation.release();
        }

        // Then both gpt-4o keys take turns
        assertThat(indexes).containsExactly(0, 1, 0, 1);
    }

    @Test
    void fillFirst_fillsKeyZeroBeforeTheNext() {
        Pool pool = pool(SelectionStrategy.FILL_FIRST, MINUTE_1000);

        assertThat(indexesOfAcquires(pool, 4, 400)).containsExactly(0, 0, 1, 1);
    }

    @Test
    void fillFirst_returnsToKeyZeroOnceItsMinuteFrees() {
        Pool pool = pool(SelectionStrategy.FILL_FIRST, MINUTE_1000);
        indexesOfAcquires(pool, 3, 400);

        pool.clock.advance(Duration.ofSeconds(61));

        assertThat(pool.rotator.acquire(Provider.OPENAI, null, 400).index()).isZero();
    }

    // ---- headroom in both windows --------------------------------------------------------------------------

    @Test
    void acquire_skipsKeyWhoseDayWindowIsSpent() {
        Pool pool = pool(SelectionStrategy.FILL_FIRST, WindowLimits.of(1_000, 1_000));
        pool.use(openAi(0), 1_000);
        pool.clock.advance(Duration.ofMinutes(5)); // key 0's minute is empty again; its day is not

        assertThat(pool.rotator.acquire(Provider.OPENAI, null, 10).keyId()).isEqualTo(openAi(1));
    }

    @Test
    void acquire_skipsKeyWhoseMinuteIsSpent() {
        Pool pool = pool(SelectionStrategy.FILL_FIRST, WindowLimits.of(1_000, 100_000));
        pool.use(openAi(0), 950);

        assertThat(pool.rotator.acquire(Provider.OPENAI, null, 100).keyId()).isEqualTo(openAi(1));
    }

    @Test
    void acquire_reservesTheTokensInBothWindows() {
        Pool pool = pool(SelectionStrategy.FILL_FIRST, WindowLimits.of(1_000, 100_000));

        Reservation reservation = pool.rotator.acquire(Provider.OPENAI, null, 700);

        assertThat(reservation.tokens()).isEqualTo(700);
        KeyStatusSnapshot status = pool.manager.status(openAi(0));
        assertThat(status.minuteTokens()).isEqualTo(700);
        assertThat(status.dayTokens()).isEqualTo(700);
        assertThat(pool.manager.isAvailable(openAi(0), 301)).isFalse();
        assertThat(pool.manager.isAvailable(openAi(0), 300)).isTrue();
    }

    @Test
    void acquire_skipsCoolingAndDeactivatedKeys() {
        Pool pool = pool(SelectionStrategy.FILL_FIRST, WindowLimits.NONE);
        pool.rotator.acquire(Provider.OPENAI, null, 1).fail(Failure.of(FailureKind.RATE_LIMITED, "429"));
        pool.manager.deactivate(openAi(1), "leaked");

        assertThat(pool.rotator.acquire(Provider.OPENAI, null, 1).keyId()).isEqualTo(openAi(2));
    }

    @Test
    void acquire_neverChoosesAnExcludedKey() {
        Pool pool = pool(SelectionStrategy.FILL_FIRST, WindowLimits.NONE);

        Reservation reservation = pool.rotator.acquire(Provider.OPENAI, null, 1, Set.of(openAi(0), openAi(1)));

        assertThat(reservation.keyId()).isEqualTo(openAi(2));
    }

    @Test
    void acquire_withEveryKeyExcluded_saysAllFailed_andWhenTheFirstRestingKeyComesBack() {
        Pool pool = pool(SelectionStrategy.FILL_FIRST, WindowLimits.NONE);
        long start = pool.now();
        pool.rotator.acquire(Provider.OPENAI, null, 1)
                .fail(new Failure(FailureKind.RATE_LIMITED, Duration.ofSeconds(25), "429"));
        pool.rotator.acquire(Provider.OPENAI, null, 1).fail(Failure.of(FailureKind.INVALID_KEY, "401"));

        NoAvailableKeyException refusal = exhausted(() -> pool.rotator.acquire(Provider.OPENAI, null, 1,
                Set.of(openAi(0), openAi(1), openAi(2))));

        assertThat(refusal.reason()).isEqualTo(NoAvailableKeyException.Reason.ALL_KEYS_FAILED);
        assertThat(refusal.retryAtMillis()).isEqualTo(start + 25_000);
    }

    @Test
    void acquire_refusesNegativeTokens() {
        Pool pool = pool(SelectionStrategy.FILL_FIRST, WindowLimits.NONE);

        assertThatThrownBy(() -> pool.rotator.acquire(Provider.OPENAI, null, -1))
                .isInstanceOf(IllegalArgumentException.class);
    }

    // ---- models -------------------------------------------------------------------------------------------

    private static Pool modelPool() {
        return new Pool(KeypoolConfig.builder()
                .addKey(Provider.OPENAI, Pool.KEY_1, "gpt-4o", MINUTE_1000)
                .addKey(Provider.OPENAI, Pool.KEY_2, "gpt-4o-mini", MINUTE_1000)
                .addKey(Provider.OPENAI, Pool.KEY_3, null, MINUTE_1000)
                .build());
    }

    @Test
    void acquire_forAModel_prefersTheKeysConfiguredForIt() {
        Pool pool = modelPool();

        Reservation reservation = pool.rotator.acquire(Provider.OPENAI, "gpt-4o-mini", 10);

        assertThat(reservation.keyId()).isEqualTo(openAi(1));
        assertThat(reservation.model()).isEqualTo("gpt-4o-mini");
    }

    @Test
    void acquire_forAModel_matchesItsNameWhateverTheCase() {
        assertThat(modelPool().rotator.acquire(Provider.OPENAI, "GPT-4o-Mini", 10).keyId()).isEqualTo(openAi(1));
    }

    @Test
    void acquire_forAModel_fallsBackToKeysWithNoModel_neverToAnotherModelsKey() {
        Pool pool = modelPool();
        pool.use(openAi(1), 1_000);

        Reservation fallback = pool.rotator.acquire(Provider.OPENAI, "gpt-4o-mini", 10);
        pool.use(openAi(2), 990);
        NoAvailableKeyException none = exhausted(() -> pool.rotator.acquire(Provider.OPENAI, "gpt-4o-mini", 10));

        assertThat(fallback.keyId()).isEqualTo(openAi(2));
        assertThat(fallback.model()).as("the model asked for").isEqualTo("gpt-4o-mini");
        assertThat(none.reason()).isEqualTo(NoAvailableKeyException.Reason.NO_HEADROOM);
        assertThat(pool.manager.status(openAi(0)).minuteTokens()).as("gpt-4o's key untouched").isZero();
    }

    @Test
    void acquire_forAModelNoKeyIsConfiguredFor_takesAnyKey() {
        Pool pool = modelPool();
        pool.use(openAi(0), 800);
        pool.use(openAi(2), 500);

        Reservation reservation = pool.rotator.acquire(Provider.OPENAI, "gpt-4.1", 10);

        assertThat(reservation.keyId()).isEqualTo(openAi(1));
        assertThat(reservation.model()).isEqualTo("gpt-4.1");
    }

    @Test
    void acquire_withoutAModel_takesAnyKey_andUsesThatKeysModel() {
        Pool pool = modelPool();
        pool.use(openAi(1), 800);
        pool.use(openAi(2), 500);

        Reservation reservation = pool.rotator.acquire(Provider.OPENAI, null, 10);

        assertThat(reservation.keyId()).isEqualTo(openAi(0));
        assertThat(reservation.model()).isEqualTo("gpt-4o");
    }

    // ---- nothing available: why, and until when ------------------------------------------------------------

    @Test
    void acquire_forAProviderWithoutKeys_saysNoKeys() {
        Pool pool = pool(SelectionStrategy.LEAST_USED, WindowLimits.NONE);

        NoAvailableKeyException refusal = exhausted(() -> pool.rotator.acquire(Provider.GEMINI, null, 10));

        assertThat(refusal.reason()).isEqualTo(NoAvailableKeyException.Reason.NO_KEYS);
        assertThat(refusal.provider()).isEqualTo(Provider.GEMINI);
        assertThat(refusal.retryAt()).isNull();
        assertThat(refusal.retryAfter(pool.now())).isNull();
        assertThat(refusal).hasMessageContaining("GEMINI_API_KEYS");
    }

    @Test
    void acquire_whenEveryKeyCools_saysAllCoolingDown_andWhenTheFirstComesBack() {
        Pool pool = pool(SelectionStrategy.FILL_FIRST, WindowLimits.NONE);
        for (int seconds : new int[] {40, 20, 30}) {
            pool.rotator.acquire(Provider.OPENAI, null, 1)
                    .fail(new Failure(FailureKind.RATE_LIMITED, Duration.ofSeconds(seconds), "429"));
        }

        NoAvailableKeyException refusal = exhausted(() -> pool.rotator.acquire(Provider.OPENAI, null, 1));

        assertThat(refusal.reason()).isEqualTo(NoAvailableKeyException.Reason.ALL_COOLING_DOWN);
        assertThat(refusal.retryAtMillis()).isEqualTo(pool.now() + 20_000);
        assertThat(refusal.retryAfter(pool.now())).isEqualTo(Duration.ofSeconds(20));
        assertThat(refusal).hasMessageContaining("cooling down").hasMessageContaining("20 s");
    }

    @Test
    void acquire_whenEveryKeyIsDeactivatedUntilAReset_saysAllDeactivated_andNever() {
        Pool pool = pool(SelectionStrategy.FILL_FIRST, WindowLimits.NONE);
        for (int i = 0; i < 3; i++) {
            pool.manager.deactivate(openAi(i), "rotated out");
        }

        NoAvailableKeyException refusal = exhausted(() -> pool.rotator.acquire(Provider.OPENAI, null, 1));

        assertThat(refusal.reason()).isEqualTo(NoAvailableKeyException.Reason.ALL_DEACTIVATED);
        assertThat(refusal.retryAtMillis()).isEqualTo(KeyState.NEVER);
        assertThat(refusal.retryAt()).isNull();
    }

    @Test
    void acquire_whenNoKeyHasRoomThisMinute_saysNoHeadroom_andWhenTheOldestTokensExpire() {
        Pool pool = pool(SelectionStrategy.FILL_FIRST, MINUTE_1000);
        long start = pool.now();
        pool.use(openAi(1), 1_000);
        pool.clock.advance(Duration.ofSeconds(10));
        pool.use(openAi(0), 1_000);
        pool.use(openAi(2), 1_000);

        NoAvailableKeyException refusal = exhausted(() -> pool.rotator.acquire(Provider.OPENAI, null, 100));

        assertThat(refusal.reason()).isEqualTo(NoAvailableKeyException.Reason.NO_HEADROOM);
        assertThat(refusal.retryAtMillis()).isBetween(start + 60_000, start + 61_000);
    }

    @Test
    void acquire_whenEveryDayIsSpent_saysNoHeadroom_untilTheNextDay() {
        Pool pool = pool(SelectionStrategy.FILL_FIRST, WindowLimits.of(WindowLimits.UNLIMITED, 1_000));
        for (int i = 0; i < 3; i++) {
            pool.use(openAi(i), 1_000);
        }

        NoAvailableKeyException refusal = exhausted(() -> pool.rotator.acquire(Provider.OPENAI, null, 1));

        assertThat(refusal.reason()).isEqualTo(NoAvailableKeyException.Reason.NO_HEADROOM);
        assertThat(refusal.retryAt()).isEqualTo(Instant.parse("2026-01-16T00:00:00Z"));
    }

    @Test
    void acquire_largerThanEveryKeysLimit_saysRequestTooLarge_andNever() {
        Pool pool = pool(SelectionStrategy.FILL_FIRST, MINUTE_1000);

        NoAvailableKeyException refusal = exhausted(() -> pool.rotator.acquire(Provider.OPENAI, null, 1_001));

        assertThat(refusal.reason()).isEqualTo(NoAvailableKeyException.Reason.REQUEST_TOO_LARGE);
        assertThat(refusal.retryAt()).isNull();
    }

    @Test
    void acquire_whenKeysAreOutForDifferentReasons_retryAtIsTheSoonestOfThem() {
        Pool pool = pool(SelectionStrategy.FILL_FIRST, MINUTE_1000);
        long start = pool.now();
        pool.use(openAi(2), 1_000);                       // minute frees at ~start + 60 s
        pool.rotator.acquire(Provider.OPENAI, null, 1)   // key 0 cools for 30 s
                .fail(new Failure(FailureKind.RATE_LIMITED, Duration.ofSeconds(30), "429"));
        pool.manager.deactivate(openAi(1), "rotated out");

        NoAvailableKeyException refusal = exhausted(() -> pool.rotator.acquire(Provider.OPENAI, null, 100));

        assertThat(refusal.reason()).isEqualTo(NoAvailableKeyException.Reason.NO_HEADROOM);
        assertThat(refusal.retryAtMillis()).isEqualTo(start + 30_000);
    }

    @Test
    void acquire_whenKeysAreCoolingOrDeactivated_theExhaustedEventNamesAReasonThatHeld() {
        Pool pool = pool(SelectionStrategy.FILL_FIRST, WindowLimits.NONE);
        pool.rotator.acquire(Provider.OPENAI, null, 1).fail(Failure.of(FailureKind.RATE_LIMITED, "429"));
        pool.rotator.acquire(Provider.OPENAI, null, 1).fail(Failure.of(FailureKind.SERVER_ERROR, "503"));
        pool.manager.deactivate(openAi(2), "rotated out");

        exhausted(() -> pool.rotator.acquire(Provider.OPENAI, null, 1));

        KeyEvent.PoolExhausted event = pool.events(KeyEvent.PoolExhausted.class).getLast();
        assertThat(event.reason()).isIn(DenialReason.COOLING_DOWN, DenialReason.DEACTIVATED);
    }

    // ---- provider budgets ---------------------------------------------------------------------------------

    @Test
    void acquire_skipsAKeyWhoseProviderBudgetCannotCoverTheRequest_untilItsReset() {
        Pool pool = pool(SelectionStrategy.FILL_FIRST, WindowLimits.NONE);
        long reset = pool.now() + 30_000;
        pool.manager.observeBudget(openAi(0), new ProviderBudget(100, reset, -1, 0));

        KeyId big = pool.rotator.acquire(Provider.OPENAI, null, 500).keyId();
        KeyId small = pool.rotator.acquire(Provider.OPENAI, null, 100).keyId();
        pool.clock.set(Instant.ofEpochMilli(reset));
        KeyId afterReset = pool.rotator.acquire(Provider.OPENAI, null, 500).keyId();

        assertThat(big).isEqualTo(openAi(1));
        assertThat(small).isEqualTo(openAi(0));
        assertThat(afterReset).isEqualTo(openAi(0));
    }

    @Test
    void acquire_usesAKeyAgainOnceTheProvidersContinuousRefillCoversTheRequest_beforeTheFullReset() {
        // Given OpenAI said: 100 of 1000 tokens left, full again in 60 s
        Pool pool = pool(SelectionStrategy.FILL_FIRST, WindowLimits.NONE);
        long now = pool.now();
        pool.manager.observeBudget(openAi(0), new ProviderBudget(100, now + 60_000, -1, 0, 1_000, now));

        // Then 550 tokens (450 more) fit once half the refill is done: after 30 s, not before
        KeyId early = pool.rotator.acquire(Provider.OPENAI, null, 550).keyId();
        pool.clock.set(Instant.ofEpochMilli(now + 30_000));
        KeyId refilled = pool.rotator.acquire(Provider.OPENAI, null, 550).keyId();
        KeyId tooBigStill = pool.rotator.acquire(Provider.OPENAI, null, 1_001).keyId();

        assertThat(early).isEqualTo(openAi(1));
        assertThat(refilled).isEqualTo(openAi(0));
        assertThat(tooBigStill).as("more than the provider's whole budget waits for the full reset")
                .isEqualTo(openAi(1));
    }

    @Test
    void acquire_skipsAKeyWithNoRequestsLeft_untilTheRequestReset() {
        Pool pool = pool(SelectionStrategy.FILL_FIRST, WindowLimits.NONE);
        long reset = pool.now() + 5_000;
        pool.manager.observeBudget(openAi(0), new ProviderBudget(-1, 0, 0, reset));

        assertThat(pool.rotator.acquire(Provider.OPENAI, null, 1).keyId()).isEqualTo(openAi(1));
        assertThat(pool.manager.isAvailable(openAi(0), 1)).isFalse();
        pool.clock.advance(Duration.ofSeconds(5));
        assertThat(pool.rotator.acquire(Provider.OPENAI, null, 1).keyId()).isEqualTo(openAi(0));
    }

    @Test
    void acquire_whenOnlyProviderBudgetsBlock_retryAtIsTheSoonestReset() {
        Pool pool = new Pool(KeypoolConfig.builder().addKey(Provider.OPENAI, Pool.KEY_1).build());
        long reset = pool.now() + 12_000;
        pool.manager.observeBudget(openAi(0), new ProviderBudget(10, reset, -1, 0));

        NoAvailableKeyException refusal = exhausted(() -> pool.rotator.acquire(Provider.OPENAI, null, 500));

        assertThat(refusal.reason()).isEqualTo(NoAvailableKeyException.Reason.NO_HEADROOM);
        assertThat(refusal.retryAtMillis()).isEqualTo(reset);
    }

    @Test
    void activate_forgetsTheProviderBudget() {
        Pool pool = new Pool(KeypoolConfig.builder().addKey(Provider.OPENAI, Pool.KEY_1).build());
        pool.manager.observeBudget(openAi(0), new ProviderBudget(10, pool.now() + 60_000, -1, 0));

        pool.manager.activate(openAi(0));

        assertThat(pool.rotator.acquire(Provider.OPENAI, null, 500).keyId()).isEqualTo(openAi(0));
    }

    // ---- the seed's entry points ----------------------------------------------------------------------------

    @Test
    void getKeyForProvider_reservesTheTokensOnAKeyOfThatProvider() {
        Pool pool = new Pool(KeypoolConfig.builder()
                .addKey(Provider.SERP, "serp-key1")
                .addKey(Provider.OPENAI, Pool.KEY_1)
                .build());

        Reservation openAiKey = pool.rotator.getKeyForProvider("openai", 2_000);
        Reservation serpKey = pool.rotator.getKeyForProvider("SerpApi", 1);

        assertThat(openAiKey.apiKey()).isEqualTo(Pool.KEY_1);
        assertThat(openAiKey.tokens()).isEqualTo(2_000);
        assertThat(serpKey.provider()).isEqualTo(Provider.SERP);
        assertThat(serpKey.apiKey()).isEqualTo("serp-key1");
    }

    @Test
    void getKeyForProvider_refusesAnUnknownProvider() {
        Pool pool = pool(SelectionStrategy.LEAST_USED, WindowLimits.NONE);

        assertThatThrownBy(() -> pool.rotator.getKeyForProvider("anthropic", 10))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("anthropic");
    }

    @Test
    void getApiKeyRotator_returnsTheInstalledProcessWideRotator() {
        Pool pool = pool(SelectionStrategy.LEAST_USED, WindowLimits.NONE);
        ApiKeyRotator.setApiKeyRotator(pool.rotator);
        try {
            assertThat(ApiKeyRotator.getApiKeyRotator()).isSameAs(pool.rotator);
            assertThat(ApiKeyRotator.getApiKeyRotator()).isSameAs(ApiKeyRotator.getApiKeyRotator());
        } finally {
            ApiKeyRotator.setApiKeyRotator(null);
        }
    }
}
