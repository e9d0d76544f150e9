package dev.keypool.server;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Where requests come in and go out: the count of requests in flight the drain waits for, the
 * draining flag that turns new ones away, and {@link LoadShedding}'s caps for those that may call
 * upstream. The {@link RequestFilter} passes every request through it; {@code /health} reads
 * whether it is draining; the {@link Gateway} closes it and waits for the count to reach zero.
 */
final class Door {

    private final LoadShedding shedding;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicBoolean draining = new AtomicBoolean();

    Door(LoadShedding shedding) {
        this.shedding = shedding;
    }

    /**
     * Counts a request in: refused while the gateway drains, and, when {@code capped} (it may call
     * upstream), beyond the caps of {@link LoadShedding}, which counts it with {@code bodyBytes}.
     */
    LoadShedding.Admission enter(boolean capped, long bodyBytes) {
        inFlight.incrementAndGet();
        LoadShedding.Admission admission = draining.get() ? LoadShedding.Admission.DRAINING
                : capped ? shedding.admit(bodyBytes) : LoadShedding.Admission.ADMITTED;
        if (admission != LoadShedding.Admission.ADMITTED) {
            inFlight.decrementAndGet();
        }
        return admission;
    }

    /** Counts out a request {@link #enter} admitted, with the same arguments. */
    void exit(boolean capped, long bodyBytes) {
        if (capped) {
            shedding.release(bodyBytes);
        }
        inFlight.decrementAndGet();
    }

    /** The answer to a request {@link #enter} did not admit. */
    ApiException refusal(LoadShedding.Admission admission) {
        return shedding.refusal(admission);
    }

    /** From now on every request is turned away (503, and its connection closed). */
    void close() {
        draining.set(true);
    }

    boolean draining() {
        return draining.get();
    }

    int inFlight() {
        return inFlight.get();
    }
}
