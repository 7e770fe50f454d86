package dev.carapace.server;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.carapace.server.logging.Logging;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;

/** Every log event of the process while it is open (logging set up as {@code serve} does), for tests that read the log. */
final class CapturedLogs implements AutoCloseable {

    private final Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    private final ListAppender<ILoggingEvent> appender = new ListAppender<>();

    CapturedLogs() {
        Logging.configure(false);
        appender.setContext((LoggerContext) LoggerFactory.getILoggerFactory());
        appender.start();
        root.addAppender(appender);
    }

    /**
     * Forgets what was captured. Waits a moment first: a route logs its access line after its answer has left, and the
     * previous test's last line must not land in the next test's capture.
     */
    void clear() throws InterruptedException {
        Thread.sleep(150);
        synchronized (appender) {
            appender.list.clear();
        }
    }

    List<ILoggingEvent> events() {
        synchronized (appender) {
            return new ArrayList<>(appender.list);
        }
    }

    @Override
    public void close() {
        root.detachAppender(appender);
        appender.stop();
    }
}
