package dev.keypool.server;

/**
 * What {@code java -jar keypool-server.jar} runs, then an {@link OutOfMemoryError} on a virtual
 * thread of its own, as a request's thread would meet one: the process must end, not stay up.
 */
public final class OutOfMemoryProbe {

    /** The code the probe ends with when the error did not end the process. */
    static final int STILL_ALIVE = 99;

    private OutOfMemoryProbe() {
    }

    public static void main(String[] args) throws InterruptedException {
        Main.main(new String[] {"--port", "0"});
        Thread.ofVirtual().name("probe").start(() -> {
            throw new OutOfMemoryError("probe: Java heap space");
        }).join();
        Thread.sleep(10_000);
        System.exit(STILL_ALIVE);
    }
}
