package dev.keypool.rotation;

import dev.keypool.config.KeyConfig;
import dev.keypool.config.KeyId;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.config.WindowLimits;
import dev.keypool.event.KeyEvent;
import dev.keypool.testing.ManualClock;
import dev.keypool.usage.InMemoryUsageStore;
import dev.keypool.usage.UsageStore;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;

/** A pool for tests: a manager and rotator on a manual clock, recording every event. */
final class Pool {

    /** The seed's OpenAI keys. */
    static final String KEY_1 = "sk-proj-TEST.key1";
    static final String KEY_2 = "sk-proj-TEST.key2";
    static final String KEY_3 = "sk-proj-TEST.key3";

    final ManualClock clock;
    final ApiKeyManager manager;
    final ApiKeyRotator rotator;
    final List<KeyEvent> events = new CopyOnWriteArrayList<>();

    Pool(KeypoolConfig config) {
        this(config, new InMemoryUsageStore());
    }

    Pool(KeypoolConfig config, UsageStore store) {
        this(config, store, ManualClock.atNoonish());
    }

    Pool(KeypoolConfig config, UsageStore store, ManualClock clock) {
        this.clock = clock;
        this.manager = new ApiKeyManager(config, store, clock);
        this.rotator = new ApiKeyRotator(manager);
        manager.events().addListener(events::add);
    }

    /** Three OpenAI keys, each with the given limits and no model. */
    static KeypoolConfig.Builder threeOpenAiKeys(WindowLimits limits) {
        return KeypoolConfig.builder()
                .addKey(Provider.OPENAI, KEY_1, null, limits)
                .addKey(Provider.OPENAI, KEY_2, null, limits)
                .addKey(Provider.OPENAI, KEY_3, null, limits);
    }

    static KeyId openAi(int index) {
        return KeyId.of(Provider.OPENAI, index);
    }

    /** Spends tokens on one key, as if earlier requests had used them. */
    void use(KeyId key, long tokens) {
        acquireOn(key, tokens).commit(tokens);
    }

    /** Reserves tokens on exactly this key, by excluding every other key of its provider. */
    Reservation acquireOn(KeyId key, long tokens) {
        Set<KeyId> others = manager.keys(key.provider()).stream()
                .map(KeyConfig::id)
                .filter(id -> !id.equals(key))
                .collect(Collectors.toSet());
        return rotator.acquire(key.provider(), null, tokens, others);
    }

    <T extends KeyEvent> List<T> events(Class<T> type) {
        return events.stream().filter(type::isInstance).map(type::cast).toList();
    }

    long now() {
        return clock.millis();
    }
}
