package dev.keypool.usage;

class InMemoryUsageStoreConcurrencyTest extends UsageStoreConcurrencyContract {

    @Override
    protected UsageStore createStore() {
        return new InMemoryUsageStore();
    }
}
