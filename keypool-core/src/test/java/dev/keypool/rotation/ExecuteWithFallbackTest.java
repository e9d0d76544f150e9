package dev.keypool.rotation;

import static dev.keypool.rotation.Pool.openAi;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.keypool.config.KeyId;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.config.SelectionStrategy;
import dev.keypool.config.WindowLimits;
import dev.keypool.event.KeyEvent;
import dev.keypool.failure.Failure;
import dev.keypool.failure.FailureKind;
import dev.keypool.failure.UpstreamException;
import dev.keypool.usage.DenialReason;
import dev.keypool.usage.KeyStatus;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class ExecuteWithFallbackTest {

    private final Pool pool = new Pool(Pool.threeOpenAiKeys(WindowLimits.of(10_000, 1_000_000))
            .selectionStrategy(SelectionStrategy.FILL_FIRST)
            .build());
    private final List<String> keysCalled = new ArrayList<>();

    private static UpstreamException upstream(FailureKind kind, Duration retryAfter, int status) {
        return new UpstreamException(new Failure(kind, retryAfter, status + " " + kind.id()), status);
    }

    @Test
    void executeWithFallback_runsTheOperationWithAReservedKey_andCommitsTheReservation() {
        String result = pool.rotator.executeWithFallback("openai", reservation -> {
            keysCalled.add(reservation.apiKey());
            assertThat(reservation.isSettled()).isFalse();
            return "answer";
        }, 2_000, null);

        assertThat(result).isEqualTo("answer");
        assertThat(keysCalled).containsExactly(Pool.KEY_1);
        assertThat(pool.manager.status(openAi(0)).minuteTokens()).as("no usage reported: the reservation")
                .isEqualTo(2_000);
        assertThat(pool.manager.store().pendingCount()).isZero();
    }

    @Test
    void executeWithFallback_commitsTheUsageTheOperationReported() {
        pool.rotator.executeWithFallback("openai", reservation -> {
            reservation.reportUsage(TokenUsage.of(120, 80));
            return null;
        }, 2_000, null);

        assertThat(pool.manager.status(openAi(0)).minuteTokens()).isEqualTo(200);
        KeyEvent.UsageCommitted committed = pool.events(KeyEvent.UsageCommitted.class).getFirst();
        assertThat(committed.reservedTokens()).isEqualTo(2_000);
        assertThat(committed.totalTokens()).isEqualTo(200);
    }

    @Test
    void executeWithFallback_leavesAReservationTheOperationSettledItself() {
        pool.rotator.executeWithFallback("openai", reservation -> {
            reservation.commit(300);
            return null;
        }, 2_000, null);

        assertThat(pool.manager.status(openAi(0)).minuteTokens()).isEqualTo(300);
        assertThat(pool.events(KeyEvent.UsageCommitted.class)).hasSize(1);
    }

    @Test
    void executeWithFallback_onInterruption_releasesTheKeyUntouched_keepsTheInterruptFlag_andTriesNoOtherKey() {
        KeyOperationException thrown = catchThrowableOfType(KeyOperationException.class,
                () -> pool.rotator.executeWithFallback("openai", reservation -> {
                    keysCalled.add(reservation.apiKey());
                    throw new InterruptedException();
                }, 2_000, null));

        try {
            assertThat(Thread.currentThread().isInterrupted()).isTrue();
            assertThat(thrown).hasCauseInstanceOf(InterruptedException.class);
            assertThat(keysCalled).containsExactly(Pool.KEY_1);
            assertThat(pool.events(KeyEvent.KeyFailed.class)).isEmpty();
            assertThat(pool.manager.status(openAi(0)).status()).isEqualTo(KeyStatus.ACTIVE);
            assertThat(pool.manager.status(openAi(0)).minuteTokens()).isZero();
        } finally {
            Thread.interrupted();
        }
    }

    @Test
    void executeWithFallback_passesTheRequestedModelToTheOperation() {
        String model = pool.rotator.executeWithFallback(Provider.OPENAI, Reservation::model, 10, "gpt-4o-mini");

        assertThat(model).isEqualTo("gpt-4o-mini");
    }

    @Test
    void executeWithFallback_onARateLimit_coolsTheKeyAndTriesTheNext() {
        String result = pool.rotator.executeWithFallback("openai", reservation -> {
            keysCalled.add(reservation.apiKey());
            if (reservation.index() == 0) {
                throw new RuntimeException("429 Too Many Requests: rate limit reached");
            }
            return "from " + reservation.index();
        }, 2_000, null);

        assertThat(result).isEqualTo("from 1");
        assertThat(keysCalled).containsExactly(Pool.KEY_1, Pool.KEY_2);
        KeyStatusSnapshot first = pool.manager.status(openAi(0));
        assertThat(first.status()).isEqualTo(KeyStatus.COOLING_DOWN);
        assertThat(first.minuteTokens()).as("the failed call's reservation is released").isZero();
        assertThat(pool.manager.status(openAi(1)).minuteTokens()).isEqualTo(2_000);
    }

    @ParameterizedTest
    @EnumSource(FailureKind.class)
    void executeWithFallback_followsTheFailureTable_forEveryKind(FailureKind kind) {
        // Given the first key fails with this kind, the others serve
        Throwable thrown = catchThrowable(() -> pool.rotator.executeWithFallback("openai", reservation -> {
            keysCalled.add(reservation.apiKey());
            if (reservation.index() == 0) {
                throw upstream(kind, Duration.ofSeconds(7), 429);
            }
            return "ok";
        }, 10, null));

        // Then the next key is tried exactly when the table says the kind fails over
        assertThat(keysCalled).containsExactly(kind.failsOver() ? new String[] {Pool.KEY_1, Pool.KEY_2}
                : new String[] {Pool.KEY_1});
        if (kind.failsOver()) {
            assertThat(thrown).isNull();
        } else {
            assertThat(thrown).as("a client error goes back to the caller").isInstanceOf(UpstreamException.class);
        }
        // And the key got the table's reaction
        KeyStatusSnapshot first = pool.manager.status(openAi(0));
        KeyStatus expected = switch (kind.reaction()) {
            case COOL_DOWN, REST -> KeyStatus.COOLING_DOWN;
            case RETIRE_FOR_THE_DAY, RETIRE_UNTIL_RESET -> KeyStatus.DEACTIVATED;
            case NONE -> KeyStatus.ACTIVE;
        };
        assertThat(first.status()).isEqualTo(expected);
        assertThat(first.failureKind()).isEqualTo(expected == KeyStatus.ACTIVE ? null : kind);
        KeyEvent.KeyFailed failed = pool.events(KeyEvent.KeyFailed.class).getFirst();
        assertThat(failed.kind()).isEqualTo(kind);
        assertThat(failed.failover()).as("says whether the next key was tried").isEqualTo(kind.failsOver());
    }

    @Test
    void executeWithFallback_onUnreachableAndServerErrors_triesTheNextKey() {
        String result = pool.rotator.executeWithFallback("openai", reservation -> {
            switch (reservation.index()) {
                case 0 -> throw new java.net.ConnectException("Connection refused");
                case 1 -> throw new IOException("HTTP 503 Service Unavailable");
                default -> {
                    return "third time lucky";
                }
            }
        }, 10, null);

        assertThat(result).isEqualTo("third time lucky");
        assertThat(pool.manager.status(openAi(0)).failureKind()).isEqualTo(FailureKind.UNREACHABLE);
        assertThat(pool.manager.status(openAi(1)).failureKind()).isEqualTo(FailureKind.SERVER_ERROR);
    }

    @Test
    void executeWithFallback_triesEveryKeyOnce_thenSaysAllFailed_withTheLastFailureAsCause() {
        // Given every key answers 429, each with its own Retry-After
        RuntimeException last = new RuntimeException("429 rate limit for key 3");
        long start = pool.now();

        NoAvailableKeyException refusal = catchThrowableOfType(NoAvailableKeyException.class,
                () -> pool.rotator.executeWithFallback("openai", reservation -> {
                    keysCalled.add(reservation.apiKey());
                    throw switch (reservation.index()) {
                        case 0 -> upstream(FailureKind.RATE_LIMITED, Duration.ofSeconds(40), 429);
                        case 1 -> upstream(FailureKind.RATE_LIMITED, Duration.ofSeconds(15), 429);
                        default -> last;
                    };
                }, 10, null));

        // Then each was called once, and the refusal says when the first comes back
        assertThat(keysCalled).containsExactly(Pool.KEY_1, Pool.KEY_2, Pool.KEY_3);
        assertThat(refusal.reason()).isEqualTo(NoAvailableKeyException.Reason.ALL_KEYS_FAILED);
        assertThat(refusal.getCause()).isSameAs(last);
        assertThat(refusal).hasMessageContaining("429 rate limit for key 3");
        assertThat(refusal.retryAtMillis()).isEqualTo(start + 15_000);
        assertThat(refusal.retryAfter(pool.now())).isEqualTo(Duration.ofSeconds(15));
    }

    @Test
    void executeWithFallback_whenEveryKeyFails_onlyTheLastFailureSaysNoFailover_andNoPoolExhaustionIsAnnounced() {
        long start = pool.now();

        NoAvailableKeyException refusal = catchThrowableOfType(NoAvailableKeyException.class,
                () -> pool.rotator.executeWithFallback("openai", reservation -> {
                    throw upstream(FailureKind.SERVER_ERROR, Duration.ofSeconds(3 + reservation.index()), 503);
                }, 10, null));

        assertThat(pool.events(KeyEvent.KeyFailed.class)).extracting(KeyEvent.KeyFailed::failover)
                .containsExactly(true, true, false);
        assertThat(pool.events(KeyEvent.PoolExhausted.class)).as("the keys' failures say what happened").isEmpty();
        assertThat(refusal.retryAtMillis()).isEqualTo(start + 3_000);
        assertThat(refusal.lastKind()).as("carried, so nothing classifies it again").isEqualTo(FailureKind.SERVER_ERROR);
    }

    @Test
    void issue13_anErrorFromTheOperation_settlesTheReservationOnTheSafeSide_insteadOfHoldingItUntilTheTimeout() {
        AssertionError error = new AssertionError("the operation broke");

        AssertionError thrown = catchThrowableOfType(AssertionError.class,
                () -> pool.rotator.executeWithFallback("openai", reservation -> {
                    keysCalled.add(reservation.apiKey());
                    throw error;
                }, 2_000, null));

        assertThat(thrown).isSameAs(error);
        assertThat(keysCalled).as("an Error is no provider failure: no next key").containsExactly(Pool.KEY_1);
        assertThat(pool.manager.store().pendingCount()).as("settled now").isZero();
        assertThat(pool.manager.status(openAi(0)).minuteTokens()).as("charged: the call may have reached the provider")
                .isEqualTo(2_000);
        assertThat(pool.manager.status(openAi(0)).status()).as("not blamed on the key").isEqualTo(KeyStatus.ACTIVE);
        assertThat(pool.events(KeyEvent.KeyFailed.class)).isEmpty();
    }

    @Test
    void executeWithFallback_whenEveryKeyFails_theRefusalNamesNoKey() {
        NoAvailableKeyException refusal = catchThrowableOfType(NoAvailableKeyException.class,
                () -> pool.rotator.executeWithFallback("openai", reservation -> {
                    throw new RuntimeException("Incorrect API key provided: " + reservation.apiKey());
                }, 10, null));

        assertThat(refusal.getMessage()).contains("Incorrect API key provided: sk-p\u2026key3")
                .doesNotContain(Pool.KEY_1, Pool.KEY_2, Pool.KEY_3);
        assertThat(refusal.toString()).doesNotContain(Pool.KEY_1, Pool.KEY_2, Pool.KEY_3);
    }

    @Test
    void executeWithFallback_onAClientError_returnsItToTheCallerWithoutFailover() {
        IllegalArgumentException badRequest = new IllegalArgumentException("400 Bad Request: unknown parameter");

        IllegalArgumentException thrown = catchThrowableOfType(IllegalArgumentException.class,
                () -> pool.rotator.executeWithFallback("openai", reservation -> {
                    keysCalled.add(reservation.apiKey());
                    throw badRequest;
                }, 10, null));

        assertThat(thrown).isSameAs(badRequest);
        assertThat(keysCalled).containsExactly(Pool.KEY_1);
        assertThat(pool.manager.status(openAi(0)).status()).as("untouched").isEqualTo(KeyStatus.ACTIVE);
        assertThat(pool.manager.status(openAi(0)).minuteTokens()).isZero();
        KeyEvent.KeyFailed failed = pool.events(KeyEvent.KeyFailed.class).getFirst();
        assertThat(failed.kind()).isEqualTo(FailureKind.CLIENT_ERROR);
        assertThat(failed.failover()).isFalse();
    }

    @Test
    void executeWithFallback_aCheckedClientError_comesBackWrapped_withoutTheKeyInItsMessage() {
        IOException badRequest = new IOException("400 Bad Request for key " + Pool.KEY_1);

        KeyOperationException thrown = catchThrowableOfType(KeyOperationException.class,
                () -> pool.rotator.executeWithFallback("openai", reservation -> {
                    throw badRequest;
                }, 10, null));

        assertThat(thrown.getCause()).isSameAs(badRequest);
        assertThat(thrown.getMessage()).contains("400 Bad Request").doesNotContain(Pool.KEY_1);
    }

    @Test
    void executeWithFallback_whenNoKeyIsAvailableAtAll_saysWhyWithoutCallingTheOperation() {
        for (int i = 0; i < 3; i++) {
            pool.manager.deactivate(openAi(i), "rotated out");
        }

        NoAvailableKeyException refusal = catchThrowableOfType(NoAvailableKeyException.class,
                () -> pool.rotator.executeWithFallback("openai", reservation -> {
                    keysCalled.add(reservation.apiKey());
                    return null;
                }, 10, null));

        assertThat(refusal.reason()).isEqualTo(NoAvailableKeyException.Reason.ALL_DEACTIVATED);
        assertThat(keysCalled).isEmpty();
    }

    @Test
    void executeWithFallback_whenTheRemainingKeysHaveNoRoom_saysSoAfterTheFailure() {
        pool.use(openAi(1), 10_000);
        pool.use(openAi(2), 10_000);

        NoAvailableKeyException refusal = catchThrowableOfType(NoAvailableKeyException.class,
                () -> pool.rotator.executeWithFallback("openai", reservation -> {
                    throw new RuntimeException("503 overloaded");
                }, 10, null));

        assertThat(refusal.reason()).isEqualTo(NoAvailableKeyException.Reason.NO_HEADROOM);
        assertThat(refusal.getCause()).hasMessage("503 overloaded");
        assertThat(pool.events(KeyEvent.KeyFailed.class)).singleElement()
                .satisfies(failed -> assertThat(failed.failover()).as("no other key could be tried").isFalse());
        assertThat(pool.events(KeyEvent.PoolExhausted.class)).as("the pool had no room for the request: once")
                .singleElement().satisfies(e -> assertThat(e.reason()).isEqualTo(DenialReason.MINUTE_LIMIT));
    }

    @Test
    void executeWithFallback_forAModel_triesItsKeysThenModelLessKeys_only() {
        Pool models = new Pool(KeypoolConfig.builder()
                .addKey(Provider.OPENAI, Pool.KEY_1, "gpt-4o", WindowLimits.NONE)
                .addKey(Provider.OPENAI, Pool.KEY_2, "gpt-4o-mini", WindowLimits.NONE)
                .addKey(Provider.OPENAI, Pool.KEY_3, null, WindowLimits.NONE)
                .build());
        List<KeyId> tried = new ArrayList<>();

        NoAvailableKeyException refusal = catchThrowableOfType(NoAvailableKeyException.class,
                () -> models.rotator.executeWithFallback("openai", reservation -> {
                    tried.add(reservation.keyId());
                    throw new RuntimeException("429");
                }, 10, "gpt-4o"));

        assertThat(tried).containsExactly(openAi(0), openAi(2));
        assertThat(refusal.reason()).as("every key the model may use was tried")
                .isEqualTo(NoAvailableKeyException.Reason.ALL_KEYS_FAILED);
    }

    // ---- the decorator ------------------------------------------------------------------------------------

    @Test
    void withApiKeyRotation_handsTheChosenKeyToTheFunction() {
        Function<String, String> call = pool.rotator.withApiKeyRotation("openai", 2_000,
                (apiKey, prompt) -> apiKey + " answers " + prompt);

        assertThat(call.apply("hello")).isEqualTo(Pool.KEY_1 + " answers hello");
        assertThat(pool.manager.status(openAi(0)).minuteTokens()).isEqualTo(2_000);
    }

    @Test
    void withApiKeyRotation_failsOverLikeExecuteWithFallback() {
        Function<String, String> call = pool.rotator.withApiKeyRotation("openai", 10, (apiKey, prompt) -> {
            keysCalled.add(apiKey);
            if (apiKey.equals(Pool.KEY_1)) {
                throw new IllegalStateException("Incorrect API key provided");
            }
            return prompt;
        });

        assertThat(call.apply("again")).isEqualTo("again");
        assertThat(keysCalled).containsExactly(Pool.KEY_1, Pool.KEY_2);
        assertThat(pool.manager.status(openAi(0)).status()).isEqualTo(KeyStatus.DEACTIVATED);
    }
}
