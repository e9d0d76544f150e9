package dev.keypool.event;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.keypool.config.KeyId;
import dev.keypool.config.Provider;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class KeyEventsTest {

    private static final KeyEvent EVENT = new KeyEvent.KeyReactivated(1L, KeyId.of(Provider.OPENAI, 0), "sk-p\u2026key1", true);

    private final KeyEvents events = new KeyEvents();

    @Test
    void publish_handsTheEventToEveryListenerInOrder() {
        List<String> received = new ArrayList<>();
        events.addListener(event -> received.add("first " + event.type()));
        events.addListener(event -> received.add("second " + event.type()));

        events.publish(() -> EVENT);

        assertThat(received).containsExactly("first key_reactivated", "second key_reactivated");
    }

    @Test
    void publish_withoutListeners_doesNotBuildTheEvent() {
        AtomicInteger built = new AtomicInteger();

        events.publish(() -> {
            built.incrementAndGet();
            return EVENT;
        });

        assertThat(events.hasListeners()).isFalse();
        assertThat(built).hasValue(0);
    }

    @Test
    void aFailingListener_neitherFailsThePublisherNorStarvesTheOthers_andIsLogged() {
        Logger logger = (Logger) LoggerFactory.getLogger(KeyEvents.class);
        ListAppender<ILoggingEvent> appender = new ListAppender<>();
        appender.start();
        logger.addAppender(appender);
        logger.setAdditive(false);
        try {
            List<KeyEvent> received = new ArrayList<>();
            events.addListener(event -> {
                throw new IllegalStateException("metrics are broken");
            });
            events.addListener(received::add);

            events.publish(() -> EVENT);

            assertThat(received).containsExactly(EVENT);
            assertThat(appender.list).singleElement().satisfies(logged -> {
                assertThat(logged.getLevel()).isEqualTo(Level.WARN);
                assertThat(logged.getFormattedMessage()).contains("failed on key_reactivated");
                assertThat(logged.getThrowableProxy().getMessage()).isEqualTo("metrics are broken");
            });
        } finally {
            logger.detachAppender(appender);
            logger.setAdditive(true);
        }
    }

    @Test
    void removeListener_stopsDelivery_andTheLastRemovalStopsBuilding() {
        List<KeyEvent> received = new ArrayList<>();
        KeyEventListener listener = received::add;
        events.addListener(listener);

        events.removeListener(listener);
        events.publish(() -> EVENT);

        assertThat(received).isEmpty();
        assertThat(events.hasListeners()).isFalse();
    }
}
