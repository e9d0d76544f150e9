package dev.keypool.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keypool.config.ConfigException;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.redis.RedisUsageStore;
import dev.keypool.redis.ResilientRedisUsageStore;
import dev.keypool.rotation.ApiKeyManager;
import dev.keypool.rotation.ApiKeyRotator;
import dev.keypool.usage.DurableUsageStore;
import dev.keypool.usage.InMemoryUsageStore;
import dev.keypool.usage.UsageStore;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.env.MapPropertySource;

/** How the starter reads its configuration, and what it leaves to the application. */
class StarterConfigurationTest {

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(KeypoolAutoConfiguration.class))
            .withPropertyValues("keypool.env-file=target/no-such.env", "keypool.ollama-host=http://127.0.0.1:9");

    @Test
    void aBadProperty_failsStartUpNamingIt_withTheSeedsMessage() {
        runner.withPropertyValues("keypool.openai-api-keys=sk-proj-TEST.one", "keypool.openai-max-tokens-per-minute-0=lots")
                .run(context -> {
                    assertThat(context).hasFailed();
                    Throwable failure = context.getStartupFailure();
                    while (!(failure instanceof ConfigException) && failure.getCause() != null) {
                        failure = failure.getCause();
                    }
                    assertThat(failure).isInstanceOf(ConfigException.class)
                            .hasMessageStartingWith("keypool.openai-max-tokens-per-minute-0: ")
                            .hasMessageContaining("OPENAI_MAX_TOKENS_PER_MINUTE_0")
                            .hasMessageContaining("'lots'");
                    FailureAnalysis analysis = new KeypoolConfigFailureAnalyzer().analyze(context.getStartupFailure());
                    assertThat(analysis.getDescription()).contains("keypool.openai-max-tokens-per-minute-0");
                });
    }

    @Test
    void aPerKeyPropertyWithNoKey_isRefusedAsTheSeedRefusesIt() {
        runner.withPropertyValues("keypool.gemini-model-3=gemini-2.5-flash").run(context ->
                assertThat(context.getStartupFailure()).rootCause()
                        .hasMessageStartingWith("keypool.gemini-model-3: there is no key 3"));
    }

    @Test
    void theApplicationsOwnBeans_win() {
        ApiKeyManager own = new ApiKeyManager(KeypoolConfig.builder().addKey(Provider.SERP, "own-serp-key-TEST.0000").build());
        runner.withBean(ApiKeyManager.class, () -> own).run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context.getBean(ApiKeyManager.class)).isSameAs(own);
            assertThat(context.getBean(dev.keypool.rotation.ApiKeyRotator.class).manager()).isSameAs(own);
        });
    }

    @Test
    void propertyNames_areTheSeedsVariablesInSpringsSpelling() {
        assertThat(KeypoolVariables.variableOf("keypool.openai-api-keys")).isEqualTo("OPENAI_API_KEYS");
        assertThat(KeypoolVariables.variableOf("keypool.serp-max-tokens-per-day-2")).isEqualTo("SERP_MAX_TOKENS_PER_DAY_2");
        assertThat(KeypoolVariables.variableOf("keypool.selection-strategy")).isEqualTo("KEYPOOL_SELECTION_STRATEGY");
        assertThat(KeypoolVariables.variableOf("keypool.ollama-host")).isEqualTo("OLLAMA_HOST");
    }

    @Test
    void aProperty_winsOverTheProcessEnvironment() {
        StandardEnvironment environment = new StandardEnvironment();
        environment.getPropertySources().addFirst(new MapPropertySource("test",
                Map.of("keypool.openai-api-keys", "sk-proj-TEST.fromProperty", "keypool.env-file", "target/no-such.env")));

        KeypoolConfig config = KeypoolVariables.load(environment, Map.of("OPENAI_API_KEYS", "sk-proj-TEST.fromEnv",
                "GEMINI_API_KEYS", "AIza-TEST.fromEnv"));

        assertThat(config.keys(Provider.OPENAI)).singleElement()
                .satisfies(key -> assertThat(key.secret()).isEqualTo("sk-proj-TEST.fromProperty"));
        assertThat(config.keys(Provider.GEMINI)).hasSize(1);
    }

    @Test
    void noDataDirAndNoRedis_keepsUsageInMemory() {
        runner.run(context -> assertThat(context.getBean(UsageStore.class)).isInstanceOf(InMemoryUsageStore.class));
    }

    @Test
    void aDataDir_isTheGatewaysDurableStore_soARestartContinues(@TempDir Path dataDir) {
        runner.withPropertyValues("keypool.openai-api-keys=sk-proj-TEST.durable", "keypool.data-dir=" + dataDir)
                .run(context -> {
                    assertThat(context.getBean(UsageStore.class)).isInstanceOf(DurableUsageStore.class);
                    assertThat(context.getBean(ApiKeyManager.class).store()).isSameAs(context.getBean(UsageStore.class));
                });
        assertThat(dataDir.resolve("clean-shutdown")).as("closed with the context, cleanly").exists();
    }

    @Test
    void aRedisUrl_isTheSharedStore_startingDegradedWhileRedisIsDown() throws Exception {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = socket.getLocalPort();
        }
        runner.withPropertyValues("keypool.openai-api-keys=sk-proj-TEST.shared", "keypool.redis-url=redis://127.0.0.1:"
                + closedPort, "keypool.instances=3").run(context -> {
                    assertThat(context).hasNotFailed();
                    UsageStore store = context.getBean(UsageStore.class);
                    assertThat(store).isInstanceOf(ResilientRedisUsageStore.class);
                    assertThat(store.kind()).isEqualTo("redis");
                    assertThat(store.health().degraded()).isTrue();
                });
    }

    @Test
    void aRedisUrlWithoutKeypoolRedis_failsStartUpInsteadOfKeepingUsageInMemory() {
        runner.withClassLoader(new FilteredClassLoader(RedisUsageStore.class))
                .withPropertyValues("keypool.openai-api-keys=sk-proj-TEST.shared", "keypool.redis-url=redis://127.0.0.1:9")
                .run(context -> assertThat(context.getStartupFailure()).rootCause()
                        .isInstanceOf(ConfigException.class)
                        .hasMessageContaining("dev.keypool:keypool-redis is not on the class path"));
    }

    @Test
    void theSeedsStaticAccessors_answerWithTheContextsPool_untilItCloses() {
        runner.withPropertyValues("keypool.openai-api-keys=sk-proj-TEST.static").run(context -> {
            ApiKeyRotator rotator = context.getBean(ApiKeyRotator.class);
            assertThat(ApiKeyRotator.getApiKeyRotator()).isSameAs(rotator);
            context.close();
            assertThat(ApiKeyRotator.getApiKeyRotator()).isNotSameAs(rotator);
        });
        ApiKeyRotator.setApiKeyRotator(null);
    }
}
