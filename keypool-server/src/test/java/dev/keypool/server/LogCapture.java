package dev.keypool.server;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.PatternLayout;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.OutputStreamAppender;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;
import dev.keypool.server.logging.ScrubbingMessageConverter;
import dev.keypool.server.logging.ScrubbingThrowableConverter;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.LoggerFactory;

/**
 * Captures everything logged, at DEBUG (or the level given), formatted by the production layout (the scrubbing
 * message and stack-trace converters), so a test sees what an operator's log file would hold.
 */
final class LogCapture implements AutoCloseable {

    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final OutputStreamAppender<ILoggingEvent> appender = new OutputStreamAppender<>();
    private final Logger root;
    private final Level previous;
    private final List<Appender<ILoggingEvent>> muted = new ArrayList<>();

    LogCapture() {
        this(Level.DEBUG, false);
    }

    /**
     * Captures at {@code level} and above, the other appenders (the console) muted meanwhile: at
     * TRACE the Redis and HTTP clients write thousands of lines that would flood the build's output.
     */
    static LogCapture muting(Level level) {
        return new LogCapture(level, true);
    }

    private LogCapture(Level level, boolean mute) {
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        // The production layout's converters, registered on this layout itself so that the capture
        // does not depend on how (or whether) logback.xml configured the context.
        PatternLayout layout = new PatternLayout();
        layout.setContext(context);
        layout.getInstanceConverterMap().put("scrubbedMsg", ScrubbingMessageConverter::new);
        layout.getInstanceConverterMap().put("scrubbedEx", ScrubbingThrowableConverter::new);
        layout.setPattern("%-5level %logger - %scrubbedMsg%n%scrubbedEx");
        layout.start();
        LayoutWrappingEncoder<ILoggingEvent> encoder = new LayoutWrappingEncoder<>();
        encoder.setContext(context);
        encoder.setLayout(layout);
        encoder.start();
        appender.setContext(context);
        appender.setEncoder(encoder);
        appender.setOutputStream(bytes);
        appender.start();
        root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        previous = root.getLevel();
        if (mute) {
            root.iteratorForAppenders().forEachRemaining(muted::add);
            muted.forEach(root::detachAppender);
        }
        root.setLevel(level);
        root.addAppender(appender);
    }

    String text() {
        synchronized (bytes) {
            return bytes.toString(StandardCharsets.UTF_8);
        }
    }

    @Override
    public void close() {
        root.detachAppender(appender);
        muted.forEach(root::addAppender);
        root.setLevel(previous);
        appender.stop();
    }
}
