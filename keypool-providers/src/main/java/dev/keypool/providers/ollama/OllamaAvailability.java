package dev.keypool.providers.ollama;

import dev.keypool.failure.UpstreamException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
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
 *
 * <p>What a model can do ({@link #capabilities}: {@code /api/show}'s {@code capabilities}) is asked once
 * per model and remembered with the digest {@code /api/tags} gave it: it changes only when the model is
 * pulled anew, which changes the digest. Only the models Ollama lists are remembered.
 */
public final class OllamaAvailability {

    private static final Logger LOG = LoggerFactory.getLogger(OllamaAvailability.class);


    private final OllamaApi client;
    private final Clock clock;
    private final long intervalMillis;
    private final Duration probeTimeout;
    private final ReentrantLock probing = new ReentrantLock();
    private volatile Snapshot snapshot;

    private final Map<String, Capabilities> capabilities = new ConcurrentHashMap<>();

    private record Snapshot(boolean available, List<String> models, Map<String, String> digests, long checkedAtMillis) {
    }

    /** A model's capabilities as they were for its {@code digest}. */
    private record Capabilities(String digest, Set<String> names) {
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

    /**
     * What {@code model} can do ({@code completion}, {@code tools}, {@code vision}, {@code thinking}, …),
     * or {@code null} when that is not known: Ollama is down, does not list the model (it answers for
     * itself then), or lists no capabilities.
     */
    public Set<String> capabilities(String model) {
        Snapshot known = current();
        String name = known.digests().containsKey(model) || model.contains(":") ? model : model + ":latest";
        String digest = known.digests().get(name);
        if (!known.available() || digest == null) {
            return null;
        }
        Capabilities cached = capabilities.get(name);
        if (cached != null && cached.digest().equals(digest)) {
            return cached.names();
        }
        try {
            Set<String> names = client.capabilities(name, probeLimit());
            if (names == null) {
                return null;
            }
            capabilities.keySet().retainAll(known.digests().keySet());
            capabilities.put(name, new Capabilities(digest, names));
            return names;
        } catch (UpstreamException e) {
            LOG.debug("Ollama's capabilities of {} are not known: {}", name, e.getMessage());
            return null;
        }
    }

    /** Records that a call just failed to reach Ollama, so the next requests skip it at once. */
    public void markUnreachable() {
        snapshot = new Snapshot(false, List.of(), Map.of(), clock.millis());
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
        try {
            List<String> names = new ArrayList<>();
            Map<String, String> digests = new HashMap<>();
            for (OllamaApi.Tag tag : client.tags(probeLimit())) {
                names.add(tag.name());
                digests.put(tag.name(), tag.digest());
            }
            return new Snapshot(true, List.copyOf(names), Map.copyOf(digests), clock.millis());
        } catch (UpstreamException e) {
            LOG.debug("Ollama at {} is not available: {}", client.baseUrl(), e.getMessage());
            return new Snapshot(false, List.of(), Map.of(), clock.millis());
        }
    }

    private Duration probeLimit() {
        return probeTimeout.compareTo(client.upstreamTimeout()) < 0 ? probeTimeout : client.upstreamTimeout();
    }
}
