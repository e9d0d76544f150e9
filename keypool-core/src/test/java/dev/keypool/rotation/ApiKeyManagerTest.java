package dev.keypool.rotation;

import static dev.keypool.rotation.Pool.openAi;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keypool.config.KeyConfig;
import dev.keypool.config.KeyId;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.config.SelectionStrategy;
import dev.keypool.config.WindowLimits;
import dev.keypool.event.KeyEvent;
import dev.keypool.failure.Failure;
import dev.keypool.failure.FailureKind;
import dev.keypool.usage.KeyState;
import dev.keypool.usage.KeyStatus;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ApiKeyManagerTest {

    private static final Duration RATE_LIMIT_COOLDOWN = Duration.ofSeconds(45);
    private static final Duration SERVER_ERROR_COOLDOWN = Duration.ofSeconds(7);

    private final Pool pool = new Pool(Pool.threeOpenAiKeys(WindowLimits.of(90_000, 2_000_000))
            .addKey(Provider.GEMINI, "AIza-key1")
            .selectionStrategy(SelectionStrategy.FILL_FIRST)
            .rateLimitCooldown(RATE_LIMIT_COOLDOWN)
            .serverErrorCooldown(SERVER_ERROR_COOLDOWN)
            .reservationTimeout(Duration.ofSeconds(30))
            .dayZone(ZoneId.of("Asia/Tokyo"))
            .build());

    private KeyConfig key(int index) {
        return pool.manager.key(openAi(index));
    }

    private void fail(int index, Failure failure) {
        pool.manager.recordFailure(key(index), failure, failure.kind().failsOver());
    }

    private KeyStatusSnapshot status(int index) {
        return pool.manager.status(openAi(index));
    }

    // ---- reactions to failures ------------------------------------------------------------------------

    @Test
    void rateLimit_coolsTheKeyUntilTheProvidersRetryAfter() {
        long now = pool.now();

        fail(0, new Failure(FailureKind.RATE_LIMITED, Duration.ofSeconds(20), "429 slow down"));

        KeyStatusSnapshot status = status(0);
        assertThat(status.status()).isEqualTo(KeyStatus.COOLING_DOWN);
        assertThat(status.failureKind()).isEqualTo(FailureKind.RATE_LIMITED);
        assertThat(status.reason()).isEqualTo("429 slow down");
        assertThat(status.availableAtMillis()).isEqualTo(now + 20_000);
        assertThat(pool.manager.isAvailable(openAi(0), 1)).isFalse();
    }

    @Test
    void rateLimit_withoutARetryAfter_coolsForTheDefault() {
        long now = pool.now();

        fail(0, Failure.of(FailureKind.RATE_LIMITED, "429"));

        assertThat(status(0).availableAtMillis()).isEqualTo(now + RATE_LIMIT_COOLDOWN.toMillis());
    }

    @Test
    void rateLimitedKey_comesBackByItselfOnceTheClockPasses_throughAProbeWhoseSuccessSaysSo() {
        fail(0, new Failure(FailureKind.RATE_LIMITED, Duration.ofSeconds(20), "429"));

        pool.clock.advance(Duration.ofSeconds(19));
        pool.manager.maintain();
        assertThat(status(0).status()).isEqualTo(KeyStatus.COOLING_DOWN);

        pool.clock.advance(Duration.ofSeconds(1));
        assertThat(status(0).status()).as("due back").isEqualTo(KeyStatus.ACTIVE);
        pool.manager.maintain();
        assertThat(pool.events(KeyEvent.KeyReactivated.class)).as("not before a request proves it").isEmpty();
        Reservation probe = pool.rotator.acquire(Provider.OPENAI, null, 1);
        assertThat(probe.keyId()).isEqualTo(openAi(0));
        assertThat(probe.isProbe()).isTrue();
        probe.commit(1);

        assertThat(pool.manager.store().state(openAi(0))).isEqualTo(KeyState.ACTIVE);
        assertThat(pool.events(KeyEvent.KeyReactivated.class)).singleElement()
                .satisfies(event -> {
                    assertThat(event.key()).isEqualTo(openAi(0));
                    assertThat(event.byAdmin()).isFalse();
                });
    }

    @Test
    void serverError_coolsBriefly() {
        long now = pool.now();

        fail(0, Failure.of(FailureKind.SERVER_ERROR, "503"));
        fail(1, Failure.of(FailureKind.UNREACHABLE, "Connection refused"));
        fail(2, new Failure(FailureKind.SERVER_ERROR, Duration.ofSeconds(2), "503 retry in 2s"));

        assertThat(status(0).availableAtMillis()).isEqualTo(now + SERVER_ERROR_COOLDOWN.toMillis());
        assertThat(status(1).status()).isEqualTo(KeyStatus.COOLING_DOWN);
        assertThat(status(1).availableAtMillis()).isEqualTo(now + SERVER_ERROR_COOLDOWN.toMillis());
        assertThat(status(2).availableAtMillis()).isEqualTo(now + 2_000);
    }

    @Test
    void quotaExhausted_deactivatesUntilTheNextDayStartsInTheConfiguredZone() {
        // 10:00 UTC is 19:00 in Tokyo: the next Tokyo day starts at 15:00 UTC
        long tokyoMidnight = Instant.parse("2026-01-15T15:00:00Z").toEpochMilli();

        fail(0, Failure.of(FailureKind.QUOTA_EXHAUSTED, "insufficient_quota"));

        KeyStatusSnapshot status = status(0);
        assertThat(status.status()).isEqualTo(KeyStatus.DEACTIVATED);
        assertThat(status.availableAtMillis()).isEqualTo(tokyoMidnight);
        assertThat(status.reason()).contains("quota");
    }

    @Test
    void quotaExhaustedKey_isBackWhenItsDayResets_andActiveOnceItsProbeSucceeds() {
        fail(0, Failure.of(FailureKind.QUOTA_EXHAUSTED, "insufficient_quota"));

        pool.clock.set(Instant.parse("2026-01-15T14:59:59Z"));
        pool.manager.maintain();
        assertThat(status(0).status()).isEqualTo(KeyStatus.DEACTIVATED);

        pool.clock.set(Instant.parse("2026-01-15T15:00:00Z"));
        assertThat(status(0).status()).isEqualTo(KeyStatus.ACTIVE);
        Reservation probe = pool.rotator.acquire(Provider.OPENAI, null, 1);
        assertThat(probe.keyId()).isEqualTo(openAi(0));
        probe.commit(1);
        assertThat(pool.manager.store().state(openAi(0))).isEqualTo(KeyState.ACTIVE);
    }

    @Test
    void invalidKey_staysDeactivatedUntilAnAdminReset() {
        fail(0, Failure.of(FailureKind.INVALID_KEY, "Incorrect API key provided"));

        pool.clock.advance(Duration.ofDays(30));
        pool.manager.maintain();

        KeyStatusSnapshot status = status(0);
        assertThat(status.status()).isEqualTo(KeyStatus.DEACTIVATED);
        assertThat(status.availableAtMillis()).as("never by itself").isNull();
        assertThat(status.reason()).contains("invalid key");

        assertThat(pool.manager.activate(openAi(0))).isTrue();
        assertThat(status(0).status()).isEqualTo(KeyStatus.ACTIVE);
    }

    @Test
    void clientError_leavesTheKeyUntouched() {
        fail(0, Failure.of(FailureKind.CLIENT_ERROR, "400 Bad Request"));

        assertThat(pool.manager.store().state(openAi(0))).isEqualTo(KeyState.ACTIVE);
        assertThat(pool.events(KeyEvent.KeyCooledDown.class)).isEmpty();
        assertThat(pool.events(KeyEvent.KeyDeactivated.class)).isEmpty();
        assertThat(pool.events(KeyEvent.KeyFailed.class)).singleElement()
                .satisfies(event -> assertThat(event.failover()).isFalse());
    }

    @Test
    void failureMessage_isScrubbedOfTheKeyBeforeItIsKept() {
        fail(0, Failure.of(FailureKind.INVALID_KEY, "Incorrect API key provided: " + Pool.KEY_1));

        assertThat(status(0).reason()).doesNotContain(Pool.KEY_1).contains("sk-p\u2026key1");
        assertThat(pool.events(KeyEvent.KeyFailed.class).getFirst().message()).doesNotContain(Pool.KEY_1);
    }

    // ---- a weaker state never replaces a stronger one -----------------------------------------------------

    @Test
    void rateLimit_afterAnInvalidKey_leavesItDeactivated() {
        fail(0, Failure.of(FailureKind.INVALID_KEY, "401"));

        fail(0, new Failure(FailureKind.RATE_LIMITED, Duration.ofSeconds(5), "429"));

        assertThat(status(0).status()).isEqualTo(KeyStatus.DEACTIVATED);
        assertThat(status(0).failureKind()).isEqualTo(FailureKind.INVALID_KEY);
        assertThat(pool.events(KeyEvent.KeyCooledDown.class)).isEmpty();
    }

    @Test
    void quota_afterAnAdminDeactivation_leavesItDeactivatedUntilAReset() {
        pool.manager.deactivate(openAi(0), "leaked");

        fail(0, Failure.of(FailureKind.QUOTA_EXHAUSTED, "insufficient_quota"));

        assertThat(status(0).reason()).isEqualTo("leaked");
        assertThat(status(0).availableAtMillis()).isNull();
    }

    @Test
    void shortServerErrorCooldown_afterALongRateLimit_keepsTheLongOne() {
        long now = pool.now();
        fail(0, new Failure(FailureKind.RATE_LIMITED, Duration.ofMinutes(10), "429"));

        fail(0, Failure.of(FailureKind.SERVER_ERROR, "503"));

        assertThat(status(0).availableAtMillis()).isEqualTo(now + 600_000);
        assertThat(status(0).failureKind()).isEqualTo(FailureKind.RATE_LIMITED);
    }

    @Test
    void quota_afterACooldown_deactivates() {
        fail(0, Failure.of(FailureKind.RATE_LIMITED, "429"));

        fail(0, Failure.of(FailureKind.QUOTA_EXHAUSTED, "quota exceeded"));

        assertThat(status(0).status()).isEqualTo(KeyStatus.DEACTIVATED);
    }

    @Test
    void invalidKey_afterQuotaExhausted_deactivatesUntilAReset() {
        fail(0, Failure.of(FailureKind.QUOTA_EXHAUSTED, "quota exceeded"));

        fail(0, Failure.of(FailureKind.INVALID_KEY, "API key not valid"));

        assertThat(status(0).failureKind()).isEqualTo(FailureKind.INVALID_KEY);
        assertThat(status(0).availableAtMillis()).isNull();
    }

    @Test
    void aRestThatIsOver_isReplacedByANewOne() {
        fail(0, new Failure(FailureKind.RATE_LIMITED, Duration.ofSeconds(10), "429"));
        pool.clock.advance(Duration.ofSeconds(11));
        long now = pool.now();

        fail(0, new Failure(FailureKind.SERVER_ERROR, Duration.ofSeconds(3), "503"));

        assertThat(status(0).availableAtMillis()).isEqualTo(now + 3_000);
    }

    // ---- admin operations -------------------------------------------------------------------------------

    @Test
    void deactivate_takesTheKeyOutUntilAnAdminResets() {
        pool.manager.deactivate(openAi(0), "leaked on a forum");

        KeyStatusSnapshot status = status(0);
        assertThat(status.status()).isEqualTo(KeyStatus.DEACTIVATED);
        assertThat(status.reason()).isEqualTo("leaked on a forum");
        assertThat(status.failureKind()).isNull();
        assertThat(status.availableAtMillis()).isNull();
        assertThat(pool.rotator.acquire(Provider.OPENAI, null, 1).keyId()).isEqualTo(openAi(1));
    }

    @Test
    void deactivate_withoutAReason_saysAnAdminDidIt() {
        pool.manager.deactivate(openAi(0), " ");

        assertThat(status(0).reason()).isEqualTo("deactivated by an admin");
    }

    @Test
    void activate_bringsADeactivatedKeyBack_andSaysItChangedSomething() {
        pool.manager.deactivate(openAi(0), null);

        boolean changed = pool.manager.activate(openAi(0));

        assertThat(changed).isTrue();
        assertThat(status(0).status()).isEqualTo(KeyStatus.ACTIVE);
        assertThat(pool.events(KeyEvent.KeyReactivated.class)).singleElement()
                .satisfies(event -> assertThat(event.byAdmin()).isTrue());
    }

    @Test
    void activate_anActiveKey_changesNothing() {
        assertThat(pool.manager.activate(openAi(0))).isFalse();
        assertThat(pool.events(KeyEvent.KeyReactivated.class)).isEmpty();
    }

    @Test
    void reset_reactivatesTheProvidersCoolingAndDeactivatedKeys_only() {
        fail(0, Failure.of(FailureKind.RATE_LIMITED, "429"));
        fail(2, Failure.of(FailureKind.INVALID_KEY, "401"));
        pool.manager.deactivate(KeyId.of(Provider.GEMINI, 0), "paused");

        assertThat(pool.manager.reset(Provider.OPENAI)).containsExactly(openAi(0), openAi(2));

        assertThat(pool.manager.providerStatus(Provider.OPENAI).activeKeys()).isEqualTo(3);
        assertThat(pool.manager.status(KeyId.of(Provider.GEMINI, 0)).status()).isEqualTo(KeyStatus.DEACTIVATED);
        assertThat(pool.manager.reset(Provider.OPENAI)).isEmpty();
    }

    @Test
    void resetAll_reactivatesEveryRestingKeyOfEveryProvider() {
        fail(1, Failure.of(FailureKind.QUOTA_EXHAUSTED, "quota exceeded"));
        pool.manager.deactivate(KeyId.of(Provider.GEMINI, 0), "paused");

        assertThat(pool.manager.resetAll()).containsExactly(openAi(1), KeyId.of(Provider.GEMINI, 0));

        assertThat(pool.rotator.getProviderStatus().values())
                .allSatisfy(provider -> assertThat(provider.activeKeys()).isEqualTo(provider.totalKeys()));
    }

    @Test
    void key_ofAnUnconfiguredIndex_isRefused() {
        assertThatThrownBy(() -> pool.manager.key(openAi(7)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("openai#7").hasMessageContaining("3 openai keys");
        assertThatThrownBy(() -> pool.manager.deactivate(KeyId.of(Provider.SERP, 0), "x"))
                .isInstanceOf(IllegalArgumentException.class);
    }

    // ---- reservations -----------------------------------------------------------------------------------

    @Test
    void commit_refundsWhatWasReservedButNotUsed() {
        Reservation reservation = pool.rotator.acquire(Provider.OPENAI, null, 5_000);

        reservation.commit(TokenUsage.of(1_200, 300));

        assertThat(status(0).minuteTokens()).isEqualTo(1_500);
        assertThat(status(0).dayTokens()).isEqualTo(1_500);
        assertThat(reservation.isSettled()).isTrue();
    }

    @Test
    void commit_chargesWhatWasUsedBeyondTheReservation() {
        pool.rotator.acquire(Provider.OPENAI, null, 1_000).commit(1_800);

        assertThat(status(0).minuteTokens()).isEqualTo(1_800);
    }

    @Test
    void release_givesEverythingBack() {
        pool.rotator.acquire(Provider.OPENAI, null, 5_000).release();

        assertThat(status(0).minuteTokens()).isZero();
        assertThat(pool.manager.store().pendingCount()).isZero();
    }

    @Test
    void aReservationSettlesOnce() {
        Reservation reservation = pool.rotator.acquire(Provider.OPENAI, null, 5_000);

        reservation.commit(1_000);
        reservation.commit(4_000);
        reservation.release();
        reservation.close();

        assertThat(status(0).minuteTokens()).isEqualTo(1_000);
        assertThat(pool.events(KeyEvent.UsageCommitted.class)).hasSize(1);
        assertThat(pool.events(KeyEvent.ReservationReleased.class)).isEmpty();
    }

    @Test
    void close_releasesAnUnsettledReservation() {
        try (Reservation reservation = pool.rotator.acquire(Provider.OPENAI, null, 5_000)) {
            assertThat(reservation.tokens()).isEqualTo(5_000);
        }

        assertThat(status(0).minuteTokens()).isZero();
    }

    @Test
    void fail_releasesTheTokensAndAppliesTheReaction() {
        Reservation reservation = pool.rotator.acquire(Provider.OPENAI, null, 5_000);

        Failure failure = reservation.fail(new RuntimeException("429 Too Many Requests"));

        assertThat(failure.kind()).isEqualTo(FailureKind.RATE_LIMITED);
        assertThat(status(0).minuteTokens()).isZero();
        assertThat(status(0).status()).isEqualTo(KeyStatus.COOLING_DOWN);
    }

    @Test
    void maintain_endsAReservationNobodySettledInTime_andKeepsItsTokensCharged() {
        Reservation reservation = pool.rotator.acquire(Provider.OPENAI, null, 5_000);

        pool.clock.advance(Duration.ofSeconds(29));
        pool.manager.maintain();
        assertThat(pool.manager.store().pendingCount()).isEqualTo(1);

        pool.clock.advance(Duration.ofSeconds(1));
        pool.manager.maintain();

        assertThat(pool.manager.store().pendingCount()).isZero();
        assertThat(status(0).minuteTokens()).isEqualTo(5_000);
        assertThat(status(0).dayTokens()).isEqualTo(5_000);
        assertThat(pool.events(KeyEvent.ReservationReleased.class)).singleElement().satisfies(event -> {
            assertThat(event.expired()).isTrue();
            assertThat(event.tokens()).isEqualTo(5_000);
            assertThat(event.key()).isEqualTo(reservation.keyId());
        });
    }

    @Test
    void commit_afterTheReservationExpired_addsOnlyWhatWentBeyondTheChargedReservation() {
        Reservation small = pool.rotator.acquire(Provider.OPENAI, null, 5_000);
        pool.clock.advance(Duration.ofSeconds(30));
        pool.manager.maintain();

        small.commit(1_200);
        assertThat(status(0).dayTokens()).as("5 000 charged at expiry, never refunded").isEqualTo(5_000);

        Reservation large = pool.rotator.acquire(Provider.OPENAI, null, 1_000);
        pool.clock.advance(Duration.ofSeconds(30));
        pool.manager.maintain();
        large.commit(1_500);
        assertThat(status(0).dayTokens()).isEqualTo(5_000 + 1_500);
    }

    @Test
    void reservation_toStringShowsTheMaskedKeyOnly() {
        Reservation reservation = pool.rotator.acquire(Provider.OPENAI, "gpt-4o", 500);

        assertThat(reservation.toString()).contains("openai#0", "sk-p\u2026key1", "500", "gpt-4o")
                .doesNotContain(Pool.KEY_1);
        assertThat(reservation.maskedKey()).isEqualTo("sk-p\u2026key1");
        assertThat(reservation.apiKey()).isEqualTo(Pool.KEY_1);
    }

    // ---- status -------------------------------------------------------------------------------------------

    @Test
    void providerStatus_showsEveryKeyWithUsageLimitsAndPercentages() {
        pool.use(openAi(0), 45_000);
        pool.use(openAi(1), 30_000);
        fail(2, new Failure(FailureKind.RATE_LIMITED, Duration.ofSeconds(20), "429"));

        ProviderStatus status = pool.manager.providerStatus(Provider.OPENAI);

        assertThat(status.provider()).isEqualTo(Provider.OPENAI);
        assertThat(status.totalKeys()).isEqualTo(3);
        assertThat(status.activeKeys()).isEqualTo(2);
        KeyStatusSnapshot first = status.keys().get(0);
        assertThat(first.index()).isZero();
        assertThat(first.maskedKey()).isEqualTo("sk-p\u2026key1");
        assertThat(first.model()).isNull();
        assertThat(first.status()).isEqualTo(KeyStatus.ACTIVE);
        assertThat(first.failureKind()).isNull();
        assertThat(first.reason()).isNull();
        assertThat(first.availableAtMillis()).isNull();
        assertThat(first.minuteTokens()).isEqualTo(45_000);
        assertThat(first.minuteLimit()).isEqualTo(90_000);
        assertThat(first.minuteUsagePercent()).isEqualTo(50.0);
        assertThat(first.dayTokens()).isEqualTo(45_000);
        assertThat(first.dayLimit()).isEqualTo(2_000_000);
        assertThat(first.dayUsagePercent()).isEqualTo(2.25);
        assertThat(status.keys().get(1).minuteUsagePercent()).isEqualTo(33.33);
        assertThat(status.keys().get(2).status()).isEqualTo(KeyStatus.COOLING_DOWN);
    }

    @Test
    void providerStatus_ofAnUnlimitedWindow_hasNoLimitAndNoPercent() {
        pool.use(KeyId.of(Provider.GEMINI, 0), 1_234);

        KeyStatusSnapshot gemini = pool.manager.providerStatus(Provider.GEMINI).keys().getFirst();

        assertThat(gemini.minuteTokens()).isEqualTo(1_234);
        assertThat(gemini.minuteLimit()).isNull();
        assertThat(gemini.minuteUsagePercent()).isNull();
        assertThat(gemini.dayLimit()).isNull();
        assertThat(gemini.dayUsagePercent()).isNull();
    }

    @Test
    void providerStatus_countsTheSlidingMinuteAndTheDaySeparately() {
        pool.use(openAi(0), 9_000);

        pool.clock.advance(Duration.ofSeconds(62));

        KeyStatusSnapshot status = status(0);
        assertThat(status.minuteTokens()).isZero();
        assertThat(status.minuteUsagePercent()).isZero();
        assertThat(status.dayTokens()).isEqualTo(9_000);
    }

    @Test
    void getProviderStatus_coversEveryProviderThatUsesKeys_inOrder() {
        Map<Provider, ProviderStatus> status = pool.rotator.getProviderStatus();

        assertThat(status.keySet()).containsExactly(Provider.OPENAI, Provider.GEMINI, Provider.SERP);
        assertThat(status.get(Provider.OPENAI).totalKeys()).isEqualTo(3);
        assertThat(status.get(Provider.GEMINI).totalKeys()).isEqualTo(1);
        assertThat(status.get(Provider.SERP).keys()).isEmpty();
    }

    @Test
    void keys_areListedPerProviderInIndexOrder() {
        assertThat(pool.manager.keys(Provider.OPENAI)).extracting(KeyConfig::index).containsExactly(0, 1, 2);
        assertThat(pool.manager.keys(Provider.OLLAMA)).isEmpty();
        assertThat(pool.manager.allKeys()).hasSize(4);
        assertThat(pool.manager.config().selectionStrategy()).isEqualTo(SelectionStrategy.FILL_FIRST);
    }

    @Test
    void startMaintenance_andClose_canBeCalledRepeatedly() {
        ApiKeyManager manager = new ApiKeyManager(KeypoolConfig.builder().addKey(Provider.OPENAI, Pool.KEY_1).build());
        manager.startMaintenance(Duration.ofMinutes(10));
        manager.startMaintenance(Duration.ofMinutes(10));

        manager.close();
        manager.close();

        assertThat(manager.isAvailable(openAi(0), 1)).isTrue();
    }
}
