package dev.keypool.usage;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A store says where it keeps its counts, so that health and status reports need not tell stores apart by type. */
class StoreKindTest {

    @TempDir
    Path dir;

    @Test
    void inMemory_isMemory_andAlwaysConnected() {
        try (InMemoryUsageStore store = new InMemoryUsageStore()) {
            assertThat(store.kind()).isEqualTo("memory");
            assertThat(store.connected()).isTrue();
        }
    }

    @Test
    void durable_isTheDataDirectory() {
        try (DurableUsageStore store = DurableUsageStore.open(dir.resolve("data"))) {
            assertThat(store.kind()).isEqualTo("data-dir");
            assertThat(store.connected()).isTrue();
        }
    }
}
