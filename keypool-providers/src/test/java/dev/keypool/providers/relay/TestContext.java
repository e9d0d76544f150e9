package dev.keypool.providers.relay;

import dev.keypool.config.KeypoolConfig;
import dev.keypool.providers.internal.ProviderSettings;
import dev.keypool.providers.internal.TokenEstimator;
import dev.keypool.testing.ManualClock;
import java.util.function.Consumer;

/**
 * What a provider package is built with in a test: a configuration (built here, changed by the
 * test), this module's settings read from it, the estimator, and a manual clock.
 */
public final class TestContext {

    private TestContext() {
    }

    /** A context on a configuration that {@code change} writes (the defaults otherwise: nothing is sent by it). */
    public static RelayContext of(Consumer<KeypoolConfig.Builder> change) {
        KeypoolConfig.Builder builder = KeypoolConfig.builder();
        change.accept(builder);
        return of(builder.build());
    }

    public static RelayContext of(KeypoolConfig config) {
        return new RelayContext(config, ProviderSettings.from(config), new TokenEstimator(), ManualClock.atNoonish());
    }
}
