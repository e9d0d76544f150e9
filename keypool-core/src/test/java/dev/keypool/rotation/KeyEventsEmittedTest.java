package dev.keypool.rotation;

import static dev.keypool.rotation.Pool.openAi;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.keypool.config.KeyId;
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
import org.junit.jupiter.api.Test;

/** Every thing that happens to a key is announced, with the masked key only. */
class KeyEventsEmittedTest {

    private static final String MASKED_1 = "sk-p\u2026key1";

    private final Pool pool = new Pool(Pool.threeOpenAiKeys(WindowLimits.of(1_000, 100_000))
            .selectionStrategy(SelectionStrategy.FILL_FIRST)
            .reservationTimeout(Duration.ofSeconds(30))
            .build());

    @Test
    void acquire_announcesTheKeyTheModelAndTheTokens() {
        pool.rotator.acquire(Provider.OPENAI, "gpt-4o", 700);

        assertThat(pool.events).singleElement().isEqualTo(
                new KeyEvent.KeyAcquired(pool.now(), openAi(0), MASKED_1, "gpt-4o", 700));
        assertThat(pool.events.getFirst().type()).isEqualTo("key_acquired");
        assertThat(pool.events.getFirst().provider()).isEqualTo(Provider.OPENAI);
    }

    @Test
    void commit_announcesWhatWasReservedAndWhatWasUsed() {
        Reservation reservation = pool.rotator.acquire(Provider.OPENAI, null, 700);
        pool.clock.advance(Duration.ofSeconds(2));

        reservation.commit(TokenUsage.of(300, 150));

        KeyEvent.UsageCommitted committed = pool.events(KeyEvent.UsageCommitted.class).getFirst();
        assertThat(committed).isEqualTo(new KeyEvent.UsageCommitted(pool.now(), openAi(0), MASKED_1, 700, 300, 150));
        assertThat(committed.totalTokens()).isEqualTo(450);
        assertThat(committed.type()).isEqualTo("usage_committed");
    }

    @Test
    void release_announcesTheTokensGivenBack() {
        pool.rotator.acquire(Provider.OPENAI, null, 700).release();

        assertThat(pool.events(KeyEvent.ReservationReleased.class)).singleElement()
                .isEqualTo(new KeyEvent.ReservationReleased(pool.now(), openAi(0), MASKED_1, 700, false));
    }

    @Test
    void expiry_announcesAReleaseMarkedExpired() {
        pool.rotator.acquire(Provider.OPENAI, null, 700);
        pool.clock.advance(Duration.ofSeconds(30));

        pool.manager.maintain();

        assertThat(pool.events(KeyEvent.ReservationReleased.class)).singleElement()
                .isEqualTo(new KeyEvent.ReservationReleased(pool.now(), openAi(0), MASKED_1, 700, true));
    }

    @Test
    void rateLimit_announcesTheReleaseTheFailureWithItsKindAndTheCooldown_inThatOrder() {
        Reservation reservation = pool.rotator.acquire(Provider.OPENAI, null, 700);
        pool.events.clear();

        reservation.fail(new Failure(FailureKind.RATE_LIMITED, Duration.ofSeconds(20), "429 slow down"));

        // settled by hand: keypool tries no other key, and the event says so
        assertThat(pool.events).containsExactly(
                new KeyEvent.ReservationReleased(pool.now(), openAi(0), MASKED_1, 700, false),
                new KeyEvent.KeyFailed(pool.now(), openAi(0), MASKED_1, FailureKind.RATE_LIMITED, "429 slow down", false),
                new KeyEvent.KeyCooledDown(pool.now(), openAi(0), MASKED_1, FailureKind.RATE_LIMITED,
                        pool.now() + 20_000));
        assertThat(pool.events).extracting(KeyEvent::type)
                .containsExactly("reservation_released", "key_failed", "key_cooled_down");
    }

    @Test
    void quota_announcesADeactivationUntilTheNextDay() {
        pool.rotator.acquire(Provider.OPENAI, null, 1).fail(Failure.of(FailureKind.QUOTA_EXHAUSTED, "insufficient_quota"));

        KeyEvent.KeyDeactivated deactivated = pool.events(KeyEvent.KeyDeactivated.class).getFirst();
        assertThat(deactivated.kind()).isEqualTo(FailureKind.QUOTA_EXHAUSTED);
        assertThat(deactivated.untilMillis()).isEqualTo(Instant.parse("2026-01-16T00:00:00Z").toEpochMilli());
        assertThat(deactivated.maskedKey()).isEqualTo(MASKED_1);
        assertThat(deactivated.type()).isEqualTo("key_deactivated");
    }

