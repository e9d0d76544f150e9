package dev.keypool.micrometer;

import io.micrometer.core.instrument.Meter;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * Meters found again by an identity of the caller's making, registered on first use. Building and
 * registering a meter per event (a builder, a tag list, a registry lookup) cost more than the rest
 * of a request's accounting.
 */
public final class MeterMemo {

    private final Map<List<Object>, Meter> meters = new ConcurrentHashMap<>();

    /** The meter known as {@code id}, made by {@code register} the first time. */
    public <M extends Meter> M get(Class<M> type, List<Object> id, Supplier<M> register) {
        Meter meter = meters.get(id);
        if (meter == null) {
            meter = meters.computeIfAbsent(id, ignored -> register.get());
        }
        return type.cast(meter);
    }
}
