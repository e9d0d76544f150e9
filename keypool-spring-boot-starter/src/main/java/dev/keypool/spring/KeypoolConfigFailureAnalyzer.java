package dev.keypool.spring;

import dev.keypool.config.ConfigException;
import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/** A start-up stopped by the pool's configuration says which property or variable, and what was wrong. */
final class KeypoolConfigFailureAnalyzer extends AbstractFailureAnalyzer<ConfigException> {

    @Override
    protected FailureAnalysis analyze(Throwable rootFailure, ConfigException cause) {
        return new FailureAnalysis("keypool cannot start: " + cause.getMessage(),
                "Correct " + cause.variable() + " (a keypool.* property, or the seed's variable in the environment"
                        + " or .env).", cause);
    }
}
