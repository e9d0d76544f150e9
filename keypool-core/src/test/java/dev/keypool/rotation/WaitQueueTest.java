package dev.keypool.rotation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import dev.keypool.config.KeyId;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.config.WindowLimits;
import dev.keypool.event.KeyEvent;
import dev.keypool.testing.ManualClock;
import dev.keypool.testing.ManualScheduler;
import dev.keypool.usage.InMemoryUsageStore;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 14: {@code KEYPOOL_MAX_WAIT_SECONDS}. A request no key can take now waits in its
 * provider's bounded FIFO queue and is served when a key frees up: woken by a settle, or by the
 * time the refusal named arriving on the manual clock. Nothing here sleeps; threads that wait are
 * virtual, and the test waits only for them to be queued or done.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class WaitQueueTest {

    private static final Duration MAX_WAIT = Duration.ofSeconds(30);

    private ManualClock clock;
    private ManualScheduler scheduler;
    private ApiKeyManager manager;
    private ApiKeyRotator rotator;
    private final List<KeyEvent> events = new CopyOnWriteArrayList<>();
    private final List<Thread> waiting = new CopyOnWriteArrayList<>();

    private void pool(KeypoolConfig.Builder builder) {
        clock = ManualClock.atNoonish();
        scheduler = new ManualScheduler(clock);
        manager = new ApiKeyManager(builder.build(), new InMemoryUsageStore(), clock);
        rotator = new ApiKeyRotator(manager, scheduler);
        manager.events().addListener(events::add);
    }

    /**
     * One OpenAI key that takes one request at a time, and a queue of {@code maxQueue}; returns the
     * reservation of 10 tokens that holds the key.
     */
    private Reservation oneKeyCappedAtOneAndHeld(int maxQueue) {
        pool(KeypoolConfig.builder()
                .addKey(Provider.OPENAI, Pool.KEY_1, null, WindowLimits.NONE, 1, 1)
                .maxWait(MAX_WAIT)
                .maxQueue(maxQueue));
        return rotator.acquire(Provider.OPENAI, null, 10);
    }

    /**
     * One OpenAI key of 100 tokens a minute, all spent, and a maximum wait longer than the minute;
     * returns how long until the key has room for {@code tokens}, as a refusal without waiting says.
     */
    private Duration oneKeyWithItsMinuteSpent(long tokens) {
        pool(KeypoolConfig.builder()
                .addKey(Provider.OPENAI, Pool.KEY_1, null, WindowLimits.of(100, WindowLimits.UNLIMITED))
                .maxWait(Duration.ofSeconds(90)));
        rotator.acquire(Provider.OPENAI, null, 100).commit(100);
        return catchThrowableOfType(NoAvailableKeyException.class,
                () -> rotator.acquire(Provider.OPENAI, null, tokens, java.util.Set.of(), null, false, false))
                .retryAfter(clock.millis());
    }

    @AfterEach
    void stopWaiters() {
        waiting.forEach(Thread::interrupt);
    }

    /** Acquires on a virtual thread; returns once it is done or waits in the queue. */
    private CompletableFuture<Reservation> acquireInBackground(Provider provider, long tokens) {
        int before = queued(provider);
        CompletableFuture<Reservation> result = startAcquire(provider, tokens);
        await().atMost(Duration.ofSeconds(10)).until(() -> result.isDone() || queued(provider) == before + 1);
        return result;
    }

    /** Acquires on a virtual thread; returns at once. */
    private CompletableFuture<Reservation> startAcquire(Provider provider, long tokens) {
        CompletableFuture<Reservation> result = new CompletableFuture<>();
        waiting.add(Thread.ofVirtual().start(() -> {
            try {
                result.complete(rotator.acquire(provider, null, tokens));
            } catch (RuntimeException e) {
                result.completeExceptionally(e);
            }
        }));
        return result;
    }

    /**
     * Lets the waiters' tries after a settle end before the next settle: one that lands while a
     * waiter further back tries may go to it (the documented instant), which is not what these
     * tests judge.
     */
    private void passEnded() {
        await().atMost(Duration.ofSeconds(10)).until(() -> !rotator.queue(Provider.OPENAI).passing());
    }

    private int queued(Provider provider) {
        return rotator.waitStatus(provider).waiting();
    }

    private static Reservation served(CompletableFuture<Reservation> future) throws Exception {
        return future.get(10, TimeUnit.SECONDS);
    }

    @Test
    void aRequestAtTheCap_waits_andIsServedWhenTheReservationAheadSettles() throws Exception {
        Reservation first = oneKeyCappedAtOneAndHeld(10);

        CompletableFuture<Reservation> second = acquireInBackground(Provider.OPENAI, 10);
        assertThat(second).as("waiting, not refused").isNotDone();
        assertThat(queued(Provider.OPENAI)).isEqualTo(1);

        first.commit(10);

        Reservation reservation = served(second);
        assertThat(reservation.keyId()).isEqualTo(KeyId.of(Provider.OPENAI, 0));
        assertThat(queued(Provider.OPENAI)).isZero();
        assertThat(events).filteredOn(KeyEvent.RequestWaited.class::isInstance)
                .singleElement().extracting(e -> ((KeyEvent.RequestWaited) e).served()).isEqualTo(true);
        reservation.release();
    }

    @Test
    void waitersAreServedFirstComeFirstServed() throws Exception {
        Reservation holder = oneKeyCappedAtOneAndHeld(10);
        CompletableFuture<Reservation> first = acquireInBackground(Provider.OPENAI, 11);
        CompletableFuture<Reservation> second = acquireInBackground(Provider.OPENAI, 12);
        CompletableFuture<Reservation> third = acquireInBackground(Provider.OPENAI, 13);
        assertThat(queued(Provider.OPENAI)).isEqualTo(3);

        holder.release();
        Reservation one = served(first);
        assertThat(second).isNotDone();
        assertThat(third).isNotDone();
        passEnded();
        one.release();
        Reservation two = served(second);
        assertThat(third).isNotDone();
        passEnded();
        two.release();
        Reservation three = served(third);

        assertThat(List.of(one.tokens(), two.tokens(), three.tokens())).containsExactly(11L, 12L, 13L);
        three.release();
    }

    @Test
    void aNewRequest_doesNotTakeWhatFreesUpAheadOfTheWaiters() throws Exception {
        Duration untilFree = oneKeyWithItsMinuteSpent(60);
        CompletableFuture<Reservation> waiter = acquireInBackground(Provider.OPENAI, 60);
        // The clock alone moves: the waiter's timed wake has not run, so the freed minute lies there for the taking.
        clock.advance(untilFree);

        CompletableFuture<Reservation> latecomer = startAcquire(Provider.OPENAI, 60);

        Reservation first = served(waiter);
        assertThat(first.tokens()).isEqualTo(60);
        assertThat(latecomer).as("queued behind, not served ahead").isNotDone();
        passEnded();
        first.release();
        assertThat(served(latecomer).tokens()).isEqualTo(60);
    }

    @Test
    void aFullQueue_refusesAtOnce_withRetryAfter() throws Exception {
        Reservation holder = oneKeyCappedAtOneAndHeld(1);
        CompletableFuture<Reservation> waiter = acquireInBackground(Provider.OPENAI, 10);

        NoAvailableKeyException refused = catchThrowableOfType(NoAvailableKeyException.class,
                () -> rotator.acquire(Provider.OPENAI, null, 10));

        assertThat(refused).isNotNull();
        assertThat(refused.getMessage()).contains("KEYPOOL_MAX_QUEUE");
        assertThat(refused.retryAfter(clock.millis())).isNotNull();
        assertThat(queued(Provider.OPENAI)).isEqualTo(1);
        assertThat(events).filteredOn(KeyEvent.PoolExhausted.class::isInstance).hasSize(1);
        holder.release();
        served(waiter).release();
    }

    @Test
    void aWaitLongerThanTheMaximum_isRefusedAtOnce_withTheTimeTheKeyFreesUp() {
        pool(KeypoolConfig.builder()
                .addKey(Provider.OPENAI, Pool.KEY_1, null, WindowLimits.of(100, WindowLimits.UNLIMITED))
                .maxWait(MAX_WAIT));
        rotator.acquire(Provider.OPENAI, null, 100).commit(100);

        NoAvailableKeyException refused = catchThrowableOfType(NoAvailableKeyException.class,
                () -> rotator.acquire(Provider.OPENAI, null, 50));

        assertThat(refused).isNotNull();
        assertThat(refused.retryAfter(clock.millis())).isGreaterThan(MAX_WAIT);
        assertThat(queued(Provider.OPENAI)).isZero();
        assertThat(events).filteredOn(KeyEvent.RequestWaited.class::isInstance).isEmpty();
    }

    @Test
    void aWaiter_isWokenWhenTheTimeTheRefusalNamedArrives() throws Exception {
        Duration untilFree = oneKeyWithItsMinuteSpent(50);

        CompletableFuture<Reservation> waiter = acquireInBackground(Provider.OPENAI, 50);
        scheduler.advance(untilFree.minusSeconds(1));
        assertThat(waiter).as("the minute has not slid yet").isNotDone();
        scheduler.advance(Duration.ofSeconds(1));

        Reservation reservation = served(waiter);
        assertThat(reservation.tokens()).isEqualTo(50);
        assertThat(rotator.waitStatus(Provider.OPENAI).recentWaitsMillis()).containsExactly(untilFree.toMillis());
        reservation.release();
    }

    @Test
    void aWaiterWhoseKeyDoesNotFreeUpInTime_isRefusedAtItsDeadline() throws Exception {
        Reservation holder = oneKeyCappedAtOneAndHeld(10);
        CompletableFuture<Reservation> waiter = acquireInBackground(Provider.OPENAI, 10);

        scheduler.advance(MAX_WAIT.minusSeconds(1));
        assertThat(waiter).isNotDone();
        scheduler.advance(Duration.ofSeconds(1));

        ExecutionException failed = catchThrowableOfType(ExecutionException.class, () -> served(waiter));
        assertThat(failed.getCause()).isInstanceOf(NoAvailableKeyException.class)
                .hasMessageContaining("KEYPOOL_MAX_WAIT_SECONDS");
        assertThat(((NoAvailableKeyException) failed.getCause()).retryAfter(clock.millis())).isNotNull();
        assertThat(queued(Provider.OPENAI)).isZero();
        holder.release();
    }

    @Test
    void aWaiterWhoseThreadIsInterrupted_leavesTheQueue_andTheNextIsServed() throws Exception {
        Reservation holder = oneKeyCappedAtOneAndHeld(10);
        AtomicReference<Throwable> cancelled = new AtomicReference<>();
        AtomicReference<Boolean> interruptKept = new AtomicReference<>();
        Thread caller = Thread.ofVirtual().start(() -> {
            try {
                rotator.acquire(Provider.OPENAI, null, 11);
            } catch (RuntimeException e) {
                cancelled.set(e);
                interruptKept.set(Thread.currentThread().isInterrupted());
            }
        });
        await().atMost(Duration.ofSeconds(10)).until(() -> queued(Provider.OPENAI) == 1);
        CompletableFuture<Reservation> next = acquireInBackground(Provider.OPENAI, 12);

        caller.interrupt();
        caller.join(10_000);

        assertThat(cancelled.get()).isInstanceOf(KeyOperationException.class);
        assertThat(interruptKept.get()).isTrue();
        assertThat(queued(Provider.OPENAI)).isEqualTo(1);
        holder.release();
        assertThat(served(next).tokens()).as("the one behind the caller that left").isEqualTo(12);
    }

    @Test
    void withSeveralRoutes_aProviderThatCanServeNow_isTakenBeforeWaiting() throws Exception {
        pool(KeypoolConfig.builder()
                .addKey(Provider.GEMINI, "AIzaSy-test-gemini-key-0", null, WindowLimits.NONE, 1, 1)
                .addKey(Provider.OPENAI, Pool.KEY_1, null, WindowLimits.NONE)
                .maxWait(MAX_WAIT));
        Reservation gemini = rotator.acquire(Provider.GEMINI, null, 10);
        List<Failover.Route> routes = List.of(new Failover.Route(Provider.GEMINI, null),
                new Failover.Route(Provider.OPENAI, null));

        Failover failover = rotator.failover(Failover.SEED, Failover.Listener.NONE);
        Provider servedBy = failover.across(routes, route -> failover.onKeys(route.provider(), null, 10, null,
                Reservation::provider));

        assertThat(servedBy).isEqualTo(Provider.OPENAI);
        assertThat(events).filteredOn(KeyEvent.RequestWaited.class::isInstance).isEmpty();
        gemini.release();
    }

    @Test
    void withSeveralRoutes_noneFree_theRequestWaitsForTheRouteThatFreesUpSoonest() throws Exception {
        pool(KeypoolConfig.builder()
                .addKey(Provider.GEMINI, "AIzaSy-test-gemini-key-0", null, WindowLimits.of(100, WindowLimits.UNLIMITED))
                .addKey(Provider.OPENAI, Pool.KEY_1, null, WindowLimits.NONE, 1, 1)
                .maxWait(MAX_WAIT));
        rotator.acquire(Provider.GEMINI, null, 100).commit(100);
        Reservation openAi = rotator.acquire(Provider.OPENAI, null, 10);
        List<Failover.Route> routes = List.of(new Failover.Route(Provider.GEMINI, null),
                new Failover.Route(Provider.OPENAI, null));
        CompletableFuture<Provider> result = new CompletableFuture<>();
        waiting.add(Thread.ofVirtual().start(() -> {
            Failover failover = rotator.failover(Failover.SEED, Failover.Listener.NONE);
            try {
                result.complete(failover.across(routes, route -> failover.onKeys(route.provider(), null, 10, null,
                        Reservation::provider)));
            } catch (RuntimeException e) {
                result.completeExceptionally(e);
            }
        }));
        await().atMost(Duration.ofSeconds(10)).until(() -> queued(Provider.OPENAI) == 1);
        assertThat(queued(Provider.GEMINI)).as("its minute frees up later than OpenAI's slot").isZero();

        openAi.release();

        assertThat(result.get(10, TimeUnit.SECONDS)).isEqualTo(Provider.OPENAI);
    }

    @Test
    void withoutAMaximumWait_nothingWaits() {
        pool(KeypoolConfig.builder().addKey(Provider.OPENAI, Pool.KEY_1, null, WindowLimits.NONE, 1, 1));
        Reservation holder = rotator.acquire(Provider.OPENAI, null, 10);

        NoAvailableKeyException refused = catchThrowableOfType(NoAvailableKeyException.class,
                () -> rotator.acquire(Provider.OPENAI, null, 10));

        assertThat(refused).isNotNull();
        assertThat(rotator.waits()).isFalse();
        assertThat(rotator.waitStatus(Provider.OPENAI)).isNull();
        holder.release();
    }
}
