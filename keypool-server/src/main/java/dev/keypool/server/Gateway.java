package dev.keypool.server;

import com.sun.management.UnixOperatingSystemMXBean;
import dev.keypool.config.KeyConfig;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.event.LoggingKeyEventListener;
import dev.keypool.providers.Relay;
import dev.keypool.providers.internal.Json;
import dev.keypool.redis.RedisAffinityStore;
import dev.keypool.redis.RedisCounters;
import dev.keypool.redis.RedisStoreConfig;
import dev.keypool.redis.RedisUsageStore;
import dev.keypool.redis.ResilientRedisUsageStore;
import dev.keypool.rotation.ApiKeyManager;
import dev.keypool.rotation.ApiKeyRotator;
import dev.keypool.rotation.WakeScheduler;
import dev.keypool.server.alerts.AlertWebhooks;
import dev.keypool.server.alerts.WebhookDelivery;
import dev.keypool.server.connection.ConnectionLimits;
import dev.keypool.server.connection.GuardedConnections;
import dev.keypool.server.feed.EventFeed;
import dev.keypool.server.logging.SecretScrubber;
import dev.keypool.server.metrics.KeypoolMetrics;
import dev.keypool.server.status.StatusReport;
import dev.keypool.server.status.StatusReporter;
import dev.keypool.server.usage.UsageRecorder;
import dev.keypool.usage.AffinityStore;
import dev.keypool.usage.DurableAffinityStore;
import dev.keypool.usage.DurableUsageStore;
import dev.keypool.usage.InMemoryAffinityStore;
import dev.keypool.usage.InMemoryUsageStore;
import dev.keypool.usage.Periodic;
import dev.keypool.usage.StoreHealth;
import dev.keypool.usage.UsageStore;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http1.Http1Config;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;
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
 *
 * <h2>Under a flood</h2>
 * Memory is bounded by {@link ServerSettings.Edge}: at most {@code KEYPOOL_MAX_CONNECTIONS}
 * connections are served (the next ones get a 503 and are closed, see {@link GuardedConnections}),
 * slow and idle connections are closed after their timeouts, and at most {@code KEYPOOL_MAX_IN_FLIGHT}
 * gateway requests are served at once, holding at most {@code KEYPOOL_MAX_BODY_BYTES_IN_FLIGHT} of
 * request bodies ({@link LoadShedding}; the excess gets a 503 with {@code Retry-After} at once).
 * {@code /health}, {@code /metrics}, the admin API, its event feed and the dashboard's files are
 * not counted against the in-flight cap: they answer from memory, without an upstream call, and
 * the connection cap bounds them.
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
    private final Relay relay;
    private final ConfigReload reload;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final Deque<AutoCloseable> companions = new ConcurrentLinkedDeque<>();
    private final LongSupplier ticker;
    /**
     * The process's one scheduler: the store's and the usage history's flushes, the keys'
     * maintenance, the event feed's status pushes, the connection sweeps, the alerts and their
     * retries, the wake-ups of requests waiting for a key. Two threads, so that one slow task (a
     * flush waiting on Redis until its timeout) does not hold the connection sweeps back; shut
     * down last, after everything that runs on it has closed.
     */
    private final ScheduledExecutorService scheduler = Periodic.scheduler("keypool-background", 2);
    /** The gateway's own periodic tasks, cancelled first when it closes. */
    private final List<Periodic> tasks = new CopyOnWriteArrayList<>();
    /** The caps in force: the configured ones, or less when the process may not open enough files. */
    private final ServerSettings.Edge edge;
    private final LoadShedding shedding;
    private final Door door;
    private volatile Runnable onServerFailure = () -> { };
    private volatile GuardedConnections connections;
    private volatile WebServer server;
    private volatile AlertWebhooks alerts;

    private Gateway(KeypoolConfig config, ServerSettings settings, Clock clock, LongSupplier ticker,
            ConfigReload.Source source) {
        this.config = config;
        this.settings = settings;
        this.ticker = ticker;
        this.edge = settings.edge().fitToFileDescriptors(maxFileDescriptors());
        if (!edge.equals(settings.edge())) {
            LOG.warn("This process may open {} files (ulimit -n), fewer than KEYPOOL_MAX_CONNECTIONS={} and"
                    + " KEYPOOL_MAX_IN_FLIGHT={} need: serving at most {} connections and {} requests in flight. Raise the"
                    + " limit (ulimit -n, systemd's LimitNOFILE=) to use the configured caps.", maxFileDescriptors(),
                    settings.edge().connections().maxConnections(), settings.edge().maxInFlight(),
                    edge.connections().maxConnections(), edge.maxInFlight());
        }
        this.shedding = new LoadShedding(edge);
        this.door = new Door(shedding);
        SecretScrubber.register(config.allKeys().stream().map(KeyConfig::secret).toList());
        String redisUrl = RedisStoreConfig.url(config);
        SecretScrubber.registerUrlPassword(redisUrl);
        this.store = openStore(redisUrl, settings, clock, scheduler);
        this.manager = new ApiKeyManager(config, store, clock);
        try {
            this.recorder = openRecorder(redisUrl, settings, manager, store, scheduler);
        } catch (RuntimeException e) {
            manager.close();
            store.close();
            scheduler.shutdownNow();
            throw e;
        }
        this.rotator = new ApiKeyRotator(manager, WakeScheduler.on(clock, scheduler));
        this.relay = Relay.create(rotator, openAffinity(redisUrl, settings, store, clock));
        this.metrics = new KeypoolMetrics(manager, rotator);
        // Demo mode serves a configuration of its own making, which no file holds.
        this.reload = new ConfigReload(manager, source, settings.demo() ? "demo mode serves simulated keys" : null);
        this.statusReporter = new StatusReporter(manager, recorder, relay::ollamaAvailable, settings.demo(),
                () -> {
                    StoreHealth health = store.health();
                    return new StatusReport.Store(store.kind(), health.degraded(), health.problem());
                }, rotator::waitStatus, reload::last);
        this.feed = new EventFeed(() -> Json.write(statusReporter.report()), scheduler);
        this.tokens = new Tokens(settings.adminToken(), settings.clientTokens());
        manager.events().addListener(new LoggingKeyEventListener());
        manager.events().addListener(recorder);
        manager.events().addListener(feed);
        manager.events().addListener(reload);
    }

    /**
     * Redis when {@code KEYPOOL_REDIS_URL} is set (usage and key state shared by every instance);
     * otherwise the durable embedded store in {@code KEYPOOL_DATA_DIR}, so a restart continues
     * where it stopped. Demo mode keeps its simulated usage in memory, out of the data directory.
     */
    private static UsageStore openStore(String redisUrl, ServerSettings settings, Clock clock,
            ScheduledExecutorService scheduler) {
        if (settings.demo()) {
            return new InMemoryUsageStore();
        }
        if (redisUrl != null) {
            LOG.info("Usage and key state are shared through Redis by {} instances (KEYPOOL_INSTANCES); while Redis"
                    + " is unreachable each one accounts locally with 1/{} of every limit", settings.instances(),
                    settings.instances());
            return new ResilientRedisUsageStore(
                    new RedisUsageStore(redisUrl, RedisStoreConfig.custom().clock(clock).build()),
                    settings.instances());
        }
        DurableUsageStore durable = DurableUsageStore.open(settings.dataDir(), clock, scheduler);
        LOG.info("Usage and key state are kept in {}", durable.file().toAbsolutePath());
        return durable;
    }

    /**
     * The usage history beside the store: shared through Redis with it, kept in the data directory
     * beside the durable store, in memory for a demo.
     */
    private static UsageRecorder openRecorder(String redisUrl, ServerSettings settings, ApiKeyManager manager,
            UsageStore store, ScheduledExecutorService scheduler) {
        if (store instanceof ResilientRedisUsageStore redis) {
            return UsageRecorder.shared(manager, new RedisCounters(redisUrl, redis.redis().config()),
                    scheduler);
        }
        if (store instanceof DurableUsageStore) {
            return UsageRecorder.durable(manager, settings.dataDir(), scheduler);
        }
        return UsageRecorder.inMemory(manager, scheduler);
    }

    /**
     * Where the keys of upstream objects (stored responses, files, cached contents, archived
     * searches) are remembered: beside the usage, so that they are shared by every instance on
     * Redis and survive a restart in the data directory.
     */
    private static AffinityStore openAffinity(String redisUrl, ServerSettings settings, UsageStore store,
            Clock clock) {
        if (store instanceof ResilientRedisUsageStore redis) {
            try {
                return new RedisAffinityStore(redisUrl, redis.redis().config());
            } catch (RuntimeException e) {
                LOG.warn("Redis is unreachable: the keys of stored objects are remembered on this instance only ({})",
                        e.getMessage());
                return new InMemoryAffinityStore();
            }
        }
        if (store instanceof DurableUsageStore) {
            return DurableAffinityStore.open(settings.dataDir(), clock.millis());
        }
        return new InMemoryAffinityStore();
    }


    /** Whether the store can be reached (always, but for Redis). */
    boolean storeConnected() {
        return store.connected();
    }


    /** Builds the gateway and starts its web server on {@code settings}' host and port. */
    public static Gateway start(KeypoolConfig config, ServerSettings settings, Clock clock) {
        return start(config, settings, clock, System::nanoTime);
    }

    /**
     * As {@link #start(KeypoolConfig, ServerSettings, Clock)}, with the ticker that connection
     * timeouts are measured with: tests move it and call {@link #connections()}' sweep.
     */
    static Gateway start(KeypoolConfig config, ServerSettings settings, Clock clock, LongSupplier ticker) {
        return start(config, settings, clock, ticker, null);
    }

    /**
     * As {@link #start(KeypoolConfig, ServerSettings, Clock)}, reading {@code source} again on a
     * reload ({@code POST /api/admin/reload}, SIGHUP); {@code null} when there is nothing to read.
     */
    static Gateway start(KeypoolConfig config, ServerSettings settings, Clock clock, LongSupplier ticker,
            ConfigReload.Source source) {
        Gateway gateway = new Gateway(config, settings, clock, ticker, source);
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

    /** The longest request line read (a longer one gets 414): twice Helidon's 4 KiB, as nginx allows 8 KiB. */
    static final int MAX_REQUEST_LINE = 8192;

    /** The most bytes of request headers read (more gets 400). */
    static final int MAX_HEADERS = 16384;

    private void startServer() {
        manager.startMaintenance(Duration.ofSeconds(1), scheduler);
        ConnectionLimits limits = edge.connections();
        // No wire log (its level checks ran several times per request) and no second check of
        // response headers: ours are constants, numbers and values made ASCII-printable
        // (ChatResource.ascii). Request headers are still validated.
        Http1Config http1 = Http1Config.builder().receiveLog(false).sendLog(false).validateResponseHeaders(false)
                .maxPrologueLength(MAX_REQUEST_LINE)
                .maxHeadersSize(MAX_HEADERS)
                .addReceiveListener(GuardedConnections.receiveListener())
                .addSendListener(GuardedConnections.sendListener())
                .build();
        connections = new GuardedConnections(http1, limits, shedding.connectionRefusal(), ticker);
        server = WebServer.builder()
                .host(settings.host())
                .port(settings.port())
                // Without it Nagle's algorithm holds a streamed chunk back until the last one is
                // acknowledged: the first token reached clients ~40 ms late (docs/BENCHMARKS.md).
                .connectionOptions(options -> options.tcpNoDelay(true))
                // Our selector is the only one: Helidon then hands it every connection without
                // trying to identify the protocol (with two, HTTP/1.0 and over-long request lines
                // matched neither and were dropped without an answer).
                .protocolsDiscoverServices(false)
                .addConnectionSelector(connections)
                .maxTcpConnections(limits.hardLimit())
                .directHandlers(DirectErrors.all())
                // A plain socket reads into one 8 KiB buffer; the NIO one also keeps an 8 KiB
                // write buffer per connection, idle or not (docs/DECISIONS.md).
                .useNio(false)
                // Our own hook drains requests first; Helidon's would stop the listener at once.
                .shutdownHook(false)
                .routing(this::routing)
                .build()
                .start();
        // Helidon logs a failed bind and returns a stopped server rather than throwing.
        if (!server.isRunning() || server.port() < 0) {
            throw new IllegalStateException("cannot listen on " + settings.host() + ":" + settings.port()
                    + " (is the port in use?)");
        }
        shedding.registerMetrics(metrics.registry(), connections);
        tasks.add(Periodic.every(Duration.ofSeconds(1), "keypool-connection-sweeper", scheduler, this::watchEdge));
        if (!settings.alertWebhooks().isEmpty()) {
            alerts = new AlertWebhooks(statusReporter::report,
                    WebhookDelivery.overHttp(settings.alertWebhooks(), scheduler)::send, manager.clock(),
                    settings.host() + ":" + server.port());
            tasks.add(Periodic.every(AlertWebhooks.CHECK_PERIOD, "keypool-alerts", scheduler, this::checkAlerts));
            LOG.info("Alerts are posted to {} webhook(s): {}", settings.alertWebhooks().size(),
                    settings.alertWebhooks().stream().map(URI::getHost).toList());
        }
    }

    /**
     * The routing table, and the one place the resources are wired: each takes only what it uses.
     * Keypool's own paths come first: {@code /api/admin/*} before Ollama's {@code /api/*}.
     */
    private void routing(HttpRouting.Builder routing) {
        ApiErrors.register(routing, manager.clock());
        routing.addFilter(new RequestFilter(door, metrics, settings.maxBodyBytes()));
        routing.addFilter(new CrossSiteFilter(settings));
        Relaying relaying = new Relaying(relay, settings.maxBodyBytes());
        routing.register(
                new AdminResource(tokens, manager, statusReporter, recorder, settings, reload),
                new EventStreamResource(feed, tokens),
                new HealthResource(door, store, manager, relay::ollamaAvailable, settings.demo()),
                new MetricsResource(metrics),
                new OpenAiResource(relay, relaying, tokens),
                new GeminiResource(relaying, tokens),
                new OllamaResource(relaying, tokens),
                new SearchResource(relaying, tokens, manager));
        routing.any("/api/admin/*", (request, response) -> ApiErrors.write(request, response,
                ApiException.notFound("not_found", "No such endpoint: " + request.prologue().method().text() + " "
                        + request.path().path())));
        routing.register(new DashboardResource());
    }

    /** Posts what changed in the alerts; a failure here must not end the timer's other work. */
    private void checkAlerts() {
        try {
            alerts.check();
        } catch (RuntimeException e) {
            LOG.warn("Could not check the alerts for the webhooks", e);
        }
    }

    /** The webhooks' alert check, or {@code null} when no webhook is configured. */
    AlertWebhooks alerts() {
        return alerts;
    }

    /**
     * Every second: closes connections past their timeouts, and notices a web server that stopped
     * without being closed (Helidon stops a listener that fails, an out-of-memory error included,
     * and the process would stay up without answering).
     */
    private void watchEdge() {
        try {
            connections.sweep();
            WebServer running = server;
            if (running != null && !running.isRunning() && !closed.get()) {
                LOG.error("The web server stopped by itself; the gateway no longer answers");
                onServerFailure.run();
            }
        } catch (RuntimeException e) {
            LOG.warn("Connection sweep failed", e);
        }
    }

    private static long maxFileDescriptors() {
        return ManagementFactory.getOperatingSystemMXBean() instanceof UnixOperatingSystemMXBean unix
                ? unix.getMaxFileDescriptorCount() : -1;
    }

    /** The caps in force ({@link ServerSettings.Edge#fitToFileDescriptors}). */
    ServerSettings.Edge edge() {
        return edge;
    }

    /** What to do when the web server stops by itself; {@link Main} exits the process. */
    void onServerFailure(Runnable action) {
        this.onServerFailure = action;
    }

    /** The web server, for tests that stop it behind the gateway's back. */
    WebServer webServer() {
        return server;
    }

    /** The guarded connections of the listener. */
    GuardedConnections connections() {
        return connections;
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







    /** What reads the configuration again: {@code POST /api/admin/reload} and SIGHUP. */
    ConfigReload reload() {
        return reload;
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
        door.close();
        feed.close();
        long deadline = System.nanoTime() + settings.drainTimeout().toNanos();
        if (door.inFlight() > 0) {
            LOG.info("Draining {} request(s) in flight before stopping", door.inFlight());
        }
        while (door.inFlight() > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (door.inFlight() > 0) {
            LOG.warn("Stopping with {} request(s) still in flight after {} s", door.inFlight(),
                    settings.drainTimeout().toSeconds());
        }
        if (server != null) {
            server.stop();
        }
        tasks.forEach(Periodic::close);
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
        relay.close();
        manager.close();
        recorder.close();
        store.close();
        metrics.close();
        scheduler.shutdownNow();
    }
}
