package dev.keypool.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keypool.config.Provider;
import dev.keypool.rotation.ApiKeyManager;
import dev.keypool.rotation.NoAvailableKeyException;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/** {@link WithApiKeyRotation} on a bean of the application, and the health when no key can serve. */
class RotationAnnotationTest {

    private static final String KEY_A = "sk-proj-TEST.Ab3dEf6hIj9kLm2nOp5qRs8tUv1wX-aaaa";
    private static final String KEY_B = "sk-proj-TEST.Zy9xWv8uTs7rQp6oNm5lKj4iHg3fE-bbbb";

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(KeypoolAutoConfiguration.class))
            .withPropertyValues("keypool.env-file=target/no-such.env", "keypool.ollama-host=http://127.0.0.1:9",
                    "keypool.openai-api-keys=" + KEY_A + "," + KEY_B, "keypool.selection-strategy=fill-first")
            .withBean(Calls.class);

    /** Records the key of each call; fails as it is told to. Read through methods: the bean is a proxy. */
    static class Calls {

        private final List<String> keys = new CopyOnWriteArrayList<>();
        private volatile RuntimeException failure;

        public List<String> keys() {
            return keys;
        }

        public void failWith(RuntimeException failure) {
            this.failure = failure;
        }

        @WithApiKeyRotation(provider = "openai", tokensNeeded = 50)
        public String call(String apiKey, String prompt) {
            keys.add(apiKey);
            if (failure != null) {
                throw failure;
            }
            return prompt + " on " + apiKey.substring(apiKey.length() - 4);
        }

        @WithApiKeyRotation(provider = "openai")
        public String read(String prompt, @PooledKey String apiKey) throws IOException {
            keys.add(apiKey);
            throw new IOException("disk full");
        }
    }

    /** Has no parameter for the key. */
    static class Keyless {

        @WithApiKeyRotation(provider = "openai")
        public String call(int times) {
            return "never";
        }
    }

    @Test
    void aMethodWithNoPlaceForTheKey_failsStartUpNamingIt() {
        runner.withBean(Keyless.class).run(context -> assertThat(context.getStartupFailure()).rootCause()
                .hasMessageContaining("Keyless.call(int)").hasMessageContaining("needs a String parameter for the key"));
    }

    @Test
    void aFailureOfTheMethodsOwn_isThrownAsItIs_afterOneKey() {
        runner.run(context -> {
            Calls calls = context.getBean(Calls.class);
            calls.failWith(new IllegalArgumentException("the prompt is empty"));

            assertThatThrownBy(() -> calls.call("ignored", "")).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("the prompt is empty");
            assertThat(calls.keys()).containsExactly(KEY_A);
        });
    }

    @Test
    void aCheckedExceptionTheMethodDeclares_isThrownUnwrapped_andAMarkedParameterGetsTheKey() {
        runner.run(context -> {
            Calls calls = context.getBean(Calls.class);

            assertThatThrownBy(() -> calls.read("x", null)).isInstanceOf(IOException.class).hasMessage("disk full");
            assertThat(calls.keys()).containsExactly(KEY_A);
        });
    }

    @Test
    void everyKeyRateLimited_isNoAvailableKeyException_withTheWait_andTheHealthIsDown() {
        runner.run(context -> {
            Calls calls = context.getBean(Calls.class);
            calls.failWith(new IllegalStateException("429 Too Many Requests: rate limit reached, try again in 20s"));

            assertThatThrownBy(() -> calls.call("ignored", "hi")).isInstanceOfSatisfying(NoAvailableKeyException.class,
                    e -> assertThat(e.retryAt()).isNotNull());
            assertThat(calls.keys()).containsExactly(KEY_A, KEY_B);

            ApiKeyManager manager = context.getBean(ApiKeyManager.class);
            assertThat(manager.providerStatus(Provider.OPENAI).activeKeys()).isZero();
            assertThat(context.getBean(KeypoolHealthIndicator.class).health(true).getStatus()).isEqualTo(Status.DOWN);
        });
    }
}
