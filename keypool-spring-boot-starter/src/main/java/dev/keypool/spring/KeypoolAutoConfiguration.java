package dev.keypool.spring;

import dev.keypool.adapter.RelayClient;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.providers.LlmService;
import dev.keypool.providers.Relay;
import dev.keypool.providers.SearchService;
import dev.keypool.rotation.ApiKeyManager;
import dev.keypool.micrometer.KeypoolMeterBinder;
import dev.keypool.rotation.ApiKeyRotator;
import dev.keypool.usage.UsageStore;
import java.time.Clock;
import java.time.Duration;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.io.ResourceLoader;

/**
 * keypool in a Spring Boot application: the pool ({@link KeypoolConfig}, {@link ApiKeyManager},
 * {@link ApiKeyRotator}), the services on it ({@link LlmService}, {@link SearchService}), the
 * {@link Relay} they share and a {@link RelayClient} for the framework adapters, each only when the
 * application has none of its own; a Micrometer binder and an Actuator health indicator when those
 * are on the class path; and {@link WithApiKeyRotation} on the application's beans.
 *
 * <p>The configuration comes from {@code keypool.*} properties and the seed's variables and
 * {@code .env}, as {@link KeypoolVariables} describes.
 */
@AutoConfiguration
public class KeypoolAutoConfiguration {

    @Bean
    @ConditionalOnMissingBean
    KeypoolConfig keypoolConfig(ConfigurableEnvironment environment) {
        return KeypoolVariables.load(environment, System.getenv());
    }

    /**
     * Where usage and key state live, as the gateway chooses for the same configuration: Redis
     * when {@code keypool.redis-url} is set ({@code keypool-redis} on the class path), the durable
     * store in {@code keypool.data-dir} when that is, else memory.
     */
    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean
    UsageStore keypoolUsageStore(KeypoolConfig config, ObjectProvider<Clock> clock, ResourceLoader resources) {
        return KeypoolStores.usage(config, clock.getIfAvailable(Clock::systemUTC), resources.getClassLoader());
    }

    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean
    ApiKeyManager apiKeyManager(KeypoolConfig config, UsageStore store, ObjectProvider<Clock> clock) {
        ApiKeyManager manager = new ApiKeyManager(config, store, clock.getIfAvailable(Clock::systemUTC));
        // as the gateway does: expired reservations released, rested keys back
        manager.startMaintenance(Duration.ofSeconds(1));
        return manager;
    }

    @Bean
    @ConditionalOnMissingBean
    ApiKeyRotator apiKeyRotator(ApiKeyManager manager) {
        return new ApiKeyRotator(manager);
    }

    /**
     * The seed's static accessors ({@code ApiKeyRotator.getApiKeyRotator()}, {@code getLlmService()})
     * answer with the application's pool while its context runs, as the gateway wires them, so code
     * written against the seed sees the same keys and accounting; closing the context hands them back.
     */
    @Bean
    ProcessWideRotator keypoolProcessWideRotator(ApiKeyRotator rotator) {
        return new ProcessWideRotator(rotator);
    }

    /** Installs a rotator as the process-wide one, and takes it back when the context closes. */
    static final class ProcessWideRotator implements AutoCloseable {

        private final ApiKeyRotator rotator;

        ProcessWideRotator(ApiKeyRotator rotator) {
            this.rotator = rotator;
            ApiKeyRotator.setApiKeyRotator(rotator);
        }

        @Override
        public void close() {
            synchronized (ProcessWideRotator.class) {
                if (ApiKeyRotator.getApiKeyRotator() == rotator) {
                    ApiKeyRotator.setApiKeyRotator(null);
                }
            }
        }
    }

    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean
    Relay keypoolRelay(ApiKeyRotator rotator) {
        ApiKeyManager manager = rotator.manager();
        return Relay.create(rotator, KeypoolStores.affinity(manager.config(), manager.store(), manager.clock()));
    }

    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean
    LlmService llmService(Relay relay) {
        return new LlmService(relay);
    }

    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean
    SearchService searchService(Relay relay) {
        return new SearchService(relay);
    }

    /** The client the LangChain4j, OpenAI Java SDK and Spring AI adapters are built on; it shares the relay. */
    @Bean
    @ConditionalOnMissingBean
    RelayClient keypoolRelayClient(Relay relay, ApiKeyManager manager) {
        return RelayClient.on(relay, manager.clock());
    }

    /** Puts a pooled key into {@link WithApiKeyRotation} methods; static, as every post-processor. */
    @Bean
    static KeyRotationPostProcessor keypoolKeyRotationPostProcessor(ObjectProvider<ApiKeyRotator> rotator) {
        return new KeyRotationPostProcessor(rotator);
    }

    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(name = "io.micrometer.core.instrument.binder.MeterBinder")
    static class Metrics {

        @Bean
        @ConditionalOnMissingBean
        KeypoolMeterBinder keypoolMeterBinder(ApiKeyManager manager, ApiKeyRotator rotator) {
            return new KeypoolMeterBinder(manager, rotator);
        }
    }

    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(name = "org.springframework.boot.health.contributor.HealthIndicator")
    static class Health {

        @Bean(name = "keypool")
        @ConditionalOnMissingBean(KeypoolHealthIndicator.class)
        KeypoolHealthIndicator keypoolHealthIndicator(ApiKeyManager manager) {
            return new KeypoolHealthIndicator(manager);
        }
    }
}
