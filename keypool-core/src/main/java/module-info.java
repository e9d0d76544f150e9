/**
 * keypool's core: the key pool, its limits and failure table, and the usage stores. Every package
 * is API: the configuration, the events, the failure kinds, the rotator and the store SPI.
 */
module keypool.core {
    requires org.slf4j;
    requires io.github.cdimascio.dotenv.java;
    requires java.net.http; // the seed classifier knows its timeouts

    exports dev.keypool.config;
    exports dev.keypool.event;
    exports dev.keypool.failure;
    exports dev.keypool.rotation;
    exports dev.keypool.usage;
}
