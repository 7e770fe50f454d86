package dev.carapace.server.logging;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.core.joran.spi.JoranException;
import org.slf4j.LoggerFactory;

/** Switches the log format: plain lines for people (default) or one JSON object per line for log shippers. */
public final class Logging {

    private Logging() {}

    public static void configure(boolean json) {
        // Libraries that log through java.util.logging go to the same place, at the levels logback.xml sets.
        org.slf4j.bridge.SLF4JBridgeHandler.removeHandlersForRootLogger();
        org.slf4j.bridge.SLF4JBridgeHandler.install();
        if (!json) return;
        LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
        ctx.reset();
        JoranConfigurator jc = new JoranConfigurator();
        jc.setContext(ctx);
        try {
            jc.doConfigure(Logging.class.getResource("/logback-json.xml"));
        } catch (JoranException e) {
            throw new IllegalStateException("bundled logback-json.xml is broken", e);
        }
    }
}
