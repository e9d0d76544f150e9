package dev.keypool.server;

import dev.keypool.config.ConfigException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reloads the configuration on SIGHUP, the signal daemons take as "read your configuration again"
 * ({@code kill -HUP <pid>}, {@code systemctl reload}). It uses {@code sun.misc.Signal} of the JDK's
 * {@code jdk.unsupported} module, the one way a Java process handles a signal; where the platform
 * has no SIGHUP (Windows) or the JDK lacks the class, it says so once and the admin API's
 * {@code POST /api/admin/reload} remains. The outcome is logged and shown like the API's
 * ({@code last_reload}); a signal has nobody to answer.
 */
final class SighupReload {

    private static final Logger LOG = LoggerFactory.getLogger(SighupReload.class);

    private SighupReload() {
    }

    /** Handles SIGHUP from now on; returns whether the platform let it. */
    static boolean install(ConfigReload reload) {
        if (reload.unavailable() != null) {
            return false;
        }
        try {
            sun.misc.SignalHandler previous = sun.misc.Signal.handle(new sun.misc.Signal("HUP"),
                    signal -> reloadOn(reload));
            if (previous == sun.misc.SignalHandler.SIG_IGN) {
                // The JVM leaves a signal the process inherited ignored (nohup) ignored, whatever is asked.
                LOG.warn("SIGHUP is ignored by this process (was it started with nohup?), so it cannot reload the"
                        + " keys; use POST /api/admin/reload or the dashboard, or start it without ignoring SIGHUP");
                return false;
            }
            return true;
        } catch (IllegalArgumentException | LinkageError | UnsupportedOperationException e) {
            LOG.info("SIGHUP reload is unavailable on this platform ({}); use POST /api/admin/reload", e.toString());
            return false;
        }
    }

    /** On the JVM's signal thread: a reload is quick (a file read and a snapshot swap), and never throws out of it. */
    private static void reloadOn(ConfigReload reload) {
        try {
            reload.reload();
        } catch (ConfigException e) {
            // The KeysReloaded event has logged it, with start-up's message.
            LOG.debug("SIGHUP reload refused", e);
        } catch (RuntimeException e) {
            LOG.warn("SIGHUP reload failed; the keys stay as they were", e);
        }
    }
}
