package dev.keypool.rotation;

import static dev.keypool.rotation.Pool.openAi;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keypool.config.KeyId;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.config.SelectionStrategy;
import dev.keypool.config.WindowLimits;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Issue 14: {@code KEYPOOL_SELECTION_STRATEGY=weighted} with {@code {P}_WEIGHT_i}. */
class WeightedSelectionTest {

    private static Pool weighted(int... weights) {
        KeypoolConfig.Builder builder = KeypoolConfig.builder().selectionStrategy(SelectionStrategy.WEIGHTED);
        for (int i = 0; i < weights.length; i++) {
            builder.addKey(Provider.OPENAI, "sk-proj-TEST.weighted-" + i, null, WindowLimits.NONE, 0, weights[i]);
        }
        return new Pool(builder.build());
    }

    private static Map<KeyId, Integer> count(Pool pool, int requests) {
        Map<KeyId, Integer> counts = new HashMap<>();
        for (int i = 0; i < requests; i++) {
            Reservation reservation = pool.rotator.acquire(Provider.OPENAI, null, 1);
            counts.merge(reservation.keyId(), 1, Integer::sum);
            reservation.commit(1);
        }
        return counts;
    }

    @Test
    void weightsThreeToOne_over400Requests_give300And100() {
        assertThat(count(weighted(3, 1), 400)).isEqualTo(Map.of(openAi(0), 300, openAi(1), 100));
    }

    @Test
    void weightsAreSpreadSmoothly_notInBursts() {
        Pool pool = weighted(3, 1);
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            Reservation reservation = pool.rotator.acquire(Provider.OPENAI, null, 1);
            order.add(reservation.index());
            reservation.release();
        }
        assertThat(order).containsExactly(0, 0, 1, 0, 0, 0, 1, 0);
    }

    @Test
    void unequalWeightsOfThreeKeys_getTheirShares() {
        assertThat(count(weighted(5, 3, 2), 1_000)).isEqualTo(Map.of(openAi(0), 500, openAi(1), 300, openAi(2), 200));
    }

    @Test
    void equalDefaultWeights_takeTurns() {
        assertThat(count(weighted(1, 1, 1), 300)).isEqualTo(Map.of(openAi(0), 100, openAi(1), 100, openAi(2), 100));
    }

    @Test
    void anExcludedKey_takesNoShare_theOthersSplitByWeight() {
        Pool pool = weighted(3, 1, 1);
        Map<KeyId, Integer> counts = new HashMap<>();
        for (int i = 0; i < 400; i++) {
            Reservation reservation = pool.rotator.acquire(Provider.OPENAI, null, 1, Set.of(openAi(0)));
            counts.merge(reservation.keyId(), 1, Integer::sum);
            reservation.release();
        }
        assertThat(counts).isEqualTo(Map.of(openAi(1), 200, openAi(2), 200));
    }

    @Test
    void aKeyThatCannotServe_isSkipped_andTheNextServes() {
        Pool pool = new Pool(KeypoolConfig.builder().selectionStrategy(SelectionStrategy.WEIGHTED)
                .addKey(Provider.OPENAI, Pool.KEY_1, null, WindowLimits.of(100, 1_000_000), 0, 3)
                .addKey(Provider.OPENAI, Pool.KEY_2, null, WindowLimits.NONE, 0, 1)
                .build());
        pool.use(openAi(0), 100);

        Map<KeyId, Integer> counts = count(pool, 40);

        assertThat(counts).as("key 0's minute is full").isEqualTo(Map.of(openAi(1), 40));
    }

    @Test
    void theStatusShowsEachKeysWeight() {
        Pool pool = weighted(3, 1);
        assertThat(pool.manager.status(openAi(0)).weight()).isEqualTo(3);
        assertThat(pool.manager.status(openAi(1)).weight()).isEqualTo(1);
    }
}
