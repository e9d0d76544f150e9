package dev.keypool.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class RedisStoreConfigTest {

    @Test
    void ofDefaults_matchesTheInMemoryStoresBuckets() {
        RedisStoreConfig config = RedisStoreConfig.ofDefaults();

        assertThat(config.prefix()).isEqualTo("keypool");
        assertThat(config.bucketMillis()).isEqualTo(1_000);
        assertThat(config.commandTimeout()).isEqualTo(Duration.ofSeconds(2));
    }

    @Test
    void prefix_withABrace_isRefused_becauseItWouldBecomeTheHashTag() {
        assertThatThrownBy(() -> RedisStoreConfig.custom().prefix("key{pool}"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("prefix");
    }

    @Test
    void prefix_blankOrWithWhitespace_isRefused() {
        assertThatThrownBy(() -> RedisStoreConfig.custom().prefix(" ")).hasMessageContaining("prefix");
        assertThatThrownBy(() -> RedisStoreConfig.custom().prefix("key pool")).hasMessageContaining("prefix");
    }

    @Test
    void bucketMillis_thatDoesNotDivideAMinute_isRefused() {
        assertThatThrownBy(() -> RedisStoreConfig.custom().bucketMillis(7_000)).hasMessageContaining("bucketMillis");
        assertThatThrownBy(() -> RedisStoreConfig.custom().bucketMillis(0)).hasMessageContaining("bucketMillis");
    }

    @Test
    void commandTimeout_mustBePositive() {
        assertThatThrownBy(() -> RedisStoreConfig.custom().commandTimeout(Duration.ZERO))
                .hasMessageContaining("commandTimeout");
    }

    @Test
    void from_copiesEveryValue() {
        RedisStoreConfig original = RedisStoreConfig.custom().prefix("kp").bucketMillis(500)
                .commandTimeout(Duration.ofMillis(300)).build();

        RedisStoreConfig copy = RedisStoreConfig.from(original).build();

        assertThat(copy.prefix()).isEqualTo("kp");
        assertThat(copy.bucketMillis()).isEqualTo(500);
        assertThat(copy.commandTimeout()).isEqualTo(Duration.ofMillis(300));
        assertThat(copy.clock()).isSameAs(original.clock());
    }
}
