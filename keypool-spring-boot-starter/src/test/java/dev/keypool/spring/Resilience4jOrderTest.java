package dev.keypool.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keypool.rotation.NoAvailableKeyException;
import io.github.resilience4j.retry.RetryRegistry;
import io.github.resilience4j.common.retry.configuration.CommonRetryConfigurationProperties.InstanceProperties;
import io.github.resilience4j.spring6.fallback.configure.FallbackConfiguration;
import io.github.resilience4j.spring6.retry.configure.RetryConfiguration;
import io.github.resilience4j.spring6.retry.configure.RetryConfigurationProperties;
import io.github.resilience4j.spring6.spelresolver.configure.SpelResolverConfiguration;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.aop.AopAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/**
 * The documented order beside resilience4j: {@code Retry(WithApiKeyRotation(method))}. One
 * resilience4j attempt is one pass over the pool, so one key's rate limit never reaches it, and
 * only a spent pool is retried.
 */
class Resilience4jOrderTest {

    private static final String KEY_A = "sk-proj-TEST.Ab3dEf6hIj9kLm2nOp5qRs8tUv1wX-aaaa";
    private static final String KEY_B = "sk-proj-TEST.Zy9xWv8uTs7rQp6oNm5lKj4iHg3fE-bbbb";

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(AopAutoConfiguration.class, KeypoolAutoConfiguration.class))
            .withUserConfiguration(RetryConfiguration.class, FallbackConfiguration.class, SpelResolverConfiguration.class)
            .withBean(RetryConfigurationProperties.class, Resilience4jOrderTest::retries)
            .withPropertyValues("keypool.env-file=target/no-such.env", "keypool.ollama-host=http://127.0.0.1:9",
                    "keypool.openai-api-keys=" + KEY_A + "," + KEY_B, "keypool.selection-strategy=fill-first")
            .withBean(Calls.class);

    /** resilience4j's {@code resilience4j.retry.instances.pool}: two attempts, no wait between them. */
    private static RetryConfigurationProperties retries() {
        InstanceProperties pool = new InstanceProperties();
        pool.setMaxAttempts(2);
        pool.setWaitDuration(Duration.ZERO);
        RetryConfigurationProperties properties = new RetryConfigurationProperties();
        properties.getInstances().put("pool", pool);
        return properties;
    }

    /** Rate-limited on the keys it is told; read through methods, the bean is a proxy. */
    static class Calls {

        private final List<String> keys = new CopyOnWriteArrayList<>();
        private volatile List<String> limited = List.of();

        public List<String> keys() {
            return keys;
        }

        public void limit(String... secrets) {
            limited = List.of(secrets);
        }

        @io.github.resilience4j.retry.annotation.Retry(name = "pool")
        @WithApiKeyRotation(provider = "openai", tokensNeeded = 10)
        public String call(String apiKey) {
            keys.add(apiKey);
            if (limited.contains(apiKey)) {
                throw new IllegalStateException("429 rate limit reached");
            }
            return "ok";
        }
    }

    @Test
    void oneKeysRateLimit_isAnsweredByTheNextKey_beforeResilience4jSeesIt() {
        runner.run(context -> {
            Calls calls = context.getBean(Calls.class);
            calls.limit(KEY_A);

            assertThat(calls.call("ignored")).isEqualTo("ok");

            assertThat(calls.keys()).containsExactly(KEY_A, KEY_B);
            var metrics = context.getBean(RetryRegistry.class).retry("pool").getMetrics();
            assertThat(metrics.getNumberOfSuccessfulCallsWithoutRetryAttempt()).isEqualTo(1);
            assertThat(metrics.getNumberOfSuccessfulCallsWithRetryAttempt()).isZero();
        });
    }

    @Test
    void aSpentPool_isWhatResilience4jRetries_aNewPassThatFindsTheKeysResting() {
        runner.run(context -> {
            Calls calls = context.getBean(Calls.class);
            calls.limit(KEY_A, KEY_B);

            assertThatThrownBy(() -> calls.call("ignored")).isInstanceOf(NoAvailableKeyException.class);

            // the first pass tried both keys; the retry's pass found both resting and called nothing
            assertThat(calls.keys()).containsExactly(KEY_A, KEY_B);
            var metrics = context.getBean(RetryRegistry.class).retry("pool").getMetrics();
            assertThat(metrics.getNumberOfFailedCallsWithRetryAttempt()).isEqualTo(1);
        });
    }
}
