package dev.keypool.rotation;

import dev.keypool.config.Provider;
import dev.keypool.usage.KeyStatus;
import java.util.List;

/** The keys of one provider as the admin API shows them. */
public record ProviderStatus(Provider provider, List<KeyStatusSnapshot> keys) {

    public int totalKeys() {
        return keys.size();
    }

    public int activeKeys() {
        return (int) keys.stream().filter(key -> key.status() == KeyStatus.ACTIVE).count();
    }
}
