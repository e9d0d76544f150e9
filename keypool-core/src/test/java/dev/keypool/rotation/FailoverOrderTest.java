package dev.keypool.rotation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.keypool.config.KeyId;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.config.SelectionStrategy;
import dev.keypool.config.WindowLimits;
import dev.keypool.event.KeyEvent;
import dev.keypool.failure.Failure;
import dev.keypool.failure.FailureKind;
import dev.keypool.failure.UpstreamException;
import dev.keypool.rotation.Failover.Route;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * One case per ordering of {@link Failover}'s composition, {@code ProviderFallback(KeyRetry(call))},
 * in the manner of failsafe's policy-composition tests.
 */
class FailoverOrderTest {

    private final Pool pool = new Pool(KeypoolConfig.builder()
            .addKey(Provider.OPENAI, Pool.KEY_1, null, WindowLimits.of(1_000, 100_000))
            .addKey(Provider.OPENAI, Pool.KEY_2, null, WindowLimits.of(1_000, 100_000))
            .addKey(Provider.GEMINI, "AIzaSy-gemini-key-1", null, WindowLimits.of(1_000, 100_000))
            .selectionStrategy(SelectionStrategy.FILL_FIRST)
            .build());
    private final List<Route> routes = List.of(new Route(Provider.OPENAI, null), new Route(Provider.GEMINI, null));
    private final List<KeyId> tried = new ArrayList<>();
    private final List<String> failures = new ArrayList<>();

    private Failover failover() {
        return pool.rotator.failover(Failover.UPSTREAM_ONLY,
                (provider, index, failure) -> failures.add(provider.id() + "#" + index + " " + failure.kind().id()));
    }

    private static UpstreamException failure(FailureKind kind) {
        return new UpstreamException(Failure.of(kind, kind.id()), kind == FailureKind.CLIENT_ERROR ? 400 : 503);
    }

    /** Runs the routes, each key answering as {@code answer} says (null: it serves). */
    private String run(java.util.function.Function<KeyId, FailureKind> answer) {
        Failover failover = failover();
        return failover.across(routes, route -> failover.onKeys(route.provider(), route.model(), 10, null,
                reservation -> {
                    tried.add(reservation.keyId());
                    FailureKind kind = answer.apply(reservation.keyId());
                    if (kind != null) {
                        throw failure(kind);
                    }
                    return reservation.keyId().toString();
                }));
    }

    @Test
    void keyRetryRunsInsideTheProviderFallback_everyKeyOfOneProviderBeforeTheNextProvider() {
        String served = run(key -> key.provider() == Provider.OPENAI ? FailureKind.SERVER_ERROR : null);

        assertThat(tried).containsExactly(KeyId.of(Provider.OPENAI, 0), KeyId.of(Provider.OPENAI, 1),
                KeyId.of(Provider.GEMINI, 0));
        assertThat(served).isEqualTo(KeyId.of(Provider.GEMINI, 0).toString());
        assertThat(failures).containsExactly("openai#0 server_error", "openai#1 server_error");
        assertThat(pool.events(KeyEvent.KeyFailed.class)).extracting(KeyEvent.KeyFailed::failover)
                .as("the last OpenAI key's failure handed over to Gemini").containsExactly(true, true);
        assertThat(pool.events(KeyEvent.PoolExhausted.class)).as("a provider skipped on the way is no exhaustion")
                .isEmpty();
    }

    @Test
    void aClientErrorCrossesBothLayers_noOtherKeyNorProviderIsTried() {
        UpstreamException thrown = catchThrowableOfType(UpstreamException.class,
                () -> run(key -> FailureKind.CLIENT_ERROR));

        assertThat(thrown.kind()).isEqualTo(FailureKind.CLIENT_ERROR);
        assertThat(tried).containsExactly(KeyId.of(Provider.OPENAI, 0));
        assertThat(pool.events(KeyEvent.KeyFailed.class)).singleElement()
                .satisfies(failed -> assertThat(failed.failover()).isFalse());
    }

    @Test
    void aPoolWithoutRoomHandsOverWithoutATry_andIsNotAnnouncedWhenTheNextProviderServes() {
        pool.use(KeyId.of(Provider.OPENAI, 0), 1_000);
        pool.use(KeyId.of(Provider.OPENAI, 1), 1_000);
        pool.events.clear();

        String served = run(key -> null);

        assertThat(served).isEqualTo(KeyId.of(Provider.GEMINI, 0).toString());
        assertThat(tried).containsExactly(KeyId.of(Provider.GEMINI, 0));
        assertThat(pool.events(KeyEvent.PoolExhausted.class)).isEmpty();
    }

    @Test
    void whenEveryRouteIsRefused_theRefusalsAreMerged_andOneExhaustionIsAnnounced() {
        pool.use(KeyId.of(Provider.OPENAI, 0), 1_000);
        pool.use(KeyId.of(Provider.OPENAI, 1), 1_000);
        pool.events.clear();

        NoAvailableKeyException refusal = catchThrowableOfType(NoAvailableKeyException.class,
                () -> run(key -> FailureKind.RATE_LIMITED));

        assertThat(tried).containsExactly(KeyId.of(Provider.GEMINI, 0));
        assertThat(refusal.reason()).as("OpenAI had no room, Gemini's key failed")
                .isEqualTo(NoAvailableKeyException.Reason.ALL_KEYS_FAILED);
        assertThat(refusal.provider()).isEqualTo(Provider.GEMINI);
        assertThat(refusal.lastKind()).isEqualTo(FailureKind.RATE_LIMITED);
        assertThat(pool.events(KeyEvent.PoolExhausted.class)).singleElement()
                .satisfies(e -> assertThat(e.provider()).isEqualTo(Provider.OPENAI));
        assertThat(pool.events(KeyEvent.KeyFailed.class)).singleElement()
                .satisfies(failed -> assertThat(failed.failover()).as("nothing was left to try").isFalse());
    }

    @Test
    void aKeylessProviderFailingOver_handsOverToTheNextRoute() {
        Failover failover = failover();
        List<Route> ollamaFirst = List.of(new Route(Provider.OLLAMA, "llama3"), new Route(Provider.OPENAI, null));

        String served = failover.across(ollamaFirst, route -> route.provider() == Provider.OLLAMA
                ? failover.keyless(route.provider(), route.model(), () -> {
                    throw failure(FailureKind.UNREACHABLE);
                }, answer -> null)
                : failover.onKeys(route.provider(), null, 10, null, reservation -> "openai"));

        assertThat(served).isEqualTo("openai");
        assertThat(failures).containsExactly("ollama#-1 unreachable");
        assertThat(pool.events(KeyEvent.KeylessCalled.class)).as("the keyless call is announced like a key's")
                .containsExactly(new KeyEvent.KeylessCalled(pool.now(), Provider.OLLAMA, "llama3", 0, 0,
                        FailureKind.UNREACHABLE));
    }
}
