package dev.keypool.providers.ollama;

import dev.keypool.failure.UpstreamException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether Ollama answers, and which models it has, remembered for a few seconds: every {@code auto}
 * request asks, and a probe per request would double Ollama's traffic (or, when it is down, add a
 * refused connection to each).
 *
 * <p>One thread probes when the answer is stale; the others keep using the stale answer meanwhile
 * rather than queue behind the probe. Only the very first question waits. The age is measured on the
 * pool's clock, so tests move past the interval without sleeping.
 */
public final class OllamaAvailability {

    private static final Logger LOG = LoggerFactory.getLogger(OllamaAvailability.class);


    private final OllamaApi client;
    private final Clock clock;
    private final long intervalMillis;
    private final Duration probeTimeout;
    private final ReentrantLock probing = new ReentrantLock();
    private volatile Snapshot snapshot;

    private record Snapshot(boolean available, List<String> models, long checkedAtMillis) {
    }

    /**
     * @param interval     how long an answer is reused
     * @param probeTimeout the longest a probe may take; a local Ollama answers {@code /api/tags} in milliseconds
     */
    public OllamaAvailability(OllamaApi client, Clock clock, Duration interval, Duration probeTimeout) {
        this.client = client;
        this.clock = clock;
        this.intervalMillis = interval.toMillis();
        this.probeTimeout = probeTimeout;
    }

    public boolean available() {
        return current().available();
    }

    /** The pulled models, empty when Ollama is unreachable. */
    public List<String> models() {
        return current().models();
    }

    /** Records that a call just failed to reach Ollama, so the next requests skip it at once. */
    public void markUnreachable() {
        snapshot = new Snapshot(false, List.of(), clock.millis());
    }

    private Snapshot current() {
        Snapshot known = snapshot;
        if (known != null && clock.millis() - known.checkedAtMillis() < intervalMillis) {
            return known;
        }
        if (known != null) {
            if (!probing.tryLock()) {
                return known;
            }
        } else {
            probing.lock();
        }
        try {
            Snapshot latest = snapshot;
            if (latest != null && latest != known && clock.millis() - latest.checkedAtMillis() < intervalMillis) {
                return latest;
            }
            Snapshot probed = probe();
            snapshot = probed;
            return probed;
        } finally {
            probing.unlock();
        }
    }

    private Snapshot probe() {
        Duration limit = probeTimeout.compareTo(client.upstreamTimeout()) < 0 ? probeTimeout : client.upstreamTimeout();
        try {
            return new Snapshot(true, List.copyOf(client.tags(limit)), clock.millis());
        } catch (UpstreamException e) {
            LOG.debug("Ollama at {} is not available: {}", client.baseUrl(), e.getMessage());
            return new Snapshot(false, List.of(), clock.millis());
        }
    }
}
