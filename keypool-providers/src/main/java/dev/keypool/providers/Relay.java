package dev.keypool.providers;

import dev.keypool.config.KeyConfig;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.failure.FailureKind;
import dev.keypool.failure.UpstreamException;
import dev.keypool.providers.internal.AnswerScanner;
import dev.keypool.providers.internal.ForwardedHeaders;
import dev.keypool.providers.internal.ProviderSettings;
import dev.keypool.providers.internal.TokenEstimator;
import dev.keypool.providers.internal.Upstream;
import dev.keypool.providers.gemini.GeminiApi;
import dev.keypool.providers.gemini.GeminiChatTranslator;
import dev.keypool.providers.ollama.OllamaApi;
import dev.keypool.providers.ollama.OllamaAvailability;
import dev.keypool.providers.ollama.OllamaChatTranslator;
import dev.keypool.providers.openai.OpenAiApi;
import dev.keypool.providers.relay.RelayContext;
import dev.keypool.providers.serpapi.SerpApi;
import dev.keypool.providers.relay.Call;
import dev.keypool.providers.relay.ChatTranslator;
import dev.keypool.providers.relay.Inbound;
import dev.keypool.providers.relay.Operation;
import dev.keypool.providers.relay.Outcome;
import dev.keypool.providers.relay.ProviderApi;
import dev.keypool.providers.relay.RequestRefused;
import dev.keypool.providers.relay.Served;
import dev.keypool.providers.relay.Sink;
import dev.keypool.rotation.ApiKeyManager;
import dev.keypool.rotation.ApiKeyRotator;
import dev.keypool.rotation.Failover;
import dev.keypool.rotation.Failover.Route;
import dev.keypool.rotation.NoAvailableKeyException;
import dev.keypool.usage.AffinityStore;
import dev.keypool.usage.KeyState;
import java.time.Clock;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Carries a caller's request, in one provider's own protocol, to a pooled key and its answer back:
 * the engine under the gateway's endpoints and the library's {@link LlmService} and
 * {@link SearchService}.
 *
 * <h2>Same protocol: passed through</h2>
 * A request to a key of the provider whose protocol it speaks goes upstream as the caller wrote it,
 * byte for byte, but for its credential (and the few changes {@link Call#upstream} documents). The
 * answer comes back as the provider sent it: status, headers (but hop-by-hop and account ones, see
 * {@link ForwardedHeaders}), body; a stream event by event as each arrives. Only what the pool needs
 * is read on the way, by {@link AnswerScanner}: the usage, and the ids of objects the answer created.
 * Small answers (up to {@value Delivery#BUFFERED_ANSWER} bytes) are read whole before they are sent,
 * so a failure while reading one still fails over; larger ones are passed on as they arrive, never
 * held whole in memory ({@link Delivery}).
 *
 * <h2>Another provider's: translated</h2>
 * An OpenAI chat request routed to Gemini or Ollama ({@code model: "gemini-2.5-flash"}, {@code auto},
 * a {@code KEYPOOL_FALLBACKS} stand-in) goes through that provider's {@link ChatTranslator}. A route
 * whose translator cannot carry the request (it names a parameter with no counterpart there, or a
 * capability the model lacks: tools, images) is skipped, and said so in {@link Served#notes()}; when
 * no route can carry it, the first refusal is the answer: a 400 naming the parameter, never an
 * answer that silently lost a feature. Only when the operator opted in
 * ({@code KEYPOOL_DROP_UNSUPPORTED_PARAMS}) are request parameters without a counterpart left out
 * instead, each named in {@link Served#dropped()}.
 *
 * <h2>Order of composition</h2>
 * {@code ProviderFallback(KeyRetry(call))}, composed by {@link Failover} (the one place, shared with
 * {@link ApiKeyRotator#executeWithFallback}): the routes of the plan ({@link RoutePlanner}) are tried
 * in order (the outer fallback); within one, the prompt estimate plus the output cap is reserved on
 * the best key and, on a failure another key may not share, the key gets its reaction and the next
 * key is taken (the inner retry). Only what a provider client classified ({@link UpstreamException})
 * is blamed on a key ({@link Failover#UPSTREAM_ONLY}). A client error crosses every layer unchanged: the
 * provider's own answer goes to the caller. Once an answer has begun to reach the caller nothing is
 * retried: a stream cut short stays cut short, its key is blamed, and it is charged on the safe side.
 * This class plans the routes and runs the two loops; one exchange with one key is an {@link Exchange}.
 *
 * <h2>Settling</h2>
 * The reservation is committed with the provider's reported usage, an overshoot charged. When the
 * answer reported none, or broke off, or the caller went away, the whole reservation is charged: the
 * provider may have billed it, and keypool never refunds what it cannot see ({@link Settlement}).
 *
 * <h2>Stateful objects</h2>
 * Ids an answer creates are remembered with their key in the {@link AffinityStore}, and a request
 * that names one ({@link Call#references()}) goes to that key only; a request that names a session
 * prefers the key that served it last ({@link KeyAffinity}).
 */
public final class Relay implements AutoCloseable {

    private final ApiKeyManager manager;
    private final KeypoolConfig config;
    private final ProviderSettings settings;
    private final Upstream upstream;
    private final Map<Provider, ProviderApi> apis = new EnumMap<>(Provider.class);
    private final Map<Provider, ChatTranslator> translators = new EnumMap<>(Provider.class);
    private final RoutePlanner planner;
    private final KeyAffinity affinity;
    private final Exchange exchange;
    private final ApiKeyRotator rotator;
    private final OllamaAvailability ollama;

    private Relay(ApiKeyRotator rotator, AffinityStore affinity) {
        this.manager = rotator.manager();
        this.config = manager.config();
        Clock clock = manager.clock();
        this.settings = ProviderSettings.from(config);
        this.upstream = new Upstream(settings.upstreamTimeout(), settings.streamIdleTimeout());
        RelayContext context = new RelayContext(config, settings, new TokenEstimator(), clock);
        OllamaApi ollamaApi = new OllamaApi(context, upstream);
        for (ProviderApi api : List.of(new OpenAiApi(context), new GeminiApi(context), ollamaApi, new SerpApi(context))) {
            apis.put(api.provider(), api);
        }
        this.ollama = new OllamaAvailability(ollamaApi, clock, settings.ollamaCheckInterval(),
                settings.ollamaProbeTimeout());
        // the Ollama translator asks the availability what a model can do (tools, vision)
        for (ChatTranslator translator : List.of(new GeminiChatTranslator(context),
                new OllamaChatTranslator(context, ollama))) {
            translators.put(translator.provider(), translator);
        }
        this.planner = new RoutePlanner(config, manager, ollama);
        this.affinity = new KeyAffinity(affinity, manager, clock, settings.sessionTtl());
        this.exchange = new Exchange(upstream, manager, clock, this.affinity);
        this.rotator = rotator;
    }

    /**
     * A relay on {@code rotator}'s pool, configured from its configuration, with its own kept-alive
     * connections to the providers ({@link #close()} closes them).
     *
     * @param affinity where the keys of upstream objects are remembered (the gateway's is durable or
     *                 shared; a library's may be in memory)
     * @throws dev.keypool.config.ConfigException when one of this module's settings is invalid
     */
    public static Relay create(ApiKeyRotator rotator, AffinityStore affinity) {
        return new Relay(Objects.requireNonNull(rotator, "rotator"), affinity);
    }

    /** The models the configured keys and a reachable Ollama offer, each once. */
    public List<ModelInfo> models() {
        Map<String, ModelInfo> models = new LinkedHashMap<>();
        for (Provider provider : List.of(Provider.OPENAI, Provider.GEMINI)) {
            for (KeyConfig key : manager.keys(provider)) {
                String model = key.model() != null ? key.model() : settings.defaultModel(provider);
                models.putIfAbsent(model, new ModelInfo(model, provider));
            }
        }
        if (ollama.available()) {
            for (String model : ollama.models()) {
                models.putIfAbsent(model, new ModelInfo(model, Provider.OLLAMA));
            }
        }
        return List.copyOf(models.values());
    }

    /** Whether Ollama answered its last check (checked at most every {@code KEYPOOL_OLLAMA_CHECK_SECONDS}). */
    public boolean ollamaAvailable() {
        return ollama.available();
    }

    /** This module's settings, as the configuration gave them. */
    public ProviderSettings settings() {
        return settings;
    }

    /** The endpoint {@code method path} names in {@code protocol}, or {@code null} when there is none. */
    public Operation operation(Provider protocol, String method, String path) {
        ProviderApi api = apis.get(protocol);
        return api == null ? null : api.operation(method, path);
    }

    /**
     * Carries {@code request} (in {@code protocol}'s own protocol, on its endpoint {@code operation})
     * and hands the answer to {@code sink}.
     *
     * @throws RequestRefused           the request cannot be read, or no route can carry it
     * @throws NoAvailableKeyException  no key or provider could serve (its reason says why)
     * @throws UnknownModelException    no provider serves the model
     * @throws StreamBroken             the answer broke off after it began to reach the sink
     * @throws CallerGone               the sink failed (the caller went away)
     */
    public Outcome relay(Provider protocol, Operation operation, Inbound request, Sink sink) {
        Call call = operation.prepare(request);
        ProviderApi own = apis.get(protocol);
        KeyConfig pinned = affinity.pinned(call);
        KeyAffinity.Sticky sticky = pinned == null ? affinity.session(request, call) : null;
        KeyConfig preferred = sticky == null ? null : sticky.key();
        List<Route> routes;
        if (pinned != null) {
            routes = List.of(new Route(pinned.provider(), call.model()));
        } else if (call.routable()) {
            routes = planner.plan(call.model(), protocol);
        } else {
            routes = List.of(new Route(protocol, ownModel(protocol, call.model())));
        }
        List<Attempt> attempts = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        RequestRefused[] firstRefusal = {null};
        Failover failover = rotator.failover(Failover.UPSTREAM_ONLY, (provider, index, failure) ->
                attempts.add(new Attempt(provider, index, failure.kind(), failure.message())));
        Outcome outcome;
        try {
            outcome = failover.across(routes, route -> {
                if (route.provider() == protocol) {
                    return onRoute(failover, own, call, route, null, pinned, preferred, attempts, notes, sink);
                }
                ChatTranslator translator = translators.get(route.provider());
                // a route of each key's configured model is checked for the model its keys most likely run
                RequestRefused refusal = translator == null
                        ? RequestRefused.unsupported(null, route.provider().id() + " cannot serve this endpoint")
                        : translator.check(call.json(), route.model() != null ? route.model()
                                : planner.typicalModel(route.provider(), settings.defaultModel(route.provider())));
                if (refusal != null) {
                    notes.add(route.provider().id() + (route.model() == null ? "" : " " + route.model())
                            + " skipped: " + refusal.getMessage());
                    firstRefusal[0] = firstRefusal[0] == null ? refusal : firstRefusal[0];
                    return null;
                }
                return onRoute(failover, apis.get(route.provider()), call, route, translator, null, preferred, attempts,
                        notes, sink);
            });
        } catch (Exchange.Refusal refused) {
            return refused.answer(sink);
        }
        if (outcome != null) {
            if (sticky != null) {
                affinity.remember(sticky, outcome.served());
            }
            return outcome;
        }
        if (firstRefusal[0] != null) {
            throw firstRefusal[0];
        }
        throw new NoAvailableKeyException(config.providerPriority().get(0), NoAvailableKeyException.Reason.NO_KEYS,
                KeyState.NEVER, "No provider can serve: none in KEYPOOL_PROVIDER_PRIORITY "
                + config.providerPriority() + " has keys, and Ollama does not answer at "
                + config.baseUrl(Provider.OLLAMA) + " or has no model (set OLLAMA_MODEL)", null);
    }

    /** {@link #relay(Provider, Operation, Inbound, Sink)} on the endpoint the request's method and path name. */
    public Outcome relay(Provider protocol, Inbound request, Sink sink) {
        Operation operation = operation(protocol, request.method(), request.path());
        if (operation == null) {
            throw new RequestRefused(404, "not_found", null, "No such endpoint: " + request.method() + " "
                    + request.path());
        }
        return relay(protocol, operation, request, sink);
    }

    /** Where {@code model} goes. @throws UnknownModelException when no provider serves it */
    public ModelRoute route(String model) {
        return planner.route(model);
    }

    @Override
    public void close() {
        upstream.close();
        affinity.close();
    }

    // ---- one route ---------------------------------------------------------------------------------

    private Outcome onRoute(Failover failover, ProviderApi api, Call call, Route route, ChatTranslator translator,
            KeyConfig pinned, KeyConfig preferred, List<Attempt> attempts, List<String> notes, Sink sink) {
        Provider provider = api.provider();
        if (!call.needsKey()) {
            return exchange.run(api, call, null, call.model(), null, null,
                    new Served(provider, -1, null, call.model(), attempts, notes), sink);
        }
        if (!provider.usesKeys()) {
            String model = route.model() != null ? route.model() : planner.ollamaModel();
            Served served = new Served(provider, -1, null, model, attempts, notes);
            return failover.keyless(provider, model, () -> {
                try {
                    return exchange.run(api, call, translator, model, null, null, served, sink);
                } catch (UpstreamException e) {
                    if (e.kind() == FailureKind.UNREACHABLE) {
                        ollama.markUnreachable();
                    }
                    throw e;
                }
            }, Outcome::usage);
        }
        long tokens = call.promptTokens() + call.outputTokens();
        return failover.onKeys(provider, route.model(), tokens, pinned == null ? null : pinned.id(),
                preferred != null && preferred.provider() == provider ? preferred.id() : null,
                reservation -> {
                    String model = route.model() != null ? route.model()
                            : reservation.model() != null ? reservation.model()
                            : call.model() != null ? settings.defaultModel(provider) : null;
                    Served served = new Served(provider, reservation.index(), reservation.maskedKey(), model,
                            attempts, notes);
                    return exchange.run(api, call, translator, model, reservation.apiKey(), reservation, served, sink);
                });
    }

    /**
     * The model a request that only its own provider serves is sent for: as written, but
     * {@code auto} (or nothing) means each key's configured model, and {@code openai/gpt-4o} is
     * {@code gpt-4o}.
     */
    private static String ownModel(Provider protocol, String model) {
        if (model == null || model.isBlank() || model.trim().equalsIgnoreCase("auto")) {
            return null;
        }
        String prefix = protocol.id() + "/";
        return model.regionMatches(true, 0, prefix, 0, prefix.length()) ? model.substring(prefix.length()) : model;
    }

    /** The provider's answer broke off after it began to reach the caller: not retried elsewhere. */
    public static final class StreamBroken extends RuntimeException {

        private final UpstreamException failure;

        StreamBroken(UpstreamException failure) {
            super(failure.getMessage(), failure, false, false);
            this.failure = failure;
        }

        public UpstreamException failure() {
            return failure;
        }
    }

    /** The caller stopped taking the answer (its connection closed, or its listener threw). */
    public static final class CallerGone extends RuntimeException {

        CallerGone(Exception cause) {
            super("the caller stopped taking the answer", cause, false, false);
        }
    }
}
