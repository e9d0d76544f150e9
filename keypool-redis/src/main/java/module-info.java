/** The usage store shared through Redis, for gateways that run as several instances. */
module keypool.redis {
    requires transitive keypool.core;
    requires lettuce.core;
    requires org.slf4j;

    exports dev.keypool.redis;
}
