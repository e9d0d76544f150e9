package dev.keypool.providers;

import dev.keypool.config.KeyConfig;
import dev.keypool.config.KeyId;
import dev.keypool.config.KeyMask;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.failure.Failure;
import dev.keypool.failure.FailureKind;
import dev.keypool.failure.UpstreamException;
import dev.keypool.providers.internal.AnswerScanner;
import dev.keypool.providers.internal.EventFramer;
import dev.keypool.providers.internal.ForwardedHeaders;
import dev.keypool.providers.internal.ProviderSettings;
import dev.keypool.providers.internal.RateLimitSnapshot;
import dev.keypool.providers.internal.ScrubbingOutputStream;
import dev.keypool.providers.internal.TokenEstimator;
import dev.keypool.providers.internal.Upstream;
import dev.keypool.providers.internal.UpstreamRequest;
import dev.keypool.providers.gemini.GeminiApi;
import dev.keypool.providers.gemini.GeminiChatTranslator;
import dev.keypool.providers.ollama.OllamaApi;
import dev.keypool.providers.ollama.OllamaAvailability;
import dev.keypool.providers.ollama.OllamaChatTranslator;
import dev.keypool.providers.openai.OpenAiApi;
import dev.keypool.providers.relay.RelayContext;
import dev.keypool.providers.serpapi.SerpApi;
import dev.keypool.providers.openai.OpenAiShapes;
import dev.keypool.providers.relay.AnswerSpec;
import dev.keypool.providers.relay.Call;
import dev.keypool.providers.relay.ChatTranslator;
import dev.keypool.providers.relay.Head;
import dev.keypool.providers.relay.Header;
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
import dev.keypool.rotation.Reservation;
import dev.keypool.rotation.TokenUsage;
import dev.keypool.usage.AffinityStore;
import dev.keypool.usage.KeyFingerprint;
import dev.keypool.usage.KeyState;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
 * Small answers (up to {@value #BUFFERED_ANSWER} bytes) are read whole before they are sent, so a
 * failure while reading one still fails over; larger ones are passed on as they arrive, never held
 * whole in memory.
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
 *
 * <h2>Settling</h2>
 * The reservation is committed with the provider's reported usage, an overshoot charged. When the
 * answer reported none, or broke off, or the caller went away, the whole reservation is charged: the
 * provider may have billed it, and keypool never refunds what it cannot see.
 *
 * <h2>Stateful objects</h2>
 * Ids an answer creates are remembered with their key in the {@link AffinityStore}, and a request
 * that names one ({@link Call#references()}) goes to that key only.
 */
public final class Relay implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Relay.class);

    /** Answers up to this size are read whole before any of it is sent (so a failure still fails over). */
    static final int BUFFERED_ANSWER = 256 * 1024;
    /** The largest answer a translator reads whole; a bigger one is a failure, not a heap full. */
    static final int MAX_TRANSLATED_ANSWER = 16 * 1024 * 1024;
    private static final int MAX_ERROR_BODY = 64 * 1024;
    private static final int CHUNK = 16 * 1024;
    /** The most of a stream's opening held back before it is passed on regardless. */
    private static final int MAX_HELD = 64 * 1024;
    /** How long an object's key is remembered: OpenAI keeps stored responses for 30 days. */
    private static final long AFFINITY_MILLIS = Duration.ofDays(30).toMillis();

    private final ApiKeyManager manager;
    private final KeypoolConfig config;
    private final Clock clock;
    private final ProviderSettings settings;
    private final Upstream upstream;
    private final Map<Provider, ProviderApi> apis = new EnumMap<>(Provider.class);
    private final Map<Provider, ChatTranslator> translators = new EnumMap<>(Provider.class);
    private final RoutePlanner planner;
    private final AffinityStore affinity;
    private final ApiKeyRotator rotator;
    private final OllamaAvailability ollama;

    private Relay(ApiKeyRotator rotator, AffinityStore affinity) {
        this.manager = rotator.manager();
        this.config = manager.config();
        this.clock = manager.clock();
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
        this.affinity = Objects.requireNonNull(affinity, "affinity");
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
        KeyConfig pinned = pinnedKey(call);
        String session = pinned == null ? session(request, call) : null;
        Sticky sticky = session == null ? null : recallSession(session);
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
        } catch (Refusal refused) {
            return refuse(refused, sink);
        }
        if (outcome != null) {
            if (session != null) {
                rememberSession(session, sticky, outcome.served());
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
            return exchange(api, call, null, call.model(), null, null,
                    new Served(provider, -1, null, call.model(), attempts, notes), sink);
        }
        if (!provider.usesKeys()) {
            String model = route.model() != null ? route.model() : planner.ollamaModel();
            Served served = new Served(provider, -1, null, model, attempts, notes);
            return failover.keyless(provider, model, () -> {
                try {
                    return exchange(api, call, translator, model, null, null, served, sink);
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
                    return exchange(api, call, translator, model, reservation.apiKey(), reservation, served, sink);
                });
    }

    /** One HTTP exchange with one key (or keyless): send, classify, deliver, settle. */
    private Outcome exchange(ProviderApi api, Call call, ChatTranslator translator, String model, String secret,
            Reservation reservation, Served served, Sink sink) {
        ChatTranslator.Translation translation = translator == null ? null
                : translator.translate(call.json(), model, secret, call.stream());
        UpstreamRequest request = translation != null ? translation.upstream() : call.upstream(secret, model);
        AnswerSpec spec = translation != null ? translation.answer() : call.answer();
        if (translation != null && !translation.dropped().isEmpty()) {
            served = served.withDropped(translation.dropped());
        }
        try (Upstream.StreamingResponse response = upstream.open(request, secret)) {
            if (reservation != null) {
                RateLimitSnapshot budget = api.budget(response.headers());
                if (budget != null) {
                    manager.observeBudget(reservation.keyId(), budget.toBudget(clock.millis()));
                }
            }
            int status = response.status();
            if (status < 200 || status >= 300) {
                String body = scrub(new String(readAtMost(response, MAX_ERROR_BODY), StandardCharsets.UTF_8), secret);
                UpstreamException failure = api.failure(status, response.headers(), body, secret);
                if (failure.kind() == FailureKind.CLIENT_ERROR) {
                    throw translation != null
                            ? new Refusal(failure, new Head(status, List.of(new Header("Content-Type", "application/json")),
                                    served, -1, false), OpenAiShapes.error(failure.getMessage(), "invalid_request_error",
                                    null, api.provider().id() + "_error"))
                            : new Refusal(failure, new Head(status, passed(response), served, -1, false),
                                    body.getBytes(StandardCharsets.UTF_8));
                }
                throw failure;
            }
            Delivery delivery = new Delivery(api, spec, reservation, secret, served, call.stream());
            if (translation != null) {
                delivery.translated(response, translation, sink);
            } else {
                delivery.passThrough(response, sink);
            }
            return delivery.settle(status);
        }
    }

    // ---- delivery ----------------------------------------------------------------------------------

    /**
     * One answer on its way to the sink: what has been read of it, and how it settles. A failure to
     * read it before anything reached the sink is the provider's and fails over; after, it is
     * {@link StreamBroken}. A failure to write it is the caller's ({@link CallerGone}).
     */
    private final class Delivery {

        private final ProviderApi api;
        private final AnswerSpec spec;
        private final Reservation reservation;
        private final String secret;
        private final Served served;
        private final boolean stream;
        private final AnswerScanner scanner;
        private OutputStream out;
        /** Events held back until one says something ({@link #passOn}). */
        private final ByteArrayOutputStream held = new ByteArrayOutputStream(0);
        private boolean begun;
        private boolean ended;
        private boolean committed;
        private TokenUsage usage;
        /** The first failure an event of the stream reported, if any. */
        private UpstreamException streamFailure;

        Delivery(ProviderApi api, AnswerSpec spec, Reservation reservation, String secret, Served served,
                boolean stream) {
            this.api = api;
            this.spec = spec;
            this.reservation = reservation;
            this.secret = secret;
            this.served = served;
            this.stream = stream;
            this.scanner = new AnswerScanner(spec.usage(), spec.ids(), spec.framing() == AnswerSpec.Framing.JSON_ARRAY);
        }

        void passThrough(Upstream.StreamingResponse response, Sink sink) {
            List<Header> headers = passed(response);
            switch (spec.framing()) {
                case SSE, NDJSON -> events(response, new Head(response.status(), headers, served, -1, true), sink,
                        spec.framing() == AnswerSpec.Framing.SSE ? EventFramer.sse() : EventFramer.lines());
                case JSON_ARRAY -> pump(response, new Head(response.status(), headers, served, -1, true), sink,
                        EMPTY, true);
                case DOCUMENT, OPAQUE -> document(response, headers, sink);
            }
        }

        private void document(Upstream.StreamingResponse response, List<Header> headers, Sink sink) {
            boolean read = spec.framing() == AnswerSpec.Framing.DOCUMENT && readable(headers);
            long declared = response.contentLength();
            int limit = spec.scrub() ? MAX_TRANSLATED_ANSWER : BUFFERED_ANSWER;
            byte[] first = readWithin(response, limit + 1);
            if (first.length <= limit) {
                if (read) {
                    scanner.feed(first, 0, first.length);
                }
                byte[] body = spec.scrub() && secret != null ? scrubBytes(first, secret) : first;
                commit();
                write(sink, () -> sink.whole(new Head(response.status(), headers, served, body.length, false), body));
                begun = true;
                return;
            }
            pump(response, new Head(response.status(), headers, served, spec.scrub() ? -1 : declared, false), sink,
                    first, read);
        }

        /** Passes the body on as it arrives (the first bytes already read), reading it for usage when {@code read}. */
        private void pump(Upstream.StreamingResponse response, Head head, Sink sink, byte[] first, boolean read) {
            if (first.length > 0) {
                if (read) {
                    scanner.feed(first, 0, first.length);
                }
                OutputStream stream = out(sink, head);
                write(sink, () -> stream.write(first));
            }
            InputStream in = response.body();
            byte[] buffer = new byte[CHUNK];
            int n;
            while ((n = readBody(in, buffer)) >= 0) {
                if (read) {
                    scanner.feed(buffer, 0, n);
                }
                int length = n;
                OutputStream stream = out(sink, head);
                write(sink, () -> {
                    stream.write(buffer, 0, length);
                    if (head.streaming()) {
                        stream.flush();
                    }
                });
            }
            end(sink, head);
        }

        /**
         * Passes a stream on event by event. The answer begins with its first event, not with the
         * provider's headers: a stream that fails before it said anything still fails over.
         */
        private void events(Upstream.StreamingResponse response, Head head, Sink sink, EventFramer framer) {
            AnswerSpec.EventEditor editor = spec.editor();
            EventFramer.Handler handler = (raw, length, data, dataStart, dataEnd) -> {
                if (data != null) {
                    scanner.document(data, 0, data.length);
                    noteFailure(data);
                }
                if (editor != null && data != null && dataStart >= 0) {
                    byte[] edited = editor.edit(data);
                    if (edited == null) {
                        return;
                    }
                    if (edited != data) {
                        byte[] event = new byte[dataStart + edited.length + length - dataEnd];
                        System.arraycopy(raw, 0, event, 0, dataStart);
                        System.arraycopy(edited, 0, event, dataStart, edited.length);
                        System.arraycopy(raw, dataEnd, event, dataStart + edited.length, length - dataEnd);
                        passOn(sink, head, event, 0, event.length, edited);
                        return;
                    }
                }
                passOn(sink, head, raw, 0, length, data);
            };
            InputStream in = response.body();
            byte[] buffer = new byte[CHUNK];
            int n;
            while ((n = readBody(in, buffer)) >= 0) {
                framer.feed(buffer, 0, n, handler);
                flush(sink);
            }
            framer.finish(handler);
            end(sink, head);
        }

        void translated(Upstream.StreamingResponse response, ChatTranslator.Translation translation, Sink sink) {
            if (!stream) {
                byte[] body = readWithin(response, MAX_TRANSLATED_ANSWER + 1);
                if (body.length > MAX_TRANSLATED_ANSWER) {
                    throw failedWhileReading(new UpstreamException(Failure.of(FailureKind.SERVER_ERROR,
                            "the answer is larger than the " + MAX_TRANSLATED_ANSWER + " bytes keypool translates"),
                            response.status()));
                }
                scanner.feed(body, 0, body.length);
                byte[] completion = translation.completion(body);
                commit();
                write(sink, () -> sink.whole(new Head(200, List.of(new Header("Content-Type", "application/json")),
                        served, completion.length, false), completion));
                begun = true;
                return;
            }
            EventFramer framer = translation.answer().framing() == AnswerSpec.Framing.SSE ? EventFramer.sse()
                    : EventFramer.lines();
            Head head = new Head(200, List.of(new Header("Content-Type", "text/event-stream"),
                    new Header("Cache-Control", "no-cache")), served, -1, true);
            EventFramer.Handler handler = (raw, length, data, dataStart, dataEnd) -> {
                if (data != null) {
                    scanner.document(data, 0, data.length);
                    noteFailure(data);
                    for (byte[] chunk : translation.chunks(data)) {
                        writeEvent(sink, head, chunk);
                    }
                }
            };
            InputStream in = response.body();
            byte[] buffer = new byte[CHUNK];
            int n;
            while ((n = readBody(in, buffer)) >= 0) {
                framer.feed(buffer, 0, n, handler);
                flush(sink);
            }
            framer.finish(handler);
            for (byte[] chunk : translation.end(true)) {
                writeEvent(sink, head, chunk);
            }
            end(sink, head);
        }

        /** One OpenAI event written by a translator, held back like a passed one until the stream opens. */
        private void writeEvent(Sink sink, Head head, byte[] data) {
            byte[] event = new byte[DATA.length + data.length + EVENT_END.length];
            System.arraycopy(DATA, 0, event, 0, DATA.length);
            System.arraycopy(data, 0, event, DATA.length, data.length);
            System.arraycopy(EVENT_END, 0, event, DATA.length + data.length, EVENT_END.length);
            passOn(sink, head, event, 0, event.length, data);
        }

        /**
         * Passes one event on, or holds it back while the stream has not yet said anything (see
         * {@link AnswerSpec#opens()}); the held events go first once one opens it.
         */
        private void passOn(Sink sink, Head head, byte[] event, int offset, int length, byte[] data) {
            if (out == null && spec.opens() != null && held.size() < MAX_HELD
                    && (data == null || !spec.opens().test(data))) {
                held.write(event, offset, length);
                return;
            }
            OutputStream stream = out(sink, head);
            write(sink, () -> stream.write(event, offset, length));
        }

        /** Keeps the first failure an event reports; the key gets its reaction when the stream ends. */
        private void noteFailure(byte[] data) {
            if (streamFailure == null) {
                streamFailure = api.streamFailure(data, secret);
            }
        }

        /** The caller's stream, begun with {@code head} the first time something is written to it. */
        private OutputStream out(Sink sink, Head head) {
            if (out == null) {
                write(sink, () -> out = spec.scrub() && secret != null
                        ? new ScrubbingOutputStream(sink.begin(head), secret) : sink.begin(head));
                begun = true;
                if (held.size() > 0) {
                    write(sink, () -> held.writeTo(out));
                    held.reset();
                }
            }
            return out;
        }

        private void flush(Sink sink) {
            if (out != null) {
                write(sink, out::flush);
            }
        }

        /**
         * Ends the caller's stream (begun now if the provider sent nothing at all), once the
         * provider's ended. Never after a failure: that stream is left unended, so the caller sees it cut.
         */
        private void end(Sink sink, Head head) {
            if (ended) {
                return;
            }
            ended = true;
            OutputStream stream = out(sink, head);
            commit();
            write(sink, stream::close);
        }

        /** Reads up to {@code limit} bytes within the upstream timeout (the answer may be smaller). */
        private byte[] readWithin(Upstream.StreamingResponse response, int limit) {
            long deadline = System.nanoTime() + upstream.timeout().toNanos();
            InputStream in = response.body();
            long declared = response.contentLength();
            byte[] buffer = new byte[(int) Math.min(limit, declared >= 0 ? declared + 1 : CHUNK)];
            int size = 0;
            while (size < limit) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw failedWhileReading(new UpstreamException(Failure.of(
                            FailureKind.SERVER_ERROR, "timed out: no complete answer within "
                                    + Upstream.describe(upstream.timeout())), response.status()));
                }
                response.readTimeout(Duration.ofMillis(Math.max(1, left / 1_000_000)));
                if (size == buffer.length) {
                    buffer = Arrays.copyOf(buffer, (int) Math.min(limit, (long) buffer.length * 2));
                }
                int n = readBody(in, buffer, size, buffer.length - size);
                if (n < 0) {
                    break;
                }
                size += n;
            }
            response.readTimeout(upstream.idleTimeout());
            return size == buffer.length ? buffer : Arrays.copyOf(buffer, size);
        }

        private int readBody(InputStream in, byte[] buffer) {
            return readBody(in, buffer, 0, buffer.length);
        }

        private int readBody(InputStream in, byte[] buffer, int offset, int length) {
            try {
                return in.read(buffer, offset, length);
            } catch (UpstreamException e) {
                throw failedWhileReading(e);
            } catch (IOException e) {
                throw failedWhileReading(Upstream.transportFailure(e, secret));
            }
        }

        /**
         * The provider failed mid-answer. It may have billed what it generated, so the whole
         * reservation is charged. Before anything reached the caller, the failure is the provider's
         * and fails over; after, the caller holds part of an answer and nothing is retried.
         */
        private RuntimeException failedWhileReading(UpstreamException failure) {
            chargeReserved();
            if (!begun) {
                return failure;
            }
            if (reservation != null) {
                manager.recordFailure(reservation.key(), failure.failure(), false);
            }
            return new StreamBroken(failure);
        }

        private void write(Sink sink, SinkWrite write) {
            try {
                write.run();
            } catch (IOException | UncheckedIOException e) {
                chargeReserved();
                throw new CallerGone(e);
            } catch (RuntimeException | Error e) {
                // an interrupt, or a library listener that threw: the caller abandoned the answer
                chargeReserved();
                throw e;
            }
        }

        /**
         * Settles the reservation with what the answer reported, or on the safe side when it
         * reported nothing, and remembers the objects it created. Done before the answer's last
         * bytes reach the caller, so a caller that read its answer whole sees it accounted.
         */
        private void commit() {
            if (committed) {
                return;
            }
            committed = true;
            TokenUsage reported = scanner.usage();
            if (reservation != null) {
                if (reported != null) {
                    reservation.commit(reported);
                    usage = reported;
                } else {
                    chargeReserved();
                    usage = TokenUsage.total(reservation.tokens());
                }
                long expires = clock.millis() + AFFINITY_MILLIS;
                for (String id : scanner.ids()) {
                    affinity.remember(id, keyRef(reservation.key()), expires);
                }
            } else {
                usage = reported;
            }
        }

        Outcome settle(int status) {
            commit();
            if (streamFailure != null && reservation != null) {
                manager.recordFailure(reservation.key(), streamFailure.failure(), false);
            }
            return new Outcome(served, status, usage);
        }

        private void chargeReserved() {
            if (reservation != null && !reservation.isSettled()) {
                TokenUsage reported = scanner.usage();
                long tokens = Math.max(reservation.tokens(), reported == null ? 0 : reported.totalTokens());
                reservation.commit(TokenUsage.total(tokens));
            }
        }
    }

    private static final byte[] EMPTY = new byte[0];
    private static final byte[] DATA = "data: ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] EVENT_END = "\n\n".getBytes(StandardCharsets.US_ASCII);

    @FunctionalInterface
    private interface SinkWrite {
        void run() throws IOException;
    }

    // ---- helpers -----------------------------------------------------------------------------------

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

    /** The key a request must go to, when it names an object one key created; {@code null} otherwise. */
    private KeyConfig pinnedKey(Call call) {
        if (call.references().isEmpty()) {
            return null;
        }
        long now = clock.millis();
        for (String reference : call.references()) {
            String ref = affinity.recall(reference, now);
            if (ref != null) {
                KeyConfig key = keyOfRef(ref);
                if (key != null) {
                    return key;
                }
            }
        }
        return null;
    }

    // ---- sticky sessions ------------------------------------------------------------------------------

    /** The header that names a session on any endpoint; it never goes upstream ({@link ForwardedHeaders}). */
    static final String SESSION_HEADER = "x-keypool-session";

    /** A session's key as remembered, and when it was. */
    private record Sticky(String id, KeyConfig key, long rememberedMillis) {
    }

    /** The session the request names: the {@code x-keypool-session} header, else the body's ({@link Call#session()}). */
    private static String session(Inbound request, Call call) {
        String header = request.header(SESSION_HEADER);
        if (header != null && !header.isBlank()) {
            return header.strip();
        }
        return call.session();
    }

    /**
     * The affinity store's name for a session: a hash, never the caller's text (a {@code user} may
     * name a person), under its own prefix beside the objects' ids.
     */
    private static String sessionId(String session) {
        try {
            byte[] digest = java.security.MessageDigest.getInstance("SHA-256")
                    .digest(session.getBytes(StandardCharsets.UTF_8));
            return "session:" + java.util.HexFormat.of().formatHex(digest, 0, 16);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    /** The key that served the session last, while it is remembered and still configured. */
    private Sticky recallSession(String session) {
        String id = sessionId(session);
        String value = affinity.recall(id, clock.millis());
        if (value == null) {
            return new Sticky(id, null, 0);
        }
        int bar = value.lastIndexOf('|');
        KeyConfig key = keyOfRef(bar < 0 ? value : value.substring(0, bar));
        long remembered = 0;
        if (bar >= 0) {
            try {
                remembered = Long.parseLong(value.substring(bar + 1));
            } catch (NumberFormatException e) {
                // written by someone else: remembered again below
            }
        }
        return new Sticky(id, key, remembered);
    }

    /**
     * The session follows the key that served it. Written when the key changed, or when half the
     * session's time to live has passed, so an active session stays remembered without a write per
     * request.
     */
    private void rememberSession(String session, Sticky sticky, Served served) {
        if (served == null || served.keyIndex() < 0 || !served.provider().usesKeys()) {
            return;
        }
        KeyConfig key = manager.keys(served.provider()).stream().filter(k -> k.index() == served.keyIndex())
                .findFirst().orElse(null);
        if (key == null) {
            return;
        }
        long now = clock.millis();
        long ttl = settings.sessionTtl().toMillis();
        if (sticky != null && sticky.key() != null && key.id().equals(sticky.key().id())
                && now - sticky.rememberedMillis() < ttl / 2) {
            return;
        }
        affinity.remember(sticky != null ? sticky.id() : sessionId(session), keyRef(key) + "|" + now, now + ttl);
    }

    /**
     * How the affinity store names a key: its fingerprint, which every instance and every restart
     * agree on whatever the key's position in {@code .env}; its handle only while the store cannot
     * tell the fingerprint (Redis unreachable since start-up), which then holds for this process.
     */
    private String keyRef(KeyConfig key) {
        KeyFingerprint fingerprint = manager.store().fingerprint(key.id());
        return fingerprint != null ? fingerprint.toString() : key.id().toString();
    }

    private KeyConfig keyOfRef(String ref) {
        for (KeyConfig key : manager.allKeys()) {
            if (keyRef(key).equals(ref)) {
                return key;
            }
        }
        return null;
    }

    /** The provider's headers that reach the caller. */
    private static List<Header> passed(Upstream.StreamingResponse response) {
        List<Header> headers = new ArrayList<>(16);
        response.forEachHeader((name, value) -> {
            if (ForwardedHeaders.downstream(name)) {
                headers.add(new Header(name, value));
            }
        });
        return headers;
    }

    /** Whether the answer's body is JSON that keypool can read as it passes (not compressed, not binary). */
    private static boolean readable(List<Header> headers) {
        String encoding = Header.first(headers, "Content-Encoding");
        if (encoding != null && !encoding.equalsIgnoreCase("identity")) {
            return false;
        }
        String type = Header.first(headers, "Content-Type");
        return type == null || type.toLowerCase(Locale.ROOT).contains("json");
    }

    private static byte[] readAtMost(Upstream.StreamingResponse response, int limit) {
        try {
            return response.body().readNBytes(limit);
        } catch (IOException e) {
            return new byte[0];
        } catch (UpstreamException e) {
            return new byte[0];
        }
    }

    private static String scrub(String text, String secret) {
        return secret == null ? text : KeyMask.scrub(text, secret);
    }

    private static byte[] scrubBytes(byte[] body, String secret) {
        String text = new String(body, StandardCharsets.UTF_8);
        return text.contains(secret) ? KeyMask.scrub(text, secret).getBytes(StandardCharsets.UTF_8) : body;
    }

    private static Outcome refuse(Refusal refused, Sink sink) {
        try {
            sink.refused(refused.head, refused.body, refused);
        } catch (IOException e) {
            throw new CallerGone(e);
        }
        return new Outcome(refused.head.served(), refused.head.status(), null);
    }

    /** The provider's own refusal of the request, with its answer, to pass to the caller. */
    private static final class Refusal extends UpstreamException {

        private final transient Head head;
        private final transient byte[] body;

        Refusal(UpstreamException failure, Head head, byte[] body) {
            super(failure.failure(), failure.status(), null);
            this.head = head;
            this.body = body;
        }
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
