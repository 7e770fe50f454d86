package dev.carapace.server.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.PatternLayout;
import ch.qos.logback.classic.spi.LoggingEvent;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

import java.nio.charset.StandardCharsets;
import java.time.ZoneId;
import java.time.ZonedDateTime;

import static org.assertj.core.api.Assertions.assertThat;

class PlainLineEncoderTest {

    private final LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();

    @AfterEach
    void clearMdc() {
        MDC.clear();
    }

    private PlainLineEncoder encoder(ZoneId zone) {
        PlainLineEncoder e = new PlainLineEncoder(zone);
        e.setContext(context);
        e.start();
        return e;
    }

    private LoggingEvent event(String logger, Level level, String message, Throwable t, long epochMillis) {
        Logger l = context.getLogger(logger);
        LoggingEvent e = new LoggingEvent(Logger.class.getName(), l, level, message, t, null);
        e.setTimeStamp(epochMillis);
        return e;
    }

    private static String text(byte[] line) {
        return new String(line, StandardCharsets.UTF_8);
    }

    /** The hand-written line is the line logback's pattern layout made before it, character for character. */
    @Test
    void writesTheSameLineAsThePatternItReplaces() {
        PatternLayout layout = new PatternLayout();
        layout.setContext(context);
        layout.getInstanceConverterMap().put("escapedMsg", EscapedMessageConverter::new);
        layout.setPattern(PlainLineEncoder.PATTERN);
        layout.start();
        PlainLineEncoder encoder = encoder(ZoneId.systemDefault());
        long[] times = {0, 7, 1_000, 59_999, 1_733_390_400_123L, 1_733_390_400_999L, 1_733_390_401_005L, System.currentTimeMillis()};
        String[] loggers = {"carapace.access", "dev.carapace.server.Carapace", "org.eclipse.jetty.server.HttpChannel", "x"};
        Level[] levels = {Level.INFO, Level.WARN, Level.ERROR, Level.DEBUG, Level.TRACE};
        int i = 0;
        for (long t : times) {
            for (String logger : loggers) {
                MDC.put("request_id", i % 2 == 0 ? "req_" + i : null);
                if (i % 2 != 0) MDC.remove("request_id");
                LoggingEvent e = event(logger, levels[i % levels.length], "GET /v1/models/x\n200 " + i + "us café", null, t);
                assertThat(text(encoder.encode(e))).as("%s at %d", logger, t).isEqualTo(layout.doLayout(e));
                i++;
            }
        }
    }

    @Test
    void theTimeIsTheZonesWallClockToTheMillisecond() {
        ZoneId paris = ZoneId.of("Europe/Paris");
        PlainLineEncoder encoder = encoder(paris);
        long t = ZonedDateTime.of(2026, 3, 29, 1, 59, 59, 987_000_000, paris).toInstant().toEpochMilli();
        assertThat(text(encoder.encode(event("a", Level.INFO, "m", null, t)))).startsWith("01:59:59.987 INFO  a [] m");
        // one millisecond later the clocks go forward an hour: the cached second must not be reused
        assertThat(text(encoder.encode(event("a", Level.INFO, "m", null, t + 13)))).startsWith("03:00:00.000 ");
        assertThat(text(encoder.encode(event("a", Level.INFO, "m", null, t + 1_013)))).startsWith("03:00:01.000 ");
        assertThat(text(encoder.encode(event("a", Level.INFO, "m", null, t + 1_060)))).startsWith("03:00:01.047 ");
    }

    @Test
    void aRequestIdOrMessageCannotForgeALine() {
        PlainLineEncoder encoder = encoder(ZoneId.of("UTC"));
        MDC.put("request_id", "r1\n00:00:00.000 ERROR carapace.access FORGED");
        String line = text(encoder.encode(event("carapace.access", Level.INFO, "GET /x\r\nFORGED\u2028 200", null, 0)));
        assertThat(line).isEqualTo("00:00:00.000 INFO  carapace.access [r1\\n00:00:00.000 ERROR carapace.access FORGED]"
                + " GET /x\\r\\nFORGED\\u2028 200" + System.lineSeparator());
    }

    @Test
    void anExceptionsStackTraceIsWrittenAfterItsLine() {
        PlainLineEncoder encoder = encoder(ZoneId.of("UTC"));
        String out = text(encoder.encode(event("dev.carapace.x.Y", Level.ERROR, "failed\nbadly", new IllegalStateException("boom"), 0)));
        assertThat(out).startsWith("00:00:00.000 ERROR dev.carapace.x.Y [] failed\\nbadly" + System.lineSeparator())
                .contains("java.lang.IllegalStateException: boom")
                .contains("at dev.carapace.server.logging.PlainLineEncoderTest");
    }
}
