package dev.keypool.providers.fake;

import java.util.concurrent.CountDownLatch;

/**
 * Holds a scripted stream before its ending until the test opens it. A dropped connection makes
 * the JDK client discard what it received but had not yet read, so a test that needs "the caller
 * saw this text, then the connection broke" opens the gate from its listener once the text is in.
 */
public final class Gate {

    final CountDownLatch open = new CountDownLatch(1);

    public void open() {
        open.countDown();
    }
}
