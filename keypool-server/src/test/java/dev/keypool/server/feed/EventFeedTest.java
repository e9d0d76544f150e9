package dev.keypool.server.feed;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keypool.config.KeyId;
import dev.keypool.config.Provider;
import dev.keypool.event.KeyEvent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class EventFeedTest {

    private static final Pattern TOKENS = Pattern.compile("\"tokens\":(\\d+)");

    private static KeyEvent acquired(long n) {
        return new KeyEvent.KeyAcquired(n, KeyId.of(Provider.OPENAI, 0), "sk-p\u2026key1", "gpt-4o", n);
    }

    private static List<Long> replayed(EventFeed feed) throws InterruptedException {
        List<Long> tokens = new ArrayList<>();
        try (EventFeed.Subscription subscription = feed.subscribe()) {
            assertThat(subscription.next(Duration.ZERO).name()).isEqualTo("status");
            EventFeed.Frame frame;
            while ((frame = subscription.next(Duration.ZERO)) != null) {
                Matcher matcher = TOKENS.matcher(frame.data());
                assertThat(matcher.find()).as(frame.data()).isTrue();
                tokens.add(Long.parseLong(matcher.group(1)));
            }
        }
        return tokens;
    }

    @Test
    void subscribe_replaysTheLastEventsInTheOrderTheyCame() throws InterruptedException {
        try (EventFeed feed = new EventFeed(() -> "{}")) {
            for (long n = 1; n <= 70; n++) {
                feed.onEvent(acquired(n));
            }

            assertThat(replayed(feed)).hasSize(EventFeed.REPLAYED_EVENTS).isSorted()
                    .startsWith(21L).endsWith(70L);
        }
    }

    @Test
    void onEvent_fromManyThreadsAtOnce_keepsEveryReplayedEventWholeAndInOrder() throws InterruptedException {
        try (EventFeed feed = new EventFeed(() -> "{}")) {
            int threads = 4;
            int each = 2_000;
            CountDownLatch start = new CountDownLatch(1);
            List<Thread> writers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                long base = (long) t * each;
                writers.add(Thread.ofPlatform().start(() -> {
                    try {
                        start.await();
                    } catch (InterruptedException e) {
                        return;
                    }
                    for (long n = 1; n <= each; n++) {
                        feed.onEvent(acquired(base + n));
                    }
                }));
            }
            start.countDown();
            for (Thread writer : writers) {
                writer.join(Duration.ofSeconds(30));
            }

            List<Long> replayed = replayed(feed);
            assertThat(replayed).hasSize(EventFeed.REPLAYED_EVENTS).doesNotHaveDuplicates();
        }
    }
}
