/** Pooled keys under any Java HTTP client: the transport the framework adapters share. */
module keypool.adapter {
    requires transitive keypool.providers;
    requires com.fasterxml.jackson.databind;

    exports dev.keypool.adapter;
}
