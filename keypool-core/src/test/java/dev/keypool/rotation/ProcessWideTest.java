package dev.keypool.rotation;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keypool.config.WindowLimits;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ProcessWideTest {

    /** A service built on a rotator, as LlmService and SearchService are. */
    static final class Service implements AutoCloseable {
        static final AtomicInteger CLOSED = new AtomicInteger();
        final ApiKeyRotator rotator;

        Service(ApiKeyRotator rotator) {
            this.rotator = rotator;
        }

        @Override
        public void close() {
            CLOSED.incrementAndGet();
        }
    }

    @AfterEach
    void reset() {
        ProcessWide.reset();
    }

    @Test
    void issue13_aServiceBuiltOnTheProcessWideRotator_followsItWhenAnotherIsInstalled() {
        Pool first = new Pool(Pool.threeOpenAiKeys(WindowLimits.NONE).build());
        Pool second = new Pool(Pool.threeOpenAiKeys(WindowLimits.NONE).build());
        ApiKeyRotator.setApiKeyRotator(first.rotator);
        Service before = ProcessWide.get(Service.class, Service::new);
        int closed = Service.CLOSED.get();

        ApiKeyRotator.setApiKeyRotator(second.rotator);
        Service after = ProcessWide.get(Service.class, Service::new);

        assertThat(before.rotator).isSameAs(first.rotator);
        assertThat(after.rotator).as("never disagrees with getApiKeyRotator()").isSameAs(second.rotator)
                .isSameAs(ApiKeyRotator.getApiKeyRotator());
        assertThat(Service.CLOSED.get()).as("the old one's connections are closed").isEqualTo(closed + 1);
        assertThat(ProcessWide.get(Service.class, Service::new)).isSameAs(after);
    }

    @Test
    void installingTheSameRotatorAgain_keepsWhatWasBuilt() {
        Pool pool = new Pool(Pool.threeOpenAiKeys(WindowLimits.NONE).build());
        ApiKeyRotator.setApiKeyRotator(pool.rotator);
        Service service = ProcessWide.get(Service.class, Service::new);

        ApiKeyRotator.setApiKeyRotator(pool.rotator);

        assertThat(ProcessWide.get(Service.class, Service::new)).isSameAs(service);
    }
}
