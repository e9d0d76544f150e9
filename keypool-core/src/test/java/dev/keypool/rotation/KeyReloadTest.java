package dev.keypool.rotation;

import static dev.keypool.rotation.Pool.KEY_1;
import static dev.keypool.rotation.Pool.KEY_2;
import static dev.keypool.rotation.Pool.KEY_3;
import static dev.keypool.rotation.Pool.openAi;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keypool.config.ConfigException;
import dev.keypool.config.EnvConfigLoader;
import dev.keypool.config.KeyChanges;
import dev.keypool.config.KeyConfig;
import dev.keypool.config.KeyId;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.config.SelectionStrategy;
import dev.keypool.config.WindowLimits;
import dev.keypool.event.KeyEvent;
import dev.keypool.failure.Failure;
import dev.keypool.failure.FailureKind;
import dev.keypool.usage.KeyStatus;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Keys that change while the pool runs ({@link ApiKeyManager#reload}): judged by which secret the
 * rotator hands out, what the status shows and what the store counted.
 */
class KeyReloadTest {

    private static final String KEY_4 = "sk-proj-TEST.key4";
    private static final WindowLimits LIMITS = WindowLimits.of(10_000, 100_000);

    private final Pool pool = new Pool(config(List.of(KEY_1, KEY_2), LIMITS));

    private static KeypoolConfig config(List<String> secrets, WindowLimits limits) {
        KeypoolConfig.Builder builder = KeypoolConfig.builder().selectionStrategy(SelectionStrategy.FILL_FIRST);
        secrets.forEach(secret -> builder.addKey(Provider.OPENAI, secret, null, limits));
        return builder.build();
    }

    private KeyConfig keyWithSecret(String secret) {
        return pool.manager.keys(Provider.OPENAI).stream().filter(key -> key.secret().equals(secret)).findFirst()
                .orElseThrow();
    }

    /** The secrets the next {@code count} requests are served with, each settled at once. */
    private List<String> serve(int count) {
        List<String> served = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            try (Reservation reservation = pool.rotator.acquire(Provider.OPENAI, null, 10)) {
                served.add(reservation.apiKey());
                reservation.commit(10);
            }
        }
        return served;
    }

    @Test
    void reload_addedKey_joinsTheSelectionUnderTheNextIndex() {
        KeyChanges changes = pool.manager.reload(config(List.of(KEY_1, KEY_2, KEY_3), LIMITS));

        assertThat(changes.providers().get(Provider.OPENAI).added())
                .containsExactly(new KeyChanges.Key(openAi(2), "sk-p…key3", List.of()));
        Set<KeyId> others = Set.of(openAi(0), openAi(1));
        try (Reservation reservation = pool.rotator.acquire(Provider.OPENAI, null, 10, others)) {
            assertThat(reservation.apiKey()).isEqualTo(KEY_3);
            assertThat(reservation.keyId()).isEqualTo(openAi(2));
        }
    }

    @Test
    void reload_removedKey_leavesTheSelectionAtOnce_andItsRequestInFlightSettlesIntoItsWindows() {
        Reservation inFlight = pool.rotator.acquire(Provider.OPENAI, null, 500);
        assertThat(inFlight.apiKey()).isEqualTo(KEY_1);

        KeyChanges changes = pool.manager.reload(config(List.of(KEY_2), LIMITS));

        assertThat(changes.providers().get(Provider.OPENAI).removed()).extracting(KeyChanges.Key::key)
                .containsExactly(openAi(0));
        // Fill-first would pick key 1 first while it was configured.
        assertThat(serve(3)).containsOnly(KEY_2);
        assertThat(pool.manager.leavingKeys(Provider.OPENAI)).singleElement()
                .satisfies(key -> assertThat(key.requestsInFlight()).isEqualTo(1));

        inFlight.commit(300);

        assertThat(pool.manager.leavingKeys(Provider.OPENAI)).isEmpty();
        long now = pool.now();
        assertThat(pool.manager.store().usage(openAi(0), now, pool.manager.day(now)).dayTokens()).isEqualTo(300);
        assertThat(pool.manager.keys(Provider.OPENAI)).extracting(KeyConfig::secret).containsExactly(KEY_2);
    }

    @Test
    void reload_keyRemovedThenAddedBack_returnsWithItsHandleAndItsUsage() {
        pool.use(openAi(0), 700);
        pool.manager.reload(config(List.of(KEY_2), LIMITS));

        pool.manager.reload(config(List.of(KEY_2, KEY_1), LIMITS));

        KeyConfig back = keyWithSecret(KEY_1);
        assertThat(back.id()).isEqualTo(openAi(0));
        assertThat(pool.manager.status(back.id()).dayTokens()).isEqualTo(700);
    }

    @Test
    void reload_replacedSecretAtTheSameIndex_isANewKey_andTheOldOnesTicketStillSettlesIntoTheOldKey() {
        Reservation onOldKey = pool.acquireOn(openAi(0), 400);
        pool.manager.deactivate(openAi(1), "by the test");
        pool.use(openAi(0), 100);

        KeyChanges changes = pool.manager.reload(config(List.of(KEY_4, KEY_2), LIMITS));

        KeyConfig replacement = keyWithSecret(KEY_4);
        assertThat(replacement.id()).as("a handle never names another secret in a process").isNotEqualTo(openAi(0));
        KeyChanges.ProviderChanges openAi = changes.providers().get(Provider.OPENAI);
        assertThat(openAi.removed()).extracting(KeyChanges.Key::key).containsExactly(openAi(0));
        assertThat(openAi.added()).extracting(KeyChanges.Key::key).containsExactly(replacement.id());
        assertThat(openAi.kept()).extracting(KeyChanges.Key::key).containsExactly(openAi(1));
        KeyStatusSnapshot fresh = pool.manager.status(replacement.id());
        assertThat(fresh.dayTokens()).isZero();
        assertThat(fresh.status()).isEqualTo(KeyStatus.ACTIVE);

        onOldKey.commit(250);

        long now = pool.now();
        assertThat(pool.manager.store().usage(openAi(0), now, pool.manager.day(now)).dayTokens()).isEqualTo(350);
        assertThat(pool.manager.status(replacement.id()).dayTokens()).isZero();
        assertThat(pool.manager.status(openAi(1)).status()).isEqualTo(KeyStatus.DEACTIVATED);
    }

    @Test
    void reload_reorderedKeys_keepTheirHandlesWindowsAndStates_andTakeTheirNewSettings() {
        pool.use(openAi(0), 300);
        pool.manager.recordFailure(pool.manager.key(openAi(1)),
                new Failure(FailureKind.RATE_LIMITED, Duration.ofSeconds(30), "429"), false);

        KeypoolConfig reordered = KeypoolConfig.builder().selectionStrategy(SelectionStrategy.FILL_FIRST)
                .addKey(Provider.OPENAI, KEY_2, null, LIMITS)
                .addKey(Provider.OPENAI, KEY_1, "gpt-4o-mini", WindowLimits.of(5_000, 100_000), 3, 2)
                .build();
        KeyChanges changes = pool.manager.reload(reordered);

        assertThat(pool.manager.keys(Provider.OPENAI)).extracting(KeyConfig::id).containsExactly(openAi(1), openAi(0));
        KeyStatusSnapshot first = pool.manager.status(openAi(0));
        assertThat(first.dayTokens()).isEqualTo(300);
        assertThat(first.model()).isEqualTo("gpt-4o-mini");
        assertThat(first.minuteLimit()).isEqualTo(5_000);
        assertThat(first.maxConcurrent()).isEqualTo(3);
        assertThat(first.weight()).isEqualTo(2);
        assertThat(pool.manager.status(openAi(1)).status()).isEqualTo(KeyStatus.COOLING_DOWN);
        assertThat(changes.providers().get(Provider.OPENAI).kept()).containsExactly(
                new KeyChanges.Key(openAi(1), "sk-p…key2", List.of("position")),
                new KeyChanges.Key(openAi(0), "sk-p…key1",
                        List.of("model", "max_tokens_per_minute", "max_concurrent", "weight", "position")));
        assertThat(changes.providers().get(Provider.OPENAI).added()).isEmpty();
        assertThat(changes.restartRequired()).isEmpty();
        // Key 2 is cooling down, so fill-first serves from key 1, now second in .env.
        assertThat(serve(1)).containsExactly(KEY_1);
    }

    @Test
    void reload_aKeptKeysNewCapOnRequestsInFlight_bindsAtOnce() {
        Reservation first = pool.acquireOn(openAi(0), 10);

        pool.manager.reload(KeypoolConfig.builder().selectionStrategy(SelectionStrategy.FILL_FIRST)
                .addKey(Provider.OPENAI, KEY_1, null, LIMITS, 1, 1)
                .addKey(Provider.OPENAI, KEY_2, null, LIMITS)
                .build());

        assertThat(serve(2)).containsOnly(KEY_2);
        first.release();
        assertThat(serve(1)).containsExactly(KEY_1);
    }

    @Test
    void reload_refusedConfiguration_changesNothing_andIsAnnouncedWithItsMessage() {
        pool.use(openAi(0), 200);
        List<KeyConfig> before = pool.manager.keys(Provider.OPENAI);

        assertThatThrownBy(() -> pool.manager.reload(() -> EnvConfigLoader.fromVariables(Map.of(
                "OPENAI_API_KEYS", KEY_3 + "," + KEY_4,
                "OPENAI_MAX_TOKENS_PER_MINUTE_1", "lots"))))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("OPENAI_MAX_TOKENS_PER_MINUTE_1");

        assertThat(pool.manager.keys(Provider.OPENAI)).isSameAs(before);
        assertThat(serve(1)).containsExactly(KEY_1);
        assertThat(pool.manager.status(openAi(0)).dayTokens()).isEqualTo(210);
        KeyEvent.KeysReloaded refused = pool.events(KeyEvent.KeysReloaded.class).getLast();
        assertThat(refused.applied()).isFalse();
        assertThat(refused.errors()).singleElement().asString().contains("OPENAI_MAX_TOKENS_PER_MINUTE_1");
    }

    @Test
    void reload_applied_isAnnounced_andNamesWhatOnlyARestartApplies() {
        KeypoolConfig next = KeypoolConfig.builder().selectionStrategy(SelectionStrategy.ROUND_ROBIN)
                .setting("KEYPOOL_PORT", "9999")
                .addKey(Provider.OPENAI, KEY_1, null, LIMITS)
                .addKey(Provider.OPENAI, KEY_2, null, LIMITS)
                .build();

        KeyChanges changes = pool.manager.reload(next);

        assertThat(changes.restartRequired()).containsExactly("KEYPOOL_PORT", "KEYPOOL_SELECTION_STRATEGY");
        assertThat(changes.changedAnyKey()).isFalse();
        assertThat(pool.manager.config().selectionStrategy()).isEqualTo(SelectionStrategy.FILL_FIRST);
        assertThat(serve(2)).containsExactly(KEY_1, KEY_1);
        KeyEvent.KeysReloaded applied = pool.events(KeyEvent.KeysReloaded.class).getLast();
        assertThat(applied.applied()).isTrue();
        assertThat(applied.changes()).isEqualTo(changes);
    }

    @Test
    void reload_weightedSelection_spreadsOverTheKeysInServiceOnly() {
        Pool weighted = new Pool(KeypoolConfig.builder().selectionStrategy(SelectionStrategy.WEIGHTED)
                .addKey(Provider.OPENAI, KEY_1, null, WindowLimits.NONE, 0, 1)
                .addKey(Provider.OPENAI, KEY_2, null, WindowLimits.NONE, 0, 1)
                .build());

        weighted.manager.reload(KeypoolConfig.builder().selectionStrategy(SelectionStrategy.WEIGHTED)
                .addKey(Provider.OPENAI, KEY_2, null, WindowLimits.NONE, 0, 1)
                .addKey(Provider.OPENAI, KEY_3, null, WindowLimits.NONE, 0, 3)
                .build());

        List<String> served = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            try (Reservation reservation = weighted.rotator.acquire(Provider.OPENAI, null, 1)) {
                served.add(reservation.apiKey());
            }
        }
        assertThat(served).doesNotContain(KEY_1);
        assertThat(served.stream().filter(KEY_3::equals).count()).isEqualTo(6);
    }

    @Test
    void reload_aRemovedKeysRequestInFlight_mayStillReportTheProvidersBudget() {
        Reservation inFlight = pool.acquireOn(openAi(0), 10);
        pool.manager.reload(config(List.of(KEY_2), LIMITS));

        // What the gateway does with the rate-limit headers of the answer, before it commits.
        pool.manager.observeBudget(openAi(0), new ProviderBudget(5, pool.now() + 60_000, -1, 0));
        inFlight.commit(10);

        assertThat(pool.manager.leavingKeys(Provider.OPENAI)).isEmpty();
        assertThat(serve(1)).containsExactly(KEY_2);
    }
}
