package dev.keypool.usage;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The in-memory and the data-directory affinity stores. */
class AffinityStoreTest {

    private static final long NOW = 1_760_000_000_000L;

    @TempDir
    Path dataDir;

    @Test
    void recall_answersTheRememberedKey_untilItsExpiry() {
        InMemoryAffinityStore store = new InMemoryAffinityStore();
        store.remember("resp_1", "openai#0", NOW + 1_000);

        assertThat(store.recall("resp_1", NOW + 999)).isEqualTo("openai#0");
        assertThat(store.recall("resp_1", NOW + 1_000)).isNull();
        assertThat(store.recall("resp_2", NOW)).isNull();
    }

    @Test
    void theBound_dropsTheLeastRecentlyUsedEntry() {
        InMemoryAffinityStore store = new InMemoryAffinityStore(2);
        store.remember("a", "k0", NOW + 10_000);
        store.remember("b", "k1", NOW + 10_000);
        store.recall("a", NOW);
        store.remember("c", "k2", NOW + 10_000);

        assertThat(store.recall("a", NOW)).isEqualTo("k0");
        assertThat(store.recall("b", NOW)).isNull();
        assertThat(store.recall("c", NOW)).isEqualTo("k2");
    }

    @Test
    void durableStore_survivesARestart_andForgetsWhatExpiredMeanwhile() throws Exception {
        try (DurableAffinityStore store = DurableAffinityStore.open(dataDir, NOW)) {
            store.remember("resp_kept", "openai#1", NOW + 60_000);
            store.remember("resp_short", "openai#0", NOW + 1_000);
        }

        try (DurableAffinityStore reopened = DurableAffinityStore.open(dataDir, NOW + 5_000)) {
            assertThat(reopened.recall("resp_kept", NOW + 5_000)).isEqualTo("openai#1");
            assertThat(reopened.recall("resp_short", NOW + 5_000)).isNull();
        }
        assertThat(Files.readString(dataDir.resolve("affinity.tsv"), StandardCharsets.UTF_8))
                .contains("resp_kept").doesNotContain("resp_short");
    }

    @Test
    void durableStore_skipsATornLastLine() throws Exception {
        Files.writeString(dataDir.resolve("affinity.tsv"), "resp_whole\topenai#0\t" + (NOW + 60_000) + "\nresp_torn\topen");

        try (DurableAffinityStore store = DurableAffinityStore.open(dataDir, NOW)) {
            assertThat(store.recall("resp_whole", NOW)).isEqualTo("openai#0");
            assertThat(store.recall("resp_torn", NOW)).isNull();
        }
    }
}
