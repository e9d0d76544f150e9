package dev.keypool.adapter;

import dev.keypool.config.KeyId;
import dev.keypool.config.KeyConfig;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.config.SelectionStrategy;
import dev.keypool.providers.fake.FakeUpstream;
import dev.keypool.rotation.ApiKeyManager;
import dev.keypool.rotation.ApiKeyRotator;
import dev.keypool.rotation.KeyStatusSnapshot;
import dev.keypool.testing.ManualClock;
import dev.keypool.usage.InMemoryUsageStore;
import java.util.List;

/**
 * A pool on a manual clock whose keys all go to one fake provider, taken in configured order
 * ({@code fill-first}) so that a test knows which key serves first; and a {@link RelayClient} on
 * it. Shared by the adapters' tests. Keys are told apart by their secret, never by an index.
 */
public final class AdapterPool implements AutoCloseable {

    /** Test keys as long as real ones; the dot after {@code TEST} keeps secret scanners calm. */
    public static final String KEY_A = "sk-proj-TEST.Ab3dEf6hIj9kLm2nOp5qRs8tUv1wX-aaaa";
    public static final String KEY_B = "sk-proj-TEST.Zy9xWv8uTs7rQp6oNm5lKj4iHg3fE-bbbb";

    public final ManualClock clock = ManualClock.atNoonish();
    public final ApiKeyManager manager;
    public final ApiKeyRotator rotator;
    public final RelayClient client;

    public AdapterPool(FakeUpstream fake, String... secrets) {
        KeypoolConfig.Builder config = KeypoolConfig.builder()
                .selectionStrategy(SelectionStrategy.FILL_FIRST)
                .baseUrl(fake.provider(), fake.baseUrl())
                .baseUrl(Provider.OLLAMA, FakeUpstream.unreachableUrl());
        for (String secret : secrets) {
            config.addKey(fake.provider(), secret);
        }
        this.manager = new ApiKeyManager(config.build(), new InMemoryUsageStore(), clock);
        this.rotator = new ApiKeyRotator(manager);
        this.client = RelayClient.create(rotator);
    }

    /** The status of the key whose secret is {@code secret}. */
    public KeyStatusSnapshot status(Provider provider, String secret) {
        return manager.status(id(provider, secret));
    }

    /** The tokens used this minute by the key whose secret is {@code secret}. */
    public long minuteTokens(Provider provider, String secret) {
        return status(provider, secret).minuteTokens();
    }

    private KeyId id(Provider provider, String secret) {
        List<KeyConfig> keys = manager.keys(provider);
        for (KeyConfig key : keys) {
            if (key.secret().equals(secret)) {
                return key.id();
            }
        }
        throw new IllegalArgumentException("no such key");
    }

    @Override
    public void close() {
        client.close();
        manager.close();
    }
}
