package dev.keypool.redis;

import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.api.async.RedisAsyncCommands;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends commands and scripts on one Lettuce connection and waits for them within the configured
 * timeout. Scripts go as {@code EVALSHA}; a {@code NOSCRIPT} answer (Redis restarted or its
 * script cache was flushed) is retried once as {@code EVAL}, which also puts the script back in
 * the cache. Calls are started before they are awaited, so a batch of them shares one round trip.
 *
 * <h2>A Redis that hangs</h2>
 * A Redis that stops answering (a stopped process, a full network buffer) keeps the connection
 * open, so nothing fails before the timeout. The first call that times out trips a wire: every
 * call that was already waiting when it tripped gives up at once (within {@link #SLICE}) instead
 * of waiting out its own timeout, so a hang costs the calls in flight one timeout, not one each.
 * A call started after the trip waits its full timeout again; it is for the caller (the resilient
 * store) not to start one while Redis is known to be away.
 */
final class RedisCalls {

    private static final Logger LOG = LoggerFactory.getLogger(RedisCalls.class);

    /** The error prefixes with which a Redis that is there but cannot serve yet answers. */
    private static final List<String> NOT_READY = List.of("LOADING", "BUSY", "READONLY", "MASTERDOWN",
            "CLUSTERDOWN", "TRYAGAIN", "NOREPLICAS");

    /** How often a waiting call looks whether another call has tripped the wire. */
    static final Duration SLICE = Duration.ofMillis(20);

    private final RedisLink link;
    private final Duration timeout;
    /** How many calls timed out: a call waiting since before the last one gives up too. */
    private final AtomicLong trips = new AtomicLong();

    RedisCalls(RedisLink link, Duration timeout) {
        this.link = link;
        this.timeout = timeout;
    }

    /** The connection's commands; {@link RedisUnavailableException} while there is no connection. */
    RedisAsyncCommands<String, String> redis() {
        return link.commands();
    }

    /**
     * Puts every script in Redis's cache. A Redis that cannot be reached now is not an error: the
     * first call of each script then falls back to {@code EVAL}.
     */
    void loadScripts() {
        try {
            for (Script script : Script.values()) {
                String sha = await(start(() -> redis().scriptLoad(script.body()), "loading " + script.fileName()),
                        "loading " + script.fileName());
                if (!script.sha().equals(sha)) {
                    throw new IllegalStateException("Redis computed SHA " + sha + " for " + script.fileName()
                            + ", expected " + script.sha());
                }
            }
        } catch (RedisUnavailableException e) {
            LOG.warn("Could not load the keypool scripts into Redis now; they are sent in full on first use: {}",
                    e.getMessage());
        }
    }

    /** Starts a script; {@link ScriptCall#await()} waits for its answer. */
    <T> ScriptCall<T> script(Script script, String[] keys, String... args) {
        RedisFuture<T> future = start(() -> redis().evalsha(script.sha(), script.outputType(), keys, args),
                script.fileName());
        return new ScriptCall<>(script, keys, args, future);
    }

    /** Runs a script and waits for its answer. */
    <T> T run(Script script, String[] keys, String... args) {
        return this.<T>script(script, keys, args).await();
    }

    /** Starts a plain command. */
    <T> RedisFuture<T> start(Supplier<RedisFuture<T>> command, String what) {
        try {
            return command.get();
        } catch (RedisException e) {
            throw translate(e, what);
        }
    }

    /** Waits for a started command's answer. */
    <T> T await(RedisFuture<T> future, String what) {
        try {
            return answer(future, what);
        } catch (ExecutionException e) {
            throw translate(e.getCause(), what);
        }
    }

    private <T> T answer(RedisFuture<T> future, String what) throws ExecutionException {
        long tripsBefore = trips.get();
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            while (true) {
                long left = deadline - System.nanoTime();
                try {
                    return future.get(Math.min(left, SLICE.toNanos()), TimeUnit.NANOSECONDS);
                } catch (TimeoutException e) {
                    if (trips.get() != tripsBefore) {
                        future.cancel(false);
                        throw new RedisUnavailableException("Redis stopped answering (another call timed out) while "
                                + "waiting for " + what, e);
                    }
                    if (deadline - System.nanoTime() <= 0) {
                        trips.incrementAndGet();
                        future.cancel(false);
                        throw new RedisUnavailableException("Redis did not answer " + what + " within " + timeout, e);
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RedisUnavailableException("Interrupted while waiting for Redis to answer " + what, e);
        }
    }

    /** A script sent and not yet answered. */
    final class ScriptCall<T> {

        private final Script script;
        private final String[] keys;
        private final String[] args;
        private final RedisFuture<T> future;

        private ScriptCall(Script script, String[] keys, String[] args, RedisFuture<T> future) {
            this.script = script;
            this.keys = keys;
            this.args = args;
            this.future = future;
        }

        T await() {
            try {
                return answer(future, script.fileName());
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof RedisNoScriptException)) {
                    throw translate(e.getCause(), script.fileName());
                }
                LOG.debug("Redis lost script {}; sending it in full", script.fileName());
                return RedisCalls.this.await(
                        start(() -> redis().<T>eval(script.body(), script.outputType(), keys, args), script.fileName()),
                        script.fileName());
            }
        }
    }

    /**
     * An answer Redis gave and that is final is a bug here ({@link IllegalStateException}); no
     * answer, or "not ready", is unavailability.
     */
    private static RuntimeException translate(Throwable cause, String what) {
        if (cause instanceof RedisCommandExecutionException refused && !notReady(refused)) {
            return new IllegalStateException("Redis refused " + what + ": " + refused.getMessage(), refused);
        }
        return new RedisUnavailableException("Redis is unavailable for " + what + ": " + cause.getMessage(), cause);
    }

    private static boolean notReady(RedisCommandExecutionException e) {
        String message = e.getMessage();
        return message != null && NOT_READY.stream().anyMatch(message::startsWith);
    }
}
