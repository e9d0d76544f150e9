package dev.keypool.providers;

import dev.keypool.config.KeyConfig;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.failure.FailureKind;
import dev.keypool.failure.UpstreamException;
import dev.keypool.providers.internal.ChatClient;
import dev.keypool.providers.internal.Completion;
import dev.keypool.providers.internal.GeminiClient;
import dev.keypool.providers.internal.OllamaAvailability;
import dev.keypool.providers.internal.OllamaClient;
import dev.keypool.providers.internal.OpenAiClient;
import dev.keypool.providers.internal.ProviderSettings;
import dev.keypool.providers.internal.TokenEstimator;
import dev.keypool.providers.internal.Upstream;
import dev.keypool.providers.internal.UpstreamCall;
import dev.keypool.rotation.ApiKeyManager;
import dev.keypool.rotation.ApiKeyRotator;
import dev.keypool.rotation.NoAvailableKeyException;
import dev.keypool.rotation.Reservation;
import dev.keypool.rotation.TokenUsage;
import dev.keypool.usage.KeyState;
import java.time.Clock;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CancellationException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The seed's {@code llm_service}: one call for text, whichever provider and key serves it.
 *
 * <h2>Order of composition</h2>
 * A request runs as {@code ProviderFailover(KeyRotation(call))}, in the manner of Failsafe's
 * {@code Fallback(RetryPolicy(supplier))}:
 * <ol>
 *   <li><b>Plan</b> (outermost): the model is routed ({@link #route}) to a list of steps, each a
 *       provider and a model. {@code auto} lists the providers of {@code KEYPOOL_PROVIDER_PRIORITY}
 *       (default Ollama, Gemini, OpenAI) that can serve: those with keys, and Ollama when it answers
 *       and has a model. A named provider or model is one step, followed by the stand-ins
 *       {@code KEYPOOL_FALLBACKS} maps it to ({@code gpt-4o=gemini-2.5-pro}), and nothing else.</li>
 *   <li><b>Provider failover</b> (outer fallback): the steps are tried in order. The next step is
 *       taken when a provider has no key that can take the request, when all its keys failed with a
 *       kind that fails over, or when Ollama is down.</li>
 *   <li><b>Key rotation</b> (inner retry, {@code KeyRotation}): within a step the pool reserves the
 *       prompt estimate plus {@code max_tokens} on the best key, calls, and on a failure that
 *       another key may not share (rate limit, quota, invalid key, server error, unreachable) applies
 *       the key's reaction and takes the next key, each key once.</li>
 *   <li><b>The call</b> (innermost): one HTTP request with one key; success commits the provider's
 *       reported usage, refunding or charging the difference to the reservation.</li>
 * </ol>
 * A client error (a 400, an unknown model upstream) crosses every layer unchanged: no other key or
 * provider would answer it differently. A stream that already delivered text is not retried
 * elsewhere either: the caller has seen that text; its key is still blamed, its partial usage
 * committed, and the failure thrown.
 *
 * <h2>Streams</h2>
 * {@link #stream} hands each text delta to the listener on the calling thread and returns the
 * result when the provider ends the stream; usage is settled then, from the provider's final count
 * (OpenAI's {@code include_usage} chunk, Gemini's last {@code usageMetadata}, Ollama's
 * {@code done} line), or from keypool's own count of what arrived when the provider gave none.
 * A listener that throws, or an interrupt, abandons the stream: the connection is closed, the
 * reservation released (committed with the usage so far once text has arrived), no key blamed, and
 * the listener's exception rethrown.
 *
 * <h2>Settings</h2>
 * Besides the core's configuration: {@code KEYPOOL_DEFAULT_MAX_TOKENS}, {@code KEYPOOL_UPSTREAM_TIMEOUT_SECONDS},
 * {@code KEYPOOL_STREAM_IDLE_TIMEOUT_SECONDS}, {@code KEYPOOL_OLLAMA_CHECK_SECONDS},
 * {@code KEYPOOL_OPENAI_DEFAULT_MODEL} and {@code KEYPOOL_GEMINI_DEFAULT_MODEL}; see
 * {@link ProviderSettings}.
 *
 * <p>Thread-safe; one instance serves a whole process.
 */
public final class LlmService implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(LlmService.class);

    private static volatile LlmService global;

    private final ApiKeyManager manager;
    private final KeypoolConfig config;
    private final Clock clock;
    private final ProviderSettings settings;
    private final Upstream upstream;
    private final Map<Provider, ChatClient> clients = new EnumMap<>(Provider.class);
    private final OllamaAvailability ollama;
    private final ModelRouter router;
    private final KeyRotation rotation;
    private final TokenEstimator estimator = new TokenEstimator();

    /**
     * A service on {@code rotator}'s pool, configured from {@code rotator.manager().config()}, with
     * its own kept-alive connections to the providers ({@link #close()} closes them).
     *
     * @throws dev.keypool.config.ConfigException when one of this module's settings is invalid
     */
    public LlmService(ApiKeyRotator rotator) {
        Objects.requireNonNull(rotator, "rotator");
        this.manager = rotator.manager();
        this.config = manager.config();
        this.clock = manager.clock();
        this.settings = ProviderSettings.from(config);
        this.upstream = new Upstream(settings.upstreamTimeout(), settings.streamIdleTimeout());
        OllamaClient ollamaClient = new OllamaClient(upstream, config.baseUrl(Provider.OLLAMA));
        clients.put(Provider.OPENAI, new OpenAiClient(upstream, config.baseUrl(Provider.OPENAI), config.openAiOrgId(), clock));
        clients.put(Provider.GEMINI, new GeminiClient(upstream, config.baseUrl(Provider.GEMINI), clock));
        clients.put(Provider.OLLAMA, ollamaClient);
        this.ollama = new OllamaAvailability(ollamaClient, clock, settings.ollamaCheckInterval());
        this.router = new ModelRouter(config, ollama);
        this.rotation = new KeyRotation(rotator);
    }

    /**
     * The process-wide service, like the seed's {@code get_llm_service()}: built on first use on
     * {@link ApiKeyRotator#getApiKeyRotator()} with its own HTTP client.
     */
    public static LlmService getLlmService() {
        LlmService service = global;
        if (service == null) {
            synchronized (LlmService.class) {
                service = global;
                if (service == null) {
                    service = new LlmService(ApiKeyRotator.getApiKeyRotator());
                    global = service;
                }
            }
        }
        return service;
    }

    /**
     * The seed's {@code generate_text}.
     *
     * @param provider {@code null} for {@code auto}, else {@code openai}, {@code gemini} or {@code ollama}
     * @param model    {@code null} for the provider's configured model
     */
    public ChatResult generateText(String prompt, String provider, String model, Double temperature, Integer maxTokens) {
        if (prompt == null) {
            throw new IllegalArgumentException("prompt must not be null");
        }
        String target;
        if (provider == null || provider.isBlank()) {
            target = model;
        } else {
            String id = Provider.of(provider).id();
            target = model == null || model.isBlank() ? id : id + "/" + model.trim();
        }
        return chat(new ChatRequest(target, List.of(ChatMessage.user(prompt)), temperature, maxTokens, Map.of()));
    }

    /**
     * Answers a chat request, failing over between keys and providers as the class describes.
     *
     * @throws NoAvailableKeyException when no key or provider could serve; when some were tried
     *                                 and failed, its reason is {@code ALL_KEYS_FAILED} and its
     *                                 cause the last failure
     * @throws UpstreamException       a client error, with the provider's status and message
     * @throws UnknownModelException   when no provider serves the model
     */
    public ChatResult chat(ChatRequest request) {
        return execute(Objects.requireNonNull(request, "request"), null);
    }

    /**
     * Like {@link #chat}, streaming: each text delta goes to {@code listener} as it arrives.
     *
     * @throws UpstreamException a failure after text was delivered (not retried elsewhere)
     */
    public ChatResult stream(ChatRequest request, StreamListener listener) {
        return execute(Objects.requireNonNull(request, "request"), Objects.requireNonNull(listener, "listener"));
    }

    /** Where {@code model} goes. @throws UnknownModelException when no provider serves it */
    public ModelRoute route(String model) {
        return router.route(model);
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

    /** Closes the connections to the providers. */
    @Override
    public void close() {
        upstream.close();
    }

    // ---- the plan ---------------------------------------------------------------------------------

    /** One provider and model to try; {@code model} null means each key's configured model. */
    private record Step(Provider provider, String model) {
    }

    private List<Step> plan(ChatRequest request) {
        ModelRoute route = router.route(request.model());
        List<Step> steps = new ArrayList<>();
        if (route.isAuto()) {
            addAutoSteps(steps);
            return steps;
        }
        steps.add(new Step(route.provider(), route.model()));
        Set<String> followed = new HashSet<>();
        String asWritten = request.model().trim();
        String model = route.model();
        while (true) {
            String standIn = config.fallbacks().get(asWritten);
            if (standIn == null && model != null) {
                standIn = config.fallbacks().get(model);
            }
            if (standIn == null || !followed.add(standIn)) {
                return steps;
            }
            ModelRoute next;
            try {
                next = router.route(standIn);
            } catch (UnknownModelException e) {
                LOG.warn("KEYPOOL_FALLBACKS maps {} to {}, which no configured provider serves; ignoring it",
                        asWritten, standIn);
                return steps;
            }
            if (next.isAuto()) {
                addAutoSteps(steps);
                return steps;
            }
            Step step = new Step(next.provider(), next.model());
            if (!steps.contains(step)) {
                steps.add(step);
            }
            asWritten = standIn;
            model = next.model();
        }
    }

    private void addAutoSteps(List<Step> steps) {
        for (Provider provider : config.providerPriority()) {
            Step step = null;
            if (provider == Provider.OLLAMA) {
                String model = ollama.available() ? ollamaModel() : null;
                step = model == null ? null : new Step(Provider.OLLAMA, model);
            } else if (clients.containsKey(provider) && !manager.keys(provider).isEmpty()) {
                step = new Step(provider, null);
            }
            if (step != null && !steps.contains(step)) {
                steps.add(step);
            }
        }
    }

    private String ollamaModel() {
        if (config.ollamaModel() != null) {
            return config.ollamaModel();
        }
        List<String> models = ollama.models();
        return models.isEmpty() ? null : models.get(0);
    }

    // ---- provider failover ------------------------------------------------------------------------

    private ChatResult execute(ChatRequest request, StreamListener listener) {
        List<Step> plan = plan(request);
        int maxTokens = request.maxTokens() != null ? request.maxTokens() : settings.defaultMaxTokens();
        List<Attempt> attempts = new ArrayList<>();
        List<NoAvailableKeyException> exhausted = new ArrayList<>();
        UpstreamException lastFailure = null;
        Provider lastFailed = null;
        for (int i = 0; i < plan.size(); i++) {
            Step step = plan.get(i);
            try {
                return step.provider() == Provider.OLLAMA
                        ? viaOllama(step, request, maxTokens, listener, attempts)
                        : viaKeys(step, request, maxTokens, listener, attempts);
            } catch (StreamBroken broken) {
                throw broken.failure;
            } catch (NoAvailableKeyException e) {
                exhausted.add(e);
                if (e.getCause() instanceof UpstreamException failure) {
                    lastFailure = failure;
                    lastFailed = step.provider();
                }
                logFailover(step, plan, i, e.getMessage());
            } catch (UpstreamException e) {
                if (step.provider() != Provider.OLLAMA || !e.kind().failsOver()) {
                    throw e;
                }
                lastFailure = e;
                lastFailed = Provider.OLLAMA;
                logFailover(step, plan, i, e.getMessage());
            }
        }
        throw noneLeft(plan, exhausted, lastFailure, lastFailed);
    }

    private static void logFailover(Step step, List<Step> plan, int index, String why) {
        if (index + 1 < plan.size()) {
            Step next = plan.get(index + 1);
            LOG.info("{} could not serve ({}); trying {}{}", step.provider(), why, next.provider(),
                    next.model() == null ? "" : " " + next.model());
        }
    }

    private NoAvailableKeyException noneLeft(List<Step> plan, List<NoAvailableKeyException> exhausted,
            UpstreamException lastFailure, Provider lastFailed) {
        if (plan.isEmpty()) {
            return new NoAvailableKeyException(config.providerPriority().get(0), NoAvailableKeyException.Reason.NO_KEYS,
                    KeyState.NEVER, "No provider can serve: none in KEYPOOL_PROVIDER_PRIORITY " + config.providerPriority()
                    + " has keys, and Ollama " + (ollama.available() ? "has no model (set OLLAMA_MODEL)"
                    : "does not answer at " + config.baseUrl(Provider.OLLAMA)), null);
        }
        long soonest = KeyState.NEVER;
        List<String> reasons = new ArrayList<>();
        for (NoAvailableKeyException e : exhausted) {
            soonest = Math.min(soonest, e.retryAtMillis());
            reasons.add(e.getMessage());
        }
        if (lastFailure != null) {
            if (lastFailed == Provider.OLLAMA) {
                reasons.add("ollama failed: " + lastFailure.getMessage());
            }
            return new NoAvailableKeyException(lastFailed, NoAvailableKeyException.Reason.ALL_KEYS_FAILED, soonest,
                    String.join("; ", reasons), lastFailure);
        }
        if (exhausted.size() == 1) {
            return exhausted.get(0);
        }
        NoAvailableKeyException.Reason reason = exhausted.get(0).reason();
        for (NoAvailableKeyException e : exhausted) {
            if (e.reason() != reason) {
                reason = NoAvailableKeyException.Reason.NO_HEADROOM;
            }
        }
        return new NoAvailableKeyException(exhausted.get(0).provider(), reason, soonest, String.join("; ", reasons), null);
    }

    // ---- one step ---------------------------------------------------------------------------------

    private ChatResult viaKeys(Step step, ChatRequest request, int maxTokens, StreamListener listener,
            List<Attempt> attempts) {
        Provider provider = step.provider();
        ChatClient client = clients.get(provider);
        String estimateModel = step.model() != null ? step.model() : typicalModel(provider);
        long prompt = estimator.promptTokens(provider, estimateModel, request.messages(), request.extra());
        long tokens = prompt + (long) maxTokens * choices(provider, request);
        return rotation.run(provider, step.model(), tokens, attempts, reservation -> {
            String model = reservation.model() != null ? reservation.model() : settings.defaultModel(provider);
            UpstreamCall call = new UpstreamCall(reservation.apiKey(), model, request.messages(), request.temperature(),
                    maxTokens, request.extra(),
                    snapshot -> manager.observeBudget(reservation.keyId(), snapshot.toBudget(clock.millis())));
            Completion completion = listener == null
                    ? client.complete(call)
                    : streamOnKey(client, call, listener, reservation, prompt);
            TokenUsage usage = usage(completion, provider, model, prompt);
            reservation.commit(usage);
            return result(completion, provider, model, reservation.index(), reservation.maskedKey(), usage, attempts);
        });
    }

    private Completion streamOnKey(ChatClient client, UpstreamCall call, StreamListener listener,
            Reservation reservation, long prompt) {
        DeltaTracker tracker = new DeltaTracker(listener,
                new StreamListener.Start(client.provider(), reservation.index(), reservation.maskedKey(), call.model()));
        try {
            return client.stream(call, tracker);
        } catch (UpstreamException e) {
            if (!tracker.delivered()) {
                throw e;
            }
            reservation.commit(partialUsage(client.provider(), call.model(), prompt, tracker));
            manager.recordFailure(reservation.key(), e.failure(), false);
            throw new StreamBroken(e);
        } catch (Abandoned abandoned) {
            settleAbandoned(reservation, client.provider(), call.model(), prompt, tracker);
            throw abandoned.listenerError;
        } catch (CancellationException e) {
            settleAbandoned(reservation, client.provider(), call.model(), prompt, tracker);
            throw e;
        }
    }

    private void settleAbandoned(Reservation reservation, Provider provider, String model, long prompt,
            DeltaTracker tracker) {
        if (tracker.delivered()) {
            reservation.commit(partialUsage(provider, model, prompt, tracker));
        } else {
            reservation.release();
        }
    }

    private ChatResult viaOllama(Step step, ChatRequest request, int maxTokens, StreamListener listener,
            List<Attempt> attempts) {
        String model = step.model() != null ? step.model() : ollamaModel();
        if (model == null) {
            throw new NoAvailableKeyException(Provider.OLLAMA, NoAvailableKeyException.Reason.NO_KEYS, KeyState.NEVER,
                    "Ollama has no model to run: set OLLAMA_MODEL or pull one", null);
        }
        ChatClient client = clients.get(Provider.OLLAMA);
        long prompt = estimator.promptTokens(Provider.OLLAMA, model, request.messages(), request.extra());
        UpstreamCall call = new UpstreamCall(null, model, request.messages(), request.temperature(), maxTokens,
                request.extra(), snapshot -> { });
        Completion completion;
        try {
            if (listener == null) {
                completion = client.complete(call);
            } else {
                DeltaTracker tracker = new DeltaTracker(listener,
                        new StreamListener.Start(Provider.OLLAMA, -1, null, model));
                try {
                    completion = client.stream(call, tracker);
                } catch (UpstreamException e) {
                    if (tracker.delivered()) {
                        throw new StreamBroken(e);
                    }
                    throw e;
                } catch (Abandoned abandoned) {
                    throw abandoned.listenerError;
                }
            }
        } catch (UpstreamException e) {
            attempts.add(new Attempt(Provider.OLLAMA, -1, e.kind(), e.getMessage()));
            if (e.kind() == FailureKind.UNREACHABLE) {
                ollama.markUnreachable();
            }
            throw e;
        }
        TokenUsage usage = usage(completion, Provider.OLLAMA, model, prompt);
        return result(completion, Provider.OLLAMA, model, -1, null, usage, attempts);
    }

    // ---- helpers ----------------------------------------------------------------------------------

    /** The model a provider's keys most likely run, for estimating before a key is chosen. */
    private String typicalModel(Provider provider) {
        for (KeyConfig key : manager.keys(provider)) {
            if (key.model() != null) {
                return key.model();
            }
        }
        return settings.defaultModel(provider);
    }

    /** OpenAI generates {@code n} completions, each up to the cap; the others take only one. */
    private static long choices(Provider provider, ChatRequest request) {
        if (provider == Provider.OPENAI && request.extra().get("n") instanceof Number n && n.longValue() > 1) {
            return n.longValue();
        }
        return 1;
    }

    private TokenUsage usage(Completion completion, Provider provider, String model, long prompt) {
        if (completion.usage() != null) {
            return completion.usage();
        }
        return TokenUsage.of(prompt, estimator.textTokens(provider, model, completion.text()));
    }

    private TokenUsage partialUsage(Provider provider, String model, long prompt, DeltaTracker tracker) {
        return TokenUsage.of(prompt, estimator.textTokens(provider, model, tracker.text()));
    }

    private static ChatResult result(Completion completion, Provider provider, String model, int keyIndex,
            String maskedKey, TokenUsage usage, List<Attempt> attempts) {
        String id = completion.id() != null ? completion.id()
                : "chatcmpl-" + UUID.randomUUID().toString().replace("-", "");
        return new ChatResult(id, completion.text(), provider, completion.model() != null ? completion.model() : model,
                keyIndex, maskedKey, usage, completion.finishReason() != null ? completion.finishReason() : "stop",
                attempts);
    }

    /**
     * Passes deltas on, announcing the serving key before the first, remembering what was delivered
     * and telling the listener's failures apart.
     */
    private static final class DeltaTracker implements StreamListener {

        private final StreamListener listener;
        private final StreamListener.Start start;
        private final StringBuilder text = new StringBuilder();

        DeltaTracker(StreamListener listener, StreamListener.Start start) {
            this.listener = listener;
            this.start = start;
        }

        @Override
        public void onDelta(String delta) {
            boolean first = text.isEmpty();
            text.append(delta);
            try {
                if (first) {
                    listener.onStart(start);
                }
                listener.onDelta(delta);
            } catch (RuntimeException e) {
                throw new Abandoned(e);
            }
        }

        boolean delivered() {
            return !text.isEmpty();
        }

        String text() {
            return text.toString();
        }
    }

    /** The caller's listener threw: the stream is abandoned, not failed. */
    private static final class Abandoned extends RuntimeException {

        private final RuntimeException listenerError;

        Abandoned(RuntimeException listenerError) {
            super(null, listenerError, false, false);
            this.listenerError = listenerError;
        }
    }

    /** A stream failed after the caller saw text: no failover, the failure goes to the caller. */
    private static final class StreamBroken extends RuntimeException {

        private final UpstreamException failure;

        StreamBroken(UpstreamException failure) {
            super(null, failure, false, false);
            this.failure = failure;
        }
    }
}
