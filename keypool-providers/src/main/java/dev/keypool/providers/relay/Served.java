package dev.keypool.providers.relay;

import dev.keypool.config.Provider;
import dev.keypool.providers.Attempt;
import java.util.List;

/**
 * Who answers a request, and what was tried before. Holds no secret: only the masked key.
 *
 * @param keyIndex  the key's index, {@code -1} for keyless Ollama
 * @param maskedKey the key masked ({@code sk-p…key1}), {@code null} for Ollama
 * @param model     the model the request was sent for (the answer may name a more precise version)
 * @param attempts  every key or provider that failed before this one, in order
 * @param notes     routes skipped and why, or what was adapted, for the caller's
 *                  {@code x-keypool-failover} header; empty when nothing was
 * @param dropped   request parameters left out in translation because the operator opted in to
 *                  dropping what the provider has no counterpart for ({@code x-keypool-dropped-params})
 */
public record Served(Provider provider, int keyIndex, String maskedKey, String model, List<Attempt> attempts,
        List<String> notes, List<String> dropped) {

    public Served {
        attempts = List.copyOf(attempts);
        notes = List.copyOf(notes);
        dropped = List.copyOf(dropped);
    }

    /** Who serves, with nothing dropped. */
    public Served(Provider provider, int keyIndex, String maskedKey, String model, List<Attempt> attempts,
            List<String> notes) {
        this(provider, keyIndex, maskedKey, model, attempts, notes, List.of());
    }

    /** The same, with {@code parameters} named as dropped. */
    public Served withDropped(List<String> parameters) {
        return new Served(provider, keyIndex, maskedKey, model, attempts, notes, parameters);
    }
}
