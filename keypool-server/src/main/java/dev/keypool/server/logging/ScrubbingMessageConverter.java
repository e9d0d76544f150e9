package dev.keypool.server.logging;

import ch.qos.logback.classic.pattern.MessageConverter;
import ch.qos.logback.classic.spi.ILoggingEvent;

/** {@code %scrubbedMsg}: the log message with every registered key masked. */
public final class ScrubbingMessageConverter extends MessageConverter {

    @Override
    public String convert(ILoggingEvent event) {
        return SecretScrubber.scrub(super.convert(event));
    }
}
