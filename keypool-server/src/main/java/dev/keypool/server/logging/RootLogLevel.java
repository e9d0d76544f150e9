package dev.keypool.server.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import org.slf4j.LoggerFactory;

/**
 * {@code KEYPOOL_LOG_LEVEL} applied after start-up. {@code logback.xml} reads the variable from the
 * process environment when logging starts, before the {@code .env} file is read; the gateway sets
 * the root level again once its configuration (environment over file) is known.
 */
public final class RootLogLevel {

    private RootLogLevel() {
    }

    /** Sets the root logger's level; {@code null} leaves it as logback configured it. */
    public static void set(String level) {
        if (level != null && LoggerFactory.getILoggerFactory() instanceof LoggerContext context) {
            context.getLogger(Logger.ROOT_LOGGER_NAME).setLevel(Level.toLevel(level));
        }
    }
}
