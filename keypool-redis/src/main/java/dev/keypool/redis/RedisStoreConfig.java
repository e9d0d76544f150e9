package dev.keypool.redis;

import dev.keypool.config.ConfigException;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Settings;
import dev.keypool.usage.UsageStore;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;

/**
 * The settings of a {@link RedisUsageStore}, immutable; built by {@link #custom()}, whose setters
 * refuse a bad value naming the field.
 *
 * <p>Every gateway instance sharing one Redis must use the same {@link #prefix()} and
 * {@link #bucketMillis()}: the prefix names the data, and the bucket width is how that data is
 * read.
 */
public final class RedisStoreConfig {

    /** The prefix of every Redis key the store writes, unless configured. */
    public static final String DEFAULT_PREFIX = "keypool";

    /** How long a store waits for Redis before it reports it unavailable. */
    public static final Duration DEFAULT_COMMAND_TIMEOUT = Duration.ofSeconds(2);

    /** The default bucket width of the sliding minute, the same as the in-memory store's. */
    public static final long DEFAULT_BUCKET_MILLIS = 1_000;

    private static final RedisStoreConfig DEFAULTS = custom().build();

    /**
     * The {@code KEYPOOL_*} variables this module reads (see {@link dev.keypool.config.KnownSettings}):
     * {@code KEYPOOL_REDIS_URL} ({@link #url(KeypoolConfig)}) and {@code KEYPOOL_INSTANCES}
     * ({@link ResilientRedisUsageStore#instances(KeypoolConfig)}).
     */
    public static final Set<String> SETTINGS = Set.of("KEYPOOL_REDIS_URL", "KEYPOOL_INSTANCES");

    /**
     * {@code KEYPOOL_REDIS_URL}: the Redis every instance shares, {@code redis://} or
     * {@code rediss://}; {@code null} when unset, and then no Redis is used.
     *
     * @throws ConfigException naming the variable when it is not a Redis URL
     */
    public static String url(KeypoolConfig config) {
        String url = Settings.text(config, "KEYPOOL_REDIS_URL");
        if (url != null && !(url.startsWith("redis://") || url.startsWith("rediss://"))) {
            throw new ConfigException("KEYPOOL_REDIS_URL", "must start with redis:// or rediss://");
        }
        return url;
    }

    private final String prefix;
    private final long bucketMillis;
    private final Duration commandTimeout;
    private final Clock clock;

    private RedisStoreConfig(Builder builder) {
        this.prefix = builder.prefix;
        this.bucketMillis = builder.bucketMillis;
        this.commandTimeout = builder.commandTimeout;
        this.clock = builder.clock;
    }

    public static RedisStoreConfig ofDefaults() {
        return DEFAULTS;
    }

    public static Builder custom() {
        return new Builder();
    }

    /** A builder starting from {@code prototype}'s values. */
    public static Builder from(RedisStoreConfig prototype) {
        Builder builder = new Builder();
        builder.prefix = prototype.prefix;
        builder.bucketMillis = prototype.bucketMillis;
        builder.commandTimeout = prototype.commandTimeout;
        builder.clock = prototype.clock;
        return builder;
    }

    /** The first part of every Redis key, before the key's hash tag: {@code keypool:{openai:0}:minute}. */
    public String prefix() {
        return prefix;
    }

    /** The width of a bucket of the sliding minute; divides 60 000. */
    public long bucketMillis() {
        return bucketMillis;
    }

    /** How long one call waits for Redis before it throws {@link RedisUnavailableException}. */
    public Duration commandTimeout() {
        return commandTimeout;
    }

    /**
     * The clock that turns a key state's {@code untilMillis} into a Redis expiry. The SPI's state
     * methods carry no time, so pass the clock the key manager uses.
     */
    public Clock clock() {
        return clock;
    }

    @Override
    public String toString() {
        return "RedisStoreConfig[prefix=" + prefix + ", bucketMillis=" + bucketMillis
                + ", commandTimeout=" + commandTimeout + "]";
    }

    public static final class Builder {

        private String prefix = DEFAULT_PREFIX;
        private long bucketMillis = DEFAULT_BUCKET_MILLIS;
        private Duration commandTimeout = DEFAULT_COMMAND_TIMEOUT;
        private Clock clock = Clock.systemUTC();

        private Builder() {
        }

        /**
         * @param prefix non-blank, without whitespace or braces: a brace would become the Redis
         *               Cluster hash tag and put every key's data in one slot
         */
        public Builder prefix(String prefix) {
            if (prefix == null || prefix.isBlank()) {
                throw new IllegalArgumentException("prefix must not be blank");
            }
            if (prefix.chars().anyMatch(c -> c == '{' || c == '}' || Character.isWhitespace(c))) {
                throw new IllegalArgumentException("prefix must not contain braces or whitespace, was '" + prefix + "'");
            }
            this.prefix = prefix;
            return this;
        }

        public Builder bucketMillis(long bucketMillis) {
            if (bucketMillis <= 0 || UsageStore.MINUTE_MILLIS % bucketMillis != 0) {
                throw new IllegalArgumentException("bucketMillis must divide 60000, was " + bucketMillis);
            }
            this.bucketMillis = bucketMillis;
            return this;
        }

        public Builder commandTimeout(Duration commandTimeout) {
            Objects.requireNonNull(commandTimeout, "commandTimeout");
            if (commandTimeout.isNegative() || commandTimeout.isZero()) {
                throw new IllegalArgumentException("commandTimeout must be positive, was " + commandTimeout);
            }
            this.commandTimeout = commandTimeout;
            return this;
        }

        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        public RedisStoreConfig build() {
            return new RedisStoreConfig(this);
        }
    }
}