    @Test
    void invalidKey_announcesADeactivationUntilAReset() {
        pool.rotator.acquire(Provider.OPENAI, null, 1).fail(Failure.of(FailureKind.INVALID_KEY, "401"));

        assertThat(pool.events(KeyEvent.KeyDeactivated.class).getFirst().untilMillis()).isEqualTo(KeyState.NEVER);
    }

    @Test
    void adminDeactivation_announcesItWithoutAFailureKind() {
        pool.manager.deactivate(openAi(1), "leaked");

        assertThat(pool.events).containsExactly(
                new KeyEvent.KeyDeactivated(pool.now(), openAi(1), "sk-p\u2026key2", null, "leaked", KeyState.NEVER));
    }

    @Test
    void reactivation_isAnnounced_byASuccessfulProbeAndByAnAdmin() {
        pool.rotator.acquire(Provider.OPENAI, null, 1)
                .fail(new Failure(FailureKind.SERVER_ERROR, Duration.ofSeconds(3), "503"));
        pool.manager.deactivate(openAi(1), "paused");
        pool.clock.advance(Duration.ofSeconds(3));

        pool.manager.maintain();
        Reservation probe = pool.rotator.acquire(Provider.OPENAI, null, 1);
        assertThat(probe.isProbe()).isTrue();
        probe.commit(1);
        pool.manager.activate(openAi(1));

        assertThat(pool.events(KeyEvent.KeyReactivated.class)).containsExactly(
                new KeyEvent.KeyReactivated(pool.now(), openAi(0), MASKED_1, false),
                new KeyEvent.KeyReactivated(pool.now(), openAi(1), "sk-p\u2026key2", true));
        assertThat(pool.events(KeyEvent.KeyReactivated.class).getFirst().type()).isEqualTo("key_reactivated");
    }

    @Test
    void exhaustion_announcesTheProviderModelTokensReasonAndRetryAt() {
        long start = pool.now();
        for (int i = 0; i < 3; i++) {
            pool.use(openAi(i), 1_000);
        }
        pool.events.clear();

        NoAvailableKeyException refusal = catchThrowableOfType(NoAvailableKeyException.class,
                () -> pool.rotator.acquire(Provider.OPENAI, "gpt-4o", 10));

        KeyEvent.PoolExhausted exhausted = pool.events(KeyEvent.PoolExhausted.class).getFirst();
        assertThat(exhausted.provider()).isEqualTo(Provider.OPENAI);
        assertThat(exhausted.model()).isEqualTo("gpt-4o");
        assertThat(exhausted.tokens()).isEqualTo(10);
        assertThat(exhausted.reason()).isEqualTo(DenialReason.MINUTE_LIMIT);
        assertThat(exhausted.retryAtMillis()).isEqualTo(refusal.retryAtMillis()).isGreaterThanOrEqualTo(start + 60_000);
        assertThat(exhausted.type()).isEqualTo("pool_exhausted");
    }

    @Test
    void exhaustion_ofAProviderWithoutKeys_hasNoReason() {
        catchThrowableOfType(NoAvailableKeyException.class, () -> pool.rotator.acquire(Provider.SERP, null, 1));

        assertThat(pool.events(KeyEvent.PoolExhausted.class)).singleElement()
                .satisfies(event -> assertThat(event.reason()).isNull());
    }

    @Test
    void noEventEverCarriesAFullKey() {
        Reservation first = pool.rotator.acquire(Provider.OPENAI, "gpt-4o", 100);
        first.fail(new RuntimeException("Incorrect API key provided: " + Pool.KEY_1));
        pool.rotator.acquire(Provider.OPENAI, null, 100).commit(50);
        pool.rotator.acquire(Provider.OPENAI, null, 100).release();
        pool.manager.deactivate(KeyId.of(Provider.OPENAI, 2), "leaked: " + Pool.KEY_3.substring(0, 4));
        pool.manager.resetAll();

        assertThat(pool.events).hasSizeGreaterThan(6)
                .allSatisfy(event -> assertThat(event.toString()).doesNotContain(Pool.KEY_1, Pool.KEY_2, Pool.KEY_3));
    }
}
