package dev.keypool.server;

import dev.keypool.config.KeyConfig;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.event.LoggingKeyEventListener;
import dev.keypool.failure.FailureKind;
import dev.keypool.providers.LlmService;
import dev.keypool.providers.SearchService;
import dev.keypool.config.Provider;
import dev.keypool.rotation.TokenUsage;
import dev.keypool.rotation.ApiKeyManager;
import dev.keypool.rotation.ApiKeyRotator;
import dev.keypool.server.feed.EventFeed;
import dev.keypool.server.logging.SecretScrubber;
import dev.keypool.server.metrics.KeypoolMetrics;
import dev.keypool.server.status.StatusReport;
import dev.keypool.server.status.StatusReporter;
import dev.keypool.server.usage.UsageRecorder;
import dev.keypool.redis.RedisCounters;
import dev.keypool.redis.RedisStoreConfig;
import dev.keypool.redis.RedisUsageStore;
import dev.keypool.redis.ResilientRedisUsageStore;
import dev.keypool.usage.DurableUsageStore;
import dev.keypool.usage.InMemoryUsageStore;
import dev.keypool.usage.StoreHealth;
import dev.keypool.usage.UsageStore;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http1.Http1Config;
import java.time.Clock;
import java.time.Duration;
import java.util.Deque;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running gateway: the key pool and its consumers (log, usage recorder, metrics, event feed),
 * and the web server in front of them. {@link #start} is what {@link Main} and the integration
 * tests call; {@link #close()} drains requests in flight before it stops.
 *
 * <h2>Shutting down</h2>
 * Closing first marks the gateway as draining: {@code /health} answers 503 and new gateway
 * requests are refused with 503, while requests in flight finish and settle their reservations.
 * The event feed ends its streams, and after the last request (or {@link ServerSettings#drainTimeout()})
 * the server stops.
 */
public final class Gateway implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Gateway.class);

    private final KeypoolConfig config;
    private final ServerSettings settings;
    private final UsageStore store;
    private final ApiKeyManager manager;
    private final ApiKeyRotator rotator;
    private final UsageRecorder recorder;
    private final KeypoolMetrics metrics;
    private final StatusReporter statusReporter;
    private final EventFeed feed;
    private final Tokens tokens;
    private final LlmService llm;
    private final SearchService search;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicBoolean draining = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final Deque<AutoCloseable> companions = new ConcurrentLinkedDeque<>();
    private volatile WebServer server;

    private Gateway(KeypoolConfig config, ServerSettings settings, Clock clock) {
        this.config = config;
        this.settings = settings;
        SecretScrubber.register(config.allKeys().stream().map(KeyConfig::secret).toList());
        this.store = openStore(config, settings, clock);
        this.manager = new ApiKeyManager(config, store, clock);
        try {
            this.recorder = openRecorder(config, settings, manager, store);
        } catch (RuntimeException e) {
            manager.close();
            store.close();
            throw e;
        }
        this.rotator = new ApiKeyRotator(manager);
        this.llm = new LlmService(rotator);
        this.search = new SearchService(rotator);
        this.metrics = new KeypoolMetrics(manager);
        this.statusReporter = new StatusReporter(manager, recorder, llm::ollamaAvailable, settings.demo(),
                () -> {
                    StoreHealth health = storeHealth();
                    return new StatusReport.Store(storeKind(), health.degraded(), health.problem());
                });
        this.feed = new EventFeed(() -> Json.write(statusReporter.report()));
        this.tokens = new Tokens(settings.adminToken(), settings.clientTokens());
        manager.events().addListener(new LoggingKeyEventListener());
        manager.events().addListener(recorder);
        manager.events().addListener(metrics);
        manager.events().addListener(feed);
    }

    /**
     * Redis when {@code KEYPOOL_REDIS_URL} is set (usage and key state shared by every instance);
     * otherwise the durable embedded store in {@code KEYPOOL_DATA_DIR}, so a restart continues
     * where it stopped. Demo mode keeps its simulated usage in memory, out of the data directory.
     */
    private static UsageStore openStore(KeypoolConfig config, ServerSettings settings, Clock clock) {
        if (settings.demo()) {
            return new InMemoryUsageStore();
        }
        if (config.redisUrl() != null) {
            LOG.info("Usage and key state are shared through Redis by {} instances (KEYPOOL_INSTANCES); while Redis"
                    + " is unreachable each one accounts locally with 1/{} of every limit", settings.instances(),
                    settings.instances());
            return new ResilientRedisUsageStore(
                    new RedisUsageStore(config.redisUrl(), RedisStoreConfig.custom().clock(clock).build()),
                    settings.instances());
        }
        DurableUsageStore durable = DurableUsageStore.open(settings.dataDir(), clock);
        LOG.info("Usage and key state are kept in {}", durable.file().toAbsolutePath());
        return durable;
    }

    /**
     * The usage history beside the store: shared through Redis with it, kept in the data directory
     * beside the durable store, in memory for a demo.
     */
    private static UsageRecorder openRecorder(KeypoolConfig config, ServerSettings settings, ApiKeyManager manager,
            UsageStore store) {
        if (store instanceof ResilientRedisUsageStore redis) {
            return UsageRecorder.shared(manager, new RedisCounters(config.redisUrl(), redis.redis().config()));
        }
        if (store instanceof DurableUsageStore) {
            return UsageRecorder.durable(manager, settings.dataDir());
        }
        return new UsageRecorder(manager);
    }

    /** Where usage and key state live: {@code redis}, {@code data-dir} or {@code memory}. */
    String storeKind() {
        return store instanceof ResilientRedisUsageStore ? "redis"
                : store instanceof DurableUsageStore ? "data-dir" : "memory";
    }

    /** Whether the store can be reached (always, but for Redis). */
    boolean storeConnected() {
        return !(store instanceof ResilientRedisUsageStore redis) || redis.redis().isConnected();
    }

    /**
     * Whether the store keeps its promise now: degraded while Redis is unreachable (this instance
     * accounts locally with its share of each limit) or the data directory cannot be written.
     */
    StoreHealth storeHealth() {
        return store.health();
    }

    /** Builds the gateway and starts its web server on {@code settings}' host and port. */
    public static Gateway start(KeypoolConfig config, ServerSettings settings, Clock clock) {
        Gateway gateway = new Gateway(config, settings, clock);
        try {
            gateway.startServer();
        } catch (RuntimeException e) {
            gateway.close();
            throw e;
        }
        return gateway;
    }

    public static Gateway start(KeypoolConfig config, ServerSettings settings) {
        return start(config, settings, Clock.systemUTC());
    }

    private void startServer() {
        manager.startMaintenance(Duration.ofSeconds(1));
        server = WebServer.builder()
                .host(settings.host())
                .port(settings.port())
                // Without it Nagle's algorithm holds a streamed chunk back until the last one is
                // acknowledged: the first token reached clients ~40 ms late (docs/BENCHMARKS.md).
                .connectionOptions(options -> options.tcpNoDelay(true))
                // No wire log (its level checks ran several times per request) and no second check
                // of response headers: ours are constants, numbers and values made ASCII-printable
                // (ChatResource.ascii). Request headers are still validated.
                .addProtocol(Http1Config.builder().receiveLog(false).sendLog(false)
                        .validateResponseHeaders(false).build())
                // Our own hook drains requests first; Helidon's would stop the listener at once.
                .shutdownHook(false)
                .routing(routing -> Main.routing(routing, this))
                .build()
                .start();
        // Helidon logs a failed bind and returns a stopped server rather than throwing.
        if (!server.isRunning() || server.port() < 0) {
            throw new IllegalStateException("cannot listen on " + settings.host() + ":" + settings.port()
                    + " (is the port in use?)");
        }
    }

    /** The port the server listens on (the real one when 0 was asked for). */
    public int port() {
        return server.port();
    }

    public String baseUrl() {
        String host = settings.host().contains(":") ? "[" + settings.host() + "]" : settings.host();
        return "http://" + host + ":" + port();
    }

    public KeypoolConfig config() {
        return config;
    }

    public ServerSettings settings() {
        return settings;
    }

    public ApiKeyManager manager() {
        return manager;
    }

    public ApiKeyRotator rotator() {
        return rotator;
    }

    public Clock clock() {
        return manager.clock();
    }

    UsageRecorder recorder() {
        return recorder;
    }

    KeypoolMetrics metrics() {
        return metrics;
    }

    StatusReporter statusReporter() {
        return statusReporter;
    }

    EventFeed feed() {
        return feed;
    }

    Tokens tokens() {
        return tokens;
    }

    LlmService llm() {
        return llm;
    }

    SearchService search() {
        return search;
    }

    boolean ollamaAvailable() {
        return llm.ollamaAvailable();
    }

    /** Records a call to a keyless provider (Ollama), which publishes no key events. */
    void recordKeyless(Provider provider, TokenUsage usage, FailureKind failure) {
        recorder.recordKeyless(provider, usage, failure);
        metrics.recordKeyless(provider, usage, failure);
        feed.statusChanged();
    }

    boolean draining() {
        return draining.get();
    }

    int inFlight() {
        return inFlight.get();
    }

    /** Counts a request in; false when the gateway is draining and takes no new work. */
    boolean enter() {
        inFlight.incrementAndGet();
        if (draining.get()) {
            inFlight.decrementAndGet();
            return false;
        }
        return true;
    }

    void exit() {
        inFlight.decrementAndGet();
    }

    /** Closes {@code companion} when the gateway closes, after the server stopped; the last added closes first. */
    public void closeWith(AutoCloseable companion) {
        companions.addFirst(companion);
    }

    /** Drains requests in flight (up to the drain timeout), then stops the server and the pool. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        draining.set(true);
        feed.close();
        long deadline = System.nanoTime() + settings.drainTimeout().toNanos();
        if (inFlight.get() > 0) {
            LOG.info("Draining {} request(s) in flight before stopping", inFlight.get());
        }
        while (inFlight.get() > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (inFlight.get() > 0) {
            LOG.warn("Stopping with {} request(s) still in flight after {} s", inFlight.get(),
                    settings.drainTimeout().toSeconds());
        }
        if (server != null) {
            server.stop();
        }
        for (AutoCloseable companion : companions) {
            try {
                companion.close();
            } catch (Exception e) {
                LOG.warn("Could not close {}", companion, e);
            }
        }
        int pending = manager.store().pendingCount();
        if (pending > 0) {
            LOG.warn("{} reservation(s) were still unsettled at shutdown", pending);
        }
        llm.close();
        search.close();
        manager.close();
        recorder.close();
        store.close();
        metrics.close();
    }
}
