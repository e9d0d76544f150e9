package dev.keypool.usage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keypool.config.KeyId;
import dev.keypool.config.Provider;
import dev.keypool.config.SecretDigest;
import dev.keypool.config.WindowLimits;
import dev.keypool.failure.FailureKind;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What every {@link UsageStore} must do. A store's test extends this class and supplies
 * {@link #createStore()} (an empty store each time) and, if its minute buckets are not one
 * second wide, {@link #bucketMillis()}.
 *
 * <p>Times are passed in, so nothing here sleeps: a test moves "now" by writing a later number.
 */
public abstract class UsageStoreContract {

    protected static final KeyId KEY = KeyId.of(Provider.OPENAI, 0);
    protected static final KeyId OTHER_KEY = KeyId.of(Provider.OPENAI, 1);
    /** A key that no test reserves on. */
    protected static final KeyId UNSEEN_KEY = KeyId.of(Provider.GEMINI, 0);
    protected static final ZoneId UTC = ZoneOffset.UTC;
    /** 2026-01-15T10:00:00Z: on a bucket boundary, far from midnight. */
    protected static final long T0 = Instant.parse("2026-01-15T10:00:00Z").toEpochMilli();
    protected static final long SECOND = 1_000;
    protected static final long MINUTE = 60_000;
    /** Reservations in these tests expire long after every test is over, unless a test says otherwise. */
    protected static final long NO_EXPIRY = Instant.parse("2027-01-01T00:00:00Z").toEpochMilli();

    protected UsageStore store;

    /** A new, empty store, not yet registered: the contract registers its keys. */
    protected abstract UsageStore createStore();

    /** The keys every contract test may name, with a distinct secret each: what a key manager registers. */
    public static Map<KeyId, SecretDigest> registeredKeys(KeyId... keys) {
        Map<KeyId, SecretDigest> digests = new LinkedHashMap<>();
        for (KeyId key : keys) {
            digests.put(key, secretOf(key));
        }
        return digests;
    }

    /** The digest of the test secret of {@code key}'s index: {@code key-<provider>-<index>}. */
    public static SecretDigest secretOf(KeyId key) {
        return SecretDigest.of(key.provider(), "test-key-" + key.provider().id() + "-" + key.index() + "-0123456789");
    }

    /**
     * The width of the store's minute buckets: tokens admitted at {@code t} may count until
     * {@code t + 60 s + bucketMillis()}, never less than {@code t + 60 s}.
     */
    protected long bucketMillis() {
        return 1_000;
    }

    @BeforeEach
    void createEmptyStore() {
        store = createStore();
        store.register(registeredKeys(KEY, OTHER_KEY, UNSEEN_KEY));
    }

    @AfterEach
    void closeStore() {
        store.close();
    }

    // ---- helpers ------------------------------------------------------------------------------------

    protected ReserveResult reserve(KeyId key, WindowLimits limits, long tokens, long now) {
        return store.reserve(key, limits, tokens, now, DayWindow.at(now, UTC), NO_EXPIRY);
    }

    protected Ticket granted(KeyId key, WindowLimits limits, long tokens, long now) {
        ReserveResult result = reserve(key, limits, tokens, now);
        assertThat(result).as("reserve %d tokens at %s", tokens, Instant.ofEpochMilli(now))
                .isInstanceOf(ReserveResult.Granted.class);
        return ((ReserveResult.Granted) result).ticket();
    }

    /** Reserves {@code tokens} at {@code now} and settles them at once: a request that took no time. */
    protected Ticket spent(KeyId key, WindowLimits limits, long tokens, long now) {
        Ticket ticket = granted(key, limits, tokens, now);
        settle(ticket, tokens, now);
        return ticket;
    }

    protected ReserveResult.Denied denied(KeyId key, WindowLimits limits, long tokens, long now) {
        ReserveResult result = reserve(key, limits, tokens, now);
        assertThat(result).as("reserve %d tokens at %s", tokens, Instant.ofEpochMilli(now))
                .isInstanceOf(ReserveResult.Denied.class);
        return (ReserveResult.Denied) result;
    }

    /** Reserves on {@link #KEY} with the given expiry and returns the granted ticket. */
    protected Ticket expiringAt(long expiresMillis, WindowLimits limits, long tokens, long now) {
        ReserveResult result = store.reserve(KEY, limits, tokens, now, DayWindow.at(now, UTC), expiresMillis);
        assertThat(result).isInstanceOf(ReserveResult.Granted.class);
        return ((ReserveResult.Granted) result).ticket();
    }

    protected KeyUsage usage(KeyId key, long now) {
        return store.usage(key, now, DayWindow.at(now, UTC));
    }

    /** The store's sweep of expired tickets at {@code now}. */
    protected List<Ticket> expire(long now) {
        return store.releaseExpired(now, DayWindow.at(now, UTC));
    }

    protected boolean settle(Ticket ticket, long actual, long now) {
        return store.settle(ticket, actual, now, DayWindow.at(now, UTC));
    }

    private static WindowLimits perMinute(long limit) {
        return WindowLimits.of(limit, WindowLimits.UNLIMITED);
    }

    private static WindowLimits perDay(long limit) {
        return WindowLimits.of(WindowLimits.UNLIMITED, limit);
    }

    private static long at(String instant) {
        return Instant.parse(instant).toEpochMilli();
    }

    // ---- reserve: both windows, both or neither ---------------------------------------------------------

    @Test
    void reserve_grantsAndCountsTokensInBothWindows() {
        Ticket ticket = granted(KEY, WindowLimits.of(1_000, 10_000), 300, T0);

        assertThat(ticket.key()).isEqualTo(KEY);
        assertThat(ticket.tokens()).isEqualTo(300);
        KeyUsage usage = usage(KEY, T0);
        assertThat(usage.minuteTokens()).isEqualTo(300);
        assertThat(usage.dayTokens()).isEqualTo(300);
        assertThat(usage.state()).isEqualTo(KeyState.ACTIVE);
    }

    @Test
    void reserve_ticketSaysWhereAndWhenTheTokensWent() {
        long now = T0 + 1_234;
        Ticket first = expiringAt(now + 30 * SECOND, WindowLimits.NONE, 10, now);
        Ticket second = granted(KEY, WindowLimits.NONE, 20, now);

        assertThat(first.admittedMillis()).isGreaterThanOrEqualTo(now);
        assertThat(first.epochDay()).isEqualTo(DayWindow.at(now, UTC).epochDay());
        assertThat(first.expiresMillis()).isEqualTo(now + 30 * SECOND);
        assertThat(second.id()).isNotEqualTo(first.id());
    }

    @Test
    void reserve_admitsExactlyUpToTheMinuteLimit() {
        WindowLimits limits = perMinute(1_000);
        granted(KEY, limits, 600, T0);
        granted(KEY, limits, 400, T0 + SECOND);

        ReserveResult.Denied denial = denied(KEY, limits, 1, T0 + 2 * SECOND);

        assertThat(denial.reason()).isEqualTo(DenialReason.MINUTE_LIMIT);
        assertThat(usage(KEY, T0 + 2 * SECOND).minuteTokens()).isEqualTo(1_000);
    }

    @Test
    void reserve_chargesNeitherWindow_whenTheMinuteHasRoomButTheDayDoesNot() {
        WindowLimits limits = WindowLimits.of(1_000, 1_500);
        spent(KEY, limits, 1_000, T0);

        ReserveResult.Denied denial = denied(KEY, limits, 600, T0 + 2 * MINUTE);

        assertThat(denial.reason()).isEqualTo(DenialReason.DAY_LIMIT);
        KeyUsage usage = usage(KEY, T0 + 2 * MINUTE);
        assertThat(usage.minuteTokens()).isZero();
        assertThat(usage.dayTokens()).isEqualTo(1_000);
    }

    /** A refusal on the tokens while the requests fit counts no request either. */
    @Test
    void reserve_chargesNeitherWindowNorARequest_whenTheDayHasRoomButTheMinuteDoesNot() {
        WindowLimits limits = WindowLimits.of(1_000, 100_000).withRequests(100, 1_000);
        granted(KEY, limits, 900, T0);

        ReserveResult.Denied denial = denied(KEY, limits, 200, T0 + SECOND);

        assertThat(denial.reason()).isEqualTo(DenialReason.MINUTE_LIMIT);
        KeyUsage usage = usage(KEY, T0 + SECOND);
        assertThat(usage.minuteTokens()).isEqualTo(900);
        assertThat(usage.dayTokens()).isEqualTo(900);
        assertThat(usage.minuteRequests()).isEqualTo(1);
        assertThat(usage.dayRequests()).isEqualTo(1);
    }

    @Test
    void reserve_keepsEachKeysWindowsApart() {
        WindowLimits limits = perMinute(1_000);
        granted(KEY, limits, 1_000, T0);

        granted(OTHER_KEY, limits, 1_000, T0);

        assertThat(usage(KEY, T0).minuteTokens()).isEqualTo(1_000);
        assertThat(usage(OTHER_KEY, T0).minuteTokens()).isEqualTo(1_000);
    }

    @Test
    void reserve_rejectsNegativeTokens() {
        assertThatThrownBy(() -> reserve(KEY, WindowLimits.NONE, -1, T0))
                .isInstanceOf(IllegalArgumentException.class);
    }

    // ---- the sliding minute -------------------------------------------------------------------------------

    @Test
    void reserve_slidingMinute_refusesAcrossTheMinuteBoundaryWhereAFixedWindowWouldAdmitDouble() {
        // Given the whole minute limit spent 100 ms before the clock's minute turns
        WindowLimits limits = perMinute(1_000);
        spent(KEY, limits, 1_000, at("2026-01-15T10:00:59.900Z"));

        // When the next minute on the clock begins 200 ms later
        ReserveResult.Denied denial = denied(KEY, limits, 1_000, at("2026-01-15T10:01:00.100Z"));

        // Then those tokens still count: 2 000 tokens in 200 ms would be double the limit
        assertThat(denial.reason()).isEqualTo(DenialReason.MINUTE_LIMIT);
        assertThat(denied(KEY, limits, 1, at("2026-01-15T10:01:00.100Z")).reason())
                .isEqualTo(DenialReason.MINUTE_LIMIT);
    }

    @Test
    void reserve_tokensStillCountOneMillisecondBeforeSixtySecondsHavePassed() {
        long admitted = T0 + 12_345;
        spent(KEY, perMinute(1_000), 1_000, admitted);

        assertThat(denied(KEY, perMinute(1_000), 1, admitted + MINUTE - 1).reason())
                .isEqualTo(DenialReason.MINUTE_LIMIT);
        assertThat(usage(KEY, admitted + MINUTE - 1).minuteTokens()).isEqualTo(1_000);
    }

    @Test
    void reserve_tokensFreeUpOnceSixtySecondsAndOneBucketHavePassed() {
        long admitted = T0 + 12_345;
        spent(KEY, perMinute(1_000), 1_000, admitted);

        long later = admitted + MINUTE + bucketMillis();
        granted(KEY, perMinute(1_000), 1_000, later);

        assertThat(usage(KEY, later).minuteTokens()).isEqualTo(1_000);
    }

    @Test
    void reserve_minuteDenial_retryAtIsWhenEnoughOfTheOldestTokensHaveExpired() {
        WindowLimits limits = perMinute(1_000);
        long first = T0 + 1_500;
        long second = T0 + 21_500;
        spent(KEY, limits, 600, first);
        spent(KEY, limits, 400, second);
        long now = T0 + 30 * SECOND;

        long retryFor500 = denied(KEY, limits, 500, now).retryAtMillis();
        long retryFor700 = denied(KEY, limits, 700, now).retryAtMillis();

        // 500 fit once the first 600 expire; 700 need the second 400 gone too
        assertThat(retryFor500).isBetween(first + MINUTE, first + MINUTE + bucketMillis());
        assertThat(retryFor700).isBetween(second + MINUTE, second + MINUTE + bucketMillis());
    }

    @Test
    void reserve_minuteDenial_retryAtIsExactlyTheFirstMomentTheRequestFits() {
        WindowLimits limits = perMinute(1_000);
        spent(KEY, limits, 600, T0 + 1_500);
        spent(KEY, limits, 400, T0 + 21_500);
        long retryAt = denied(KEY, limits, 500, T0 + 30 * SECOND).retryAtMillis();

        assertThat(denied(KEY, limits, 500, retryAt - 1).reason()).isEqualTo(DenialReason.MINUTE_LIMIT);
        granted(KEY, limits, 500, retryAt);
    }

    @Test
    void reserve_callerWithALaggingClock_stillSeesTokensAdmittedLater() {
        // Given another instance, whose clock runs 30 s ahead, spent the minute
        WindowLimits limits = perMinute(1_000);
        spent(KEY, limits, 1_000, T0 + 30 * SECOND);

        // When a caller whose clock is behind asks
        ReserveResult.Denied denial = denied(KEY, limits, 1, T0);

        // Then the tokens count for it too
        assertThat(denial.reason()).isEqualTo(DenialReason.MINUTE_LIMIT);
    }

    // ---- the day --------------------------------------------------------------------------------------

    @Test
    void reserve_dayDenial_retryAtIsTheNextDayStart() {
        WindowLimits limits = perDay(1_000);
        spent(KEY, limits, 1_000, at("2026-01-15T08:00:00Z"));

        ReserveResult.Denied denial = denied(KEY, limits, 1, at("2026-01-15T23:59:59.999Z"));

        assertThat(denial.reason()).isEqualTo(DenialReason.DAY_LIMIT);
        assertThat(denial.retryAtMillis()).isEqualTo(at("2026-01-16T00:00:00Z"));
    }

    @Test
    void reserve_dayWindowResetsAtTheDayBoundary() {
        WindowLimits limits = perDay(1_000);
        spent(KEY, limits, 1_000, at("2026-01-15T23:59:30Z"));

        Ticket nextDay = granted(KEY, limits, 1_000, at("2026-01-16T00:00:00Z"));

        assertThat(nextDay.epochDay()).isEqualTo(DayWindow.at(at("2026-01-16T00:00:00Z"), UTC).epochDay());
        assertThat(usage(KEY, at("2026-01-16T00:00:00Z")).dayTokens()).isEqualTo(1_000);
        assertThat(usage(KEY, at("2026-01-16T00:00:00Z")).minuteTokens())
                .as("the minute slides across midnight").isEqualTo(2_000);
    }

    @Test
    void reserve_dayWindowFollowsTheZoneOfTheGivenDay() {
        ZoneId tokyo = ZoneId.of("Asia/Tokyo");
        WindowLimits limits = perDay(1_000);
        long morning = at("2026-01-15T10:00:00Z");
        ReserveResult.Granted spentInTheMorning = (ReserveResult.Granted) store.reserve(KEY, limits, 1_000, morning,
                DayWindow.at(morning, tokyo), NO_EXPIRY);
        store.settle(spentInTheMorning.ticket(), 1_000, morning, DayWindow.at(morning, tokyo));

        long beforeTokyoMidnight = at("2026-01-15T14:59:59Z");
        ReserveResult denial = store.reserve(KEY, limits, 1, beforeTokyoMidnight,
                DayWindow.at(beforeTokyoMidnight, tokyo), NO_EXPIRY);
        long tokyoMidnight = at("2026-01-15T15:00:00Z");
        ReserveResult afterMidnight = store.reserve(KEY, limits, 1, tokyoMidnight,
                DayWindow.at(tokyoMidnight, tokyo), NO_EXPIRY);

        assertThat(denial).isEqualTo(new ReserveResult.Denied(DenialReason.DAY_LIMIT, tokyoMidnight));
        assertThat(afterMidnight).isInstanceOf(ReserveResult.Granted.class);
    }

    // ---- key state ------------------------------------------------------------------------------------

    @Test
    void reserve_deniesACoolingKey_withRetryAtTheEndOfItsRest() {
        store.setState(KEY, KeyState.coolingDown(FailureKind.RATE_LIMITED, "429", T0 + 30 * SECOND));

        ReserveResult.Denied denial = denied(KEY, WindowLimits.NONE, 1, T0);

        assertThat(denial.reason()).isEqualTo(DenialReason.COOLING_DOWN);
        assertThat(denial.retryAtMillis()).isEqualTo(T0 + 30 * SECOND);
    }

    @Test
    void reserve_grantsACoolingKeyOnceItsRestIsOver() {
        store.setState(KEY, KeyState.coolingDown(FailureKind.RATE_LIMITED, "429", T0 + 30 * SECOND));

        assertThat(denied(KEY, WindowLimits.NONE, 1, T0 + 30 * SECOND - 1).reason())
                .isEqualTo(DenialReason.COOLING_DOWN);
        granted(KEY, WindowLimits.NONE, 1, T0 + 30 * SECOND);
    }

    /**
     * Issue 11: a key back from a cool-down was hit by a herd of up to 20 requests at once. It now
     * gets one, its probe, and the others wait for the probe's outcome (or its length).
     */
    @Test
    void reserve_aKeyWhoseRestIsOver_isGrantedToOneProbe_andRefusedToTheOthersMeanwhile() {
        KeyState cooling = KeyState.coolingDown(FailureKind.RATE_LIMITED, "429", T0 + 30 * SECOND);
        store.setState(KEY, cooling);
        long back = T0 + 30 * SECOND;

        ReserveResult.Granted probe = (ReserveResult.Granted) reserve(KEY, WindowLimits.NONE, 1, back);
        ReserveResult.Denied herd = denied(KEY, WindowLimits.NONE, 1, back + 10);

        assertThat(probe.probe()).isTrue();
        assertThat(probe.probing()).isEqualTo(cooling.withUntil(back + UsageStore.PROBE_MILLIS));
        assertThat(store.state(KEY)).isEqualTo(probe.probing());
        assertThat(herd).isEqualTo(new ReserveResult.Denied(DenialReason.COOLING_DOWN, back + UsageStore.PROBE_MILLIS));
        // A probe whose outcome never comes keeps the key for its length only.
        assertThat(((ReserveResult.Granted) reserve(KEY, WindowLimits.NONE, 1, back + UsageStore.PROBE_MILLIS)).probe())
                .isTrue();
    }

    @Test
    void probeOutcome_setsTheKeysStateForEveryone() {
        store.setState(KEY, KeyState.coolingDown(FailureKind.SERVER_ERROR, "503", T0));
        ReserveResult.Granted probe = (ReserveResult.Granted) reserve(KEY, WindowLimits.NONE, 1, T0);

        assertThat(store.compareAndSetState(KEY, probe.probing(), KeyState.ACTIVE)).isTrue();

        ReserveResult.Granted next = (ReserveResult.Granted) reserve(KEY, WindowLimits.NONE, 1, T0 + 1);
        assertThat(next.probe()).isFalse();
        assertThat(((ReserveResult.Granted) reserve(KEY, WindowLimits.NONE, 1, T0 + 2)).probe()).isFalse();
    }

    @Test
    void reserve_aKeyThatIsStillResting_orRefusedOnItsWindows_isNoProbe() {
        store.setState(KEY, KeyState.coolingDown(FailureKind.RATE_LIMITED, "429", T0));
        denied(KEY, WindowLimits.of(10, 100), 11, T0);

        assertThat(store.state(KEY).untilMillis()).as("a refused request does not start a probe").isEqualTo(T0);
        assertThat(((ReserveResult.Granted) reserve(KEY, WindowLimits.of(10, 100), 10, T0)).probe()).isTrue();
    }

    @Test
    void reserve_deniesAKeyDeactivatedUntilAReset_withRetryAtNever() {
        store.setState(KEY, KeyState.deactivated(FailureKind.INVALID_KEY, "invalid key", KeyState.NEVER));

        ReserveResult.Denied denial = denied(KEY, WindowLimits.NONE, 1, T0 + 365L * 24 * 60 * MINUTE);

        assertThat(denial).isEqualTo(new ReserveResult.Denied(DenialReason.DEACTIVATED, KeyState.NEVER));
    }

    @Test
    void reserve_deniesAKeyDeactivatedUntilTheNextDay_withRetryAtThatDay() {
        long nextDay = at("2026-01-16T00:00:00Z");
        store.setState(KEY, KeyState.deactivated(FailureKind.QUOTA_EXHAUSTED, "quota", nextDay));

        assertThat(denied(KEY, WindowLimits.NONE, 1, T0))
                .isEqualTo(new ReserveResult.Denied(DenialReason.DEACTIVATED, nextDay));
        granted(KEY, WindowLimits.NONE, 1, nextDay);
    }

    @Test
    void reserve_requestLargerThanTheMinuteLimit_exceedsTheLimitForever() {
        ReserveResult.Denied denial = denied(KEY, WindowLimits.of(100, 10_000), 101, T0);

        assertThat(denial).isEqualTo(new ReserveResult.Denied(DenialReason.EXCEEDS_LIMIT, KeyState.NEVER));
    }

    @Test
    void reserve_requestLargerThanTheDayLimit_exceedsTheLimitForever() {
        ReserveResult.Denied denial = denied(KEY, WindowLimits.of(10_000, 100), 101, T0);

        assertThat(denial).isEqualTo(new ReserveResult.Denied(DenialReason.EXCEEDS_LIMIT, KeyState.NEVER));
    }

    @Test
    void reserve_unlimitedWindowsNeverRefuse_andStillCount() {
        for (int i = 0; i < 5; i++) {
            granted(KEY, WindowLimits.NONE, 1_000_000_000_000L, T0 + i);
        }

        KeyUsage usage = usage(KEY, T0 + 10);
        assertThat(usage.minuteTokens()).isEqualTo(5_000_000_000_000L);
        assertThat(usage.dayTokens()).isEqualTo(5_000_000_000_000L);
    }

    @Test
    void reserve_unlimitedMinuteWithALimitedDay_refusesOnlyOnTheDay() {
        WindowLimits limits = perDay(1_000);
        spent(KEY, limits, 1_000, T0);

        assertThat(denied(KEY, limits, 1, T0).reason()).isEqualTo(DenialReason.DAY_LIMIT);
    }

    @Test
    void reserve_limitedMinuteWithAnUnlimitedDay_refusesOnlyOnTheMinute() {
        WindowLimits limits = perMinute(1_000);
        for (int minute = 0; minute < 5; minute++) {
            spent(KEY, limits, 1_000, T0 + minute * 2 * MINUTE);
        }

        assertThat(usage(KEY, T0 + 8 * MINUTE).dayTokens()).isEqualTo(5_000);
        assertThat(denied(KEY, limits, 1, T0 + 8 * MINUTE).reason()).isEqualTo(DenialReason.MINUTE_LIMIT);
    }

    // ---- settle --------------------------------------------------------------------------------------

    @Test
    void settle_refundsTheDifferenceWhenLessWasUsed() {
        Ticket ticket = granted(KEY, WindowLimits.of(1_000, 10_000), 500, T0);

        boolean pending = settle(ticket, 200, T0 + SECOND);

        assertThat(pending).isTrue();
        KeyUsage usage = usage(KEY, T0 + SECOND);
        assertThat(usage.minuteTokens()).isEqualTo(200);
        assertThat(usage.dayTokens()).isEqualTo(200);
        assertThat(store.pendingCount()).isZero();
    }

    @Test
    void settle_chargesTheDifferenceWhenMoreWasUsed() {
        Ticket ticket = granted(KEY, WindowLimits.of(1_000, 10_000), 500, T0);

        settle(ticket, 700, T0 + SECOND);

        KeyUsage usage = usage(KEY, T0 + SECOND);
        assertThat(usage.minuteTokens()).isEqualTo(700);
        assertThat(usage.dayTokens()).isEqualTo(700);
    }

    @Test
    void settle_withZero_givesTheTokensBack_butTheRequestStillCounts() {
        Ticket ticket = granted(KEY, WindowLimits.of(1_000, 10_000), 500, T0);

        settle(ticket, 0, T0 + SECOND);

        // A released request may have reached the provider all the same: it is not refunded.
        assertThat(usage(KEY, T0 + SECOND)).isEqualTo(new KeyUsage(0, 0, KeyState.ACTIVE, 0, 1, 1));
    }

    @Test
    void settle_refundMakesRoomForTheNextReservation() {
        WindowLimits limits = perMinute(1_000);
        Ticket ticket = granted(KEY, limits, 1_000, T0);
        settle(ticket, 400, T0 + SECOND);

        granted(KEY, limits, 600, T0 + 2 * SECOND);
    }

    /**
     * Issue 11: tokens were anchored at their admission, where the provider cannot see them; three
     * gateways admitted a minute's worth in one second, delivered it 1.2 to 1.5 s later, and
     * admitted the next minute's 61 s after the admission: 1,200 tokens in 60 s of arrivals
     * against 600. A request reaches the provider by its settlement at the latest.
     */
    @Test
    void settle_theTokensOccupyTheMinuteUntilSixtySecondsAfterTheSettle_notAfterTheAdmission() {
        WindowLimits limits = perMinute(1_000);
        Ticket ticket = granted(KEY, limits, 1_000, T0);
        long settledAt = T0 + 1_500;
        settle(ticket, 1_000, settledAt);

        // A minute and a bucket after the admission, the request may have reached the provider 58.5 s ago.
        assertThat(denied(KEY, limits, 1, T0 + MINUTE + bucketMillis()).reason()).isEqualTo(DenialReason.MINUTE_LIMIT);
        assertThat(denied(KEY, limits, 1, settledAt + MINUTE - 1).reason()).isEqualTo(DenialReason.MINUTE_LIMIT);
        granted(KEY, limits, 1_000, settledAt + MINUTE + bucketMillis());
    }

    @Test
    void reserve_heldTokensCount_howeverLongTheRequestTakes_untilItIsSettled() {
        WindowLimits limits = WindowLimits.of(1_000, 5_000);
        Ticket longStream = granted(KEY, limits, 800, T0);

        long muchLater = T0 + 5 * MINUTE;
        assertThat(usage(KEY, muchLater).minuteTokens()).isEqualTo(800);
        ReserveResult.Denied denial = denied(KEY, limits, 300, muchLater);
        assertThat(denial.reason()).isEqualTo(DenialReason.MINUTE_LIMIT);
        assertThat(denial.retryAtMillis()).as("held tokens free up when the request ends: try again soon")
                .isBetween(muchLater, muchLater + bucketMillis());

        settle(longStream, 0, muchLater);
        granted(KEY, limits, 300, muchLater);
    }

    @Test
    void settle_chargesTheActualTokensAtTheSettle_andTakesTheReservationOffTheHold() {
        Ticket ticket = granted(KEY, WindowLimits.of(1_000, 10_000), 500, T0);
        long later = T0 + 2 * MINUTE;
        granted(KEY, WindowLimits.of(1_000, 10_000), 100, later);

        settle(ticket, 200, later);

        KeyUsage usage = usage(KEY, later);
        assertThat(usage.minuteTokens()).as("200 settled now, 100 held").isEqualTo(300);
        assertThat(usage.dayTokens()).isEqualTo(300);
        assertThat(usage(KEY, later + MINUTE + bucketMillis()).minuteTokens()).as("the 100 still held").isEqualTo(100);
    }

    @Test
    void settle_afterTheDayRolledOver_leavesTheNewDayAlone() {
        WindowLimits limits = WindowLimits.of(10_000, 10_000);
        Ticket yesterday = granted(KEY, limits, 500, at("2026-01-15T23:59:50Z"));
        granted(KEY, limits, 100, at("2026-01-16T00:00:05Z"));

        settle(yesterday, 0, at("2026-01-16T00:00:10Z"));

        KeyUsage usage = usage(KEY, at("2026-01-16T00:00:10Z"));
        assertThat(usage.dayTokens()).isEqualTo(100);
        assertThat(usage.minuteTokens()).as("yesterday's refund is still in the sliding minute").isEqualTo(100);
    }

    @Test
    void settle_afterExpiry_addsOnlyWhatWasUsedBeyondTheChargedReservation() {
        long now = T0;
        Ticket less = expiringAt(now + 10 * SECOND, WindowLimits.of(1_000, 10_000), 500, now);
        Ticket more = expiringAt(now + 10 * SECOND, WindowLimits.of(1_000, 10_000), 100, now);
        assertThat(expire(now + 10 * SECOND)).containsExactlyInAnyOrder(less, more);

        assertThat(settle(less, 300, now + 11 * SECOND)).as("the ticket had expired").isFalse();
        assertThat(settle(more, 250, now + 11 * SECOND)).isFalse();

        // 500 and 100 charged at expiry, never refunded; 150 more reported on the second
        KeyUsage usage = usage(KEY, now + 11 * SECOND);
        assertThat(usage.minuteTokens()).isEqualTo(750);
        assertThat(usage.dayTokens()).isEqualTo(750);
    }

    /**
     * Issue 11: a crash orphaned reservations whose requests the provider had served, and expiry
     * refunded them; the day counter went from 600 to 0 while the provider had charged 1,200.
     */
    @Test
    void releaseExpired_chargesAReservationNobodySettled_insteadOfRefundingIt() {
        WindowLimits limits = WindowLimits.of(1_000, 600);
        expiringAt(T0 + 10 * SECOND, limits, 600, T0);

        expire(T0 + 10 * SECOND);

        assertThat(usage(KEY, T0 + 10 * SECOND).dayTokens()).isEqualTo(600);
        assertThat(denied(KEY, limits, 600, T0 + 2 * MINUTE).reason()).isEqualTo(DenialReason.DAY_LIMIT);
    }

    @Test
    void settle_rejectsNegativeTokens() {
        Ticket ticket = granted(KEY, WindowLimits.NONE, 500, T0);

        assertThatThrownBy(() -> settle(ticket, -1, T0)).isInstanceOf(IllegalArgumentException.class);
    }

    // ---- releaseExpired and pending tickets -----------------------------------------------------------------

    @Test
    void releaseExpired_releasesOnlyTicketsAtOrPastTheirExpiry() {
        WindowLimits limits = WindowLimits.of(1_000, 10_000);
        Ticket early = expiringAt(T0 + 10 * SECOND, limits, 300, T0);
        Ticket late = expiringAt(T0 + 20 * SECOND, limits, 200, T0);

        assertThat(expire(T0 + 10 * SECOND - 1)).isEmpty();
        List<Ticket> released = expire(T0 + 10 * SECOND);

        assertThat(released).containsExactly(early);
        assertThat(store.pendingCount()).isEqualTo(1);
        assertThat(expire(T0 + 20 * SECOND)).containsExactly(late);
        assertThat(expire(T0 + 30 * SECOND)).isEmpty();
        assertThat(store.pendingCount()).isZero();
        assertThat(usage(KEY, T0 + 30 * SECOND).dayTokens()).as("charged, not refunded").isEqualTo(500);
    }

    @Test
    void releaseExpired_leavesSettledTicketsAlone() {
        Ticket ticket = expiringAt(T0 + 10 * SECOND, WindowLimits.NONE, 300, T0);
        settle(ticket, 250, T0 + SECOND);

        assertThat(expire(T0 + 11 * SECOND)).isEmpty();
        assertThat(usage(KEY, T0 + 11 * SECOND).dayTokens()).isEqualTo(250);
    }

    @Test
    void pendingCount_countsTicketsNotYetSettledOrReleased() {
        Ticket first = granted(KEY, WindowLimits.NONE, 1, T0);
        granted(KEY, WindowLimits.NONE, 1, T0);
        granted(OTHER_KEY, WindowLimits.NONE, 1, T0);
        assertThat(store.pendingCount()).isEqualTo(3);

        settle(first, 1, T0);

        assertThat(store.pendingCount()).isEqualTo(2);
    }

    @Test
    void deniedReservations_leaveNoPendingTicket() {
        granted(KEY, perMinute(10), 10, T0);
        denied(KEY, perMinute(10), 1, T0);

        assertThat(store.pendingCount()).isEqualTo(1);
    }

    // ---- state ---------------------------------------------------------------------------------------

    @Test
    void state_ofAKeyNeverSeenIsActive() {
        assertThat(store.state(KEY)).isEqualTo(KeyState.ACTIVE);
    }

    @Test
    void setState_replacesTheState_andUsageReportsIt() {
        KeyState cooling = KeyState.coolingDown(FailureKind.SERVER_ERROR, "503", T0 + 5 * SECOND);

        store.setState(KEY, cooling);

        assertThat(store.state(KEY)).isEqualTo(cooling);
        assertThat(usage(KEY, T0).state()).isEqualTo(cooling);
        assertThat(store.state(OTHER_KEY)).isEqualTo(KeyState.ACTIVE);
    }

    @Test
    void setState_keepsTheUsage() {
        granted(KEY, WindowLimits.NONE, 700, T0);

        store.setState(KEY, KeyState.deactivated(null, "by an admin", KeyState.NEVER));
        store.setState(KEY, KeyState.ACTIVE);

        assertThat(usage(KEY, T0)).isEqualTo(new KeyUsage(700, 700, KeyState.ACTIVE, 0, 1, 1));
    }

    @Test
    void compareAndSetState_replacesOnlyWhenTheStateIsStillTheExpectedOne() {
        KeyState cooling = KeyState.coolingDown(FailureKind.RATE_LIMITED, "429", T0 + 5 * SECOND);
        KeyState invalid = KeyState.deactivated(FailureKind.INVALID_KEY, "invalid", KeyState.NEVER);

        assertThat(store.compareAndSetState(KEY, KeyState.ACTIVE, cooling)).isTrue();
        assertThat(store.compareAndSetState(KEY, KeyState.ACTIVE, invalid)).isFalse();
        assertThat(store.state(KEY)).isEqualTo(cooling);
        assertThat(store.compareAndSetState(KEY, cooling, invalid)).isTrue();
        assertThat(store.state(KEY)).isEqualTo(invalid);
    }

    // ---- usage ---------------------------------------------------------------------------------------

    @Test
    void usage_ofAKeyNeverSeenIsZeroAndActive() {
        assertThat(usage(KEY, T0)).isEqualTo(new KeyUsage(0, 0, KeyState.ACTIVE));
    }

    @Test
    void usages_answersForEachKeyInTheOrderAsked() {
        granted(KEY, WindowLimits.NONE, 100, T0);
        granted(OTHER_KEY, WindowLimits.NONE, 200, T0);
        List<KeyUsage> usages = store.usages(List.of(OTHER_KEY, UNSEEN_KEY, KEY), T0, DayWindow.at(T0, UTC));

        assertThat(usages).containsExactly(
                new KeyUsage(200, 200, KeyState.ACTIVE, 0, 1, 1),
                new KeyUsage(0, 0, KeyState.ACTIVE),
                new KeyUsage(100, 100, KeyState.ACTIVE, 0, 1, 1));
    }

    @Test
    void usage_minuteEmptiesWhileTheDayKeepsCounting() {
        spent(KEY, WindowLimits.NONE, 100, T0);

        KeyUsage later = usage(KEY, T0 + 2 * MINUTE);

        assertThat(later.minuteTokens()).isZero();
        assertThat(later.dayTokens()).isEqualTo(100);
    }

    // ---- requests: counted beside the tokens, reserved in the same step ---------------------------------

    private static WindowLimits requestsPerMinute(long limit) {
        return WindowLimits.ofRequests(limit, WindowLimits.UNLIMITED);
    }

    @Test
    void reserve_countsOneRequestPerReservation_inBothWindows_fromTheReserveUntilAMinuteAfterTheSettle() {
        Ticket ticket = granted(KEY, WindowLimits.NONE, 300, T0);
        granted(KEY, WindowLimits.NONE, 0, T0);

        assertThat(usage(KEY, T0).minuteRequests()).isEqualTo(2);
        assertThat(usage(KEY, T0).dayRequests()).isEqualTo(2);

        // Held however long the request takes, then settled where the provider last could see it
        settle(ticket, 300, T0 + 5 * MINUTE);
        assertThat(usage(KEY, T0 + 5 * MINUTE).minuteRequests()).isEqualTo(2);
        assertThat(usage(KEY, T0 + 6 * MINUTE - 1).minuteRequests()).as("the settled one counts a minute on")
                .isEqualTo(2);
        KeyUsage later = usage(KEY, T0 + 6 * MINUTE + bucketMillis());
        assertThat(later.minuteRequests()).as("only the one still held").isEqualTo(1);
        assertThat(later.dayRequests()).isEqualTo(2);
    }

    @Test
    void reserve_refusesOnTheRequestMinuteLimit_whileTheTokensFit_andReservesNothing() {
        WindowLimits limits = WindowLimits.of(1_000_000, 10_000_000).withRequests(2, 1_000);
        spent(KEY, limits, 10, T0);
        granted(KEY, limits, 10, T0 + SECOND);
        int pending = store.pendingCount();

        ReserveResult.Denied denial = denied(KEY, limits, 10, T0 + 2 * SECOND);

        assertThat(denial.reason()).isEqualTo(DenialReason.REQUEST_MINUTE_LIMIT);
        KeyUsage usage = usage(KEY, T0 + 2 * SECOND);
        assertThat(usage.minuteTokens()).as("no tokens taken").isEqualTo(20);
        assertThat(usage.dayTokens()).isEqualTo(20);
        assertThat(usage.minuteRequests()).isEqualTo(2);
        assertThat(usage.dayRequests()).isEqualTo(2);
        assertThat(store.pendingCount()).isEqualTo(pending);
    }

    @Test
    void reserve_refusesOnTheRequestDayLimit_whileTheMinuteHasRoom_withRetryAtTheNextDay() {
        WindowLimits limits = WindowLimits.ofRequests(100, 2);
        spent(KEY, limits, 1, at("2026-01-15T08:00:00Z"));
        spent(KEY, limits, 1, at("2026-01-15T09:00:00Z"));

        ReserveResult.Denied denial = denied(KEY, limits, 1, at("2026-01-15T23:59:59.999Z"));

        assertThat(denial.reason()).isEqualTo(DenialReason.REQUEST_DAY_LIMIT);
        assertThat(denial.retryAtMillis()).isEqualTo(at("2026-01-16T00:00:00Z"));
        assertThat(usage(KEY, at("2026-01-15T23:59:59.999Z")).dayRequests()).isEqualTo(2);
        granted(KEY, limits, 1, at("2026-01-16T00:00:00Z"));
        assertThat(usage(KEY, at("2026-01-16T00:00:00Z")).dayRequests()).as("the new day counts anew").isEqualTo(1);
    }

    @Test
    void reserve_requestMinuteDenial_retryAtIsExactlyWhenTheOldestSettledRequestLeavesTheMinute() {
        WindowLimits limits = requestsPerMinute(2);
        long first = T0 + 1_500;
        spent(KEY, limits, 5, first);
        spent(KEY, limits, 5, T0 + 21_500);

        long retryAt = denied(KEY, limits, 5, T0 + 30 * SECOND).retryAtMillis();

        assertThat(retryAt).isBetween(first + MINUTE, first + MINUTE + bucketMillis());
        assertThat(denied(KEY, limits, 5, retryAt - 1).reason()).isEqualTo(DenialReason.REQUEST_MINUTE_LIMIT);
        granted(KEY, limits, 5, retryAt);
    }

    @Test
    void reserve_requestsHeldAlone_fillTheMinute_untilTheyAreSettled() {
        WindowLimits limits = requestsPerMinute(1);
        Ticket held = granted(KEY, limits, 5, T0);

        ReserveResult.Denied denial = denied(KEY, limits, 5, T0 + 10 * MINUTE);

        assertThat(denial.reason()).isEqualTo(DenialReason.REQUEST_MINUTE_LIMIT);
        assertThat(denial.retryAtMillis()).as("held requests free up when they end: ask again soon")
                .isBetween(T0 + 10 * MINUTE + 1, T0 + 10 * MINUTE + bucketMillis());
        settle(held, 5, T0 + 10 * MINUTE);
        assertThat(denied(KEY, limits, 5, T0 + 11 * MINUTE - 1).reason()).isEqualTo(DenialReason.REQUEST_MINUTE_LIMIT);
        granted(KEY, limits, 5, T0 + 11 * MINUTE + bucketMillis());
    }

    @Test
    void releaseExpired_chargesTheRequest_andALateSettleDoesNotChargeItAgain() {
        WindowLimits limits = WindowLimits.ofRequests(10, 2);
        Ticket orphan = expiringAt(T0 + 10 * SECOND, limits, 100, T0);
        assertThat(expire(T0 + 10 * SECOND)).containsExactly(orphan);

        assertThat(settle(orphan, 100, T0 + 11 * SECOND)).isFalse();

        KeyUsage usage = usage(KEY, T0 + 11 * SECOND);
        assertThat(usage.minuteRequests()).isEqualTo(1);
        assertThat(usage.dayRequests()).isEqualTo(1);
        spent(KEY, limits, 1, T0 + 2 * MINUTE);
        assertThat(denied(KEY, limits, 1, T0 + 3 * MINUTE).reason()).isEqualTo(DenialReason.REQUEST_DAY_LIMIT);
    }

    @Test
    void reserve_requestLimitsAreKeptPerKey() {
        WindowLimits limits = requestsPerMinute(1);
        spent(KEY, limits, 1, T0);

        granted(OTHER_KEY, limits, 1, T0);

        assertThat(denied(KEY, limits, 1, T0).reason()).isEqualTo(DenialReason.REQUEST_MINUTE_LIMIT);
    }

    @Test
    void reserve_withoutRequestLimits_stillCountsRequests() {
        for (int i = 0; i < 5; i++) {
            spent(KEY, WindowLimits.of(1_000, 10_000), 1, T0 + i);
        }

        assertThat(usage(KEY, T0 + SECOND).minuteRequests()).isEqualTo(5);
        assertThat(usage(KEY, T0 + 2 * MINUTE).minuteRequests()).isZero();
        assertThat(usage(KEY, T0 + 2 * MINUTE).dayRequests()).isEqualTo(5);
    }

    // ---- keys that join later (a reload) ----------------------------------------------------------------

    @Test
    void register_again_addsTheNewKeysAndLeavesTheOthersAsTheyWere() {
        KeyId joining = KeyId.of(Provider.OPENAI, 7);
        Ticket inFlight = granted(KEY, WindowLimits.NONE, 40, T0);
        spent(OTHER_KEY, WindowLimits.NONE, 100, T0);

        store.register(registeredKeys(joining));

        spent(joining, WindowLimits.NONE, 5, T0);
        assertThat(settle(inFlight, 30, T0)).isTrue();
        assertThat(usage(KEY, T0).dayTokens()).isEqualTo(30);
        assertThat(usage(OTHER_KEY, T0).dayTokens()).isEqualTo(100);
        assertThat(usage(joining, T0).dayTokens()).isEqualTo(5);
    }

    @Test
    void register_aHandleAgainWithAnotherKey_isRefusedAndTheHandleKeepsItsKey() {
        spent(KEY, WindowLimits.NONE, 100, T0);
        KeyFingerprint before = store.fingerprint(KEY);

        assertThatThrownBy(() -> store.register(Map.of(KEY, secretOf(KeyId.of(Provider.OPENAI, 99)))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(KEY.toString());

        assertThat(store.fingerprint(KEY)).isEqualTo(before);
        assertThat(usage(KEY, T0).dayTokens()).isEqualTo(100);
    }

    @Test
    void register_theSameKeysAgain_changesNothing() {
        spent(KEY, WindowLimits.NONE, 100, T0);

        store.register(registeredKeys(KEY, OTHER_KEY));

        assertThat(usage(KEY, T0).dayTokens()).isEqualTo(100);
    }
}
