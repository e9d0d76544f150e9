package dev.keypool.providers;

import dev.keypool.config.KeyId;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.config.SelectionStrategy;
import dev.keypool.config.WindowLimits;
import dev.keypool.providers.fake.FakeUpstream;
import dev.keypool.rotation.ApiKeyManager;
import dev.keypool.rotation.ApiKeyRotator;
import dev.keypool.rotation.KeyStatusSnapshot;
import dev.keypool.testing.ManualClock;
import dev.keypool.usage.InMemoryUsageStore;
import java.util.List;

/**
 * A pool on a manual clock whose providers are fakes, and the services on it. Keys are taken in
 * configured order ({@code fill-first}) so that tests know which key serves first. Ollama points at
 * a closed port unless a fake is given: it is then simply not running.
 */
final class TestPool implements AutoCloseable {

    final ManualClock clock = ManualClock.atNoonish();
    final KeypoolConfig config;
    final ApiKeyManager manager;
    final ApiKeyRotator rotator;
    final LlmService llm;
    final SearchService search;

    private TestPool(KeypoolConfig config) {
        this.config = config;
        this.manager = new ApiKeyManager(config, new InMemoryUsageStore(), clock);
        this.rotator = new ApiKeyRotator(manager);
        this.llm = new LlmService(rotator);
        this.search = new SearchService(rotator);
    }

    static Builder builder() {
        return new Builder();
    }

    KeyStatusSnapshot status(Provider provider, int index) {
        return manager.status(KeyId.of(provider, index));
    }

    @Override
    public void close() {
        llm.close();
        manager.close();
        search.close();
    }

    static final class Builder {

        private final KeypoolConfig.Builder config = KeypoolConfig.builder()
                .selectionStrategy(SelectionStrategy.FILL_FIRST)
                .baseUrl(Provider.OLLAMA, FakeUpstream.unreachableUrl())
                // a fake's first answer on two busy cores may take longer than Ollama's usual 2 s
                .setting("KEYPOOL_OLLAMA_PROBE_TIMEOUT_SECONDS", "30");

        /** Adds keys of the fake's provider, no model configured, unlimited. */
        Builder keys(FakeUpstream fake, String... secrets) {
            config.baseUrl(fake.provider(), fake.baseUrl());
            for (String secret : secrets) {
                config.addKey(fake.provider(), secret);
            }
            return this;
        }

        /** Adds one key with a model and limits. */
        Builder key(FakeUpstream fake, String secret, String model, long perMinute, long perDay) {
            config.baseUrl(fake.provider(), fake.baseUrl());
            config.addKey(fake.provider(), secret, model, WindowLimits.of(perMinute, perDay));
            return this;
        }

        Builder ollama(FakeUpstream fake) {
            config.baseUrl(Provider.OLLAMA, fake.baseUrl());
            return this;
        }

        Builder ollamaModel(String model) {
            config.ollamaModel(model);
            return this;
        }

        Builder priority(Provider... providers) {
            config.providerPriority(List.of(providers));
            return this;
        }

        Builder fallback(String model, String standIn) {
            config.fallback(model, standIn);
            return this;
        }

        Builder setting(String name, String value) {
            config.setting(name, value);
            return this;
        }

        /** Settings as {@code name, value, …} pairs. */
        Builder settings(String... pairs) {
            for (int i = 0; i < pairs.length; i += 2) {
                config.setting(pairs[i], pairs[i + 1]);
            }
            return this;
        }

        Builder configure(java.util.function.Consumer<KeypoolConfig.Builder> change) {
            change.accept(config);
            return this;
        }

        TestPool build() {
            return new TestPool(config.build());
        }
    }

}
