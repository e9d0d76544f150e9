package dev.keypool.providers.relay;

import dev.keypool.config.KeypoolConfig;
import dev.keypool.providers.internal.ProviderSettings;
import dev.keypool.providers.internal.TokenEstimator;
import java.time.Clock;

/** What every provider's package is built with: the configuration, this module's settings, the estimator, the clock. */
public record RelayContext(KeypoolConfig config, ProviderSettings settings, TokenEstimator estimator, Clock clock) {
}
