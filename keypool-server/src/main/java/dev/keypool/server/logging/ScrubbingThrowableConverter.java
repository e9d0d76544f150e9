package dev.keypool.server.logging;

import ch.qos.logback.classic.pattern.ExtendedThrowableProxyConverter;
import ch.qos.logback.classic.spi.IThrowableProxy;

/** {@code %scrubbedEx}: the stack trace with every registered key masked in its messages. */
public final class ScrubbingThrowableConverter extends ExtendedThrowableProxyConverter {

    @Override
    protected String throwableProxyToString(IThrowableProxy proxy) {
        return SecretScrubber.scrub(super.throwableProxyToString(proxy));
    }
}
