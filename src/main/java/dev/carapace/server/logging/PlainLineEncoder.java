package dev.carapace.server.logging;

import ch.qos.logback.classic.PatternLayout;
import ch.qos.logback.classic.pattern.TargetLengthBasedClassNameAbbreviator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.encoder.EncoderBase;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneId;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The plain log line, {@code HH:mm:ss.SSS LEVEL logger [request_id] message}, written by hand for the access log's
 * sake: one line per request, on the request's thread. Logback's pattern layout produced the same line through a
 * chain of converters, a date formatter and an abbreviator run afresh for each line, which came to a few
 * microseconds a request, about a tenth of what the gateway adds to its HTTP server. Here the time's
 * {@code HH:mm:ss.} part is made once a second and each logger's short name once.
 *
 * <p>The message and the request id are escaped as {@link EscapedMessageConverter} does, so a client's bytes cannot
 * forge a line. An event that carries an exception goes through {@link #PATTERN} with logback's own layout, which
 * prints the stack trace; those are rare.
 */
public final class PlainLineEncoder extends EncoderBase<ILoggingEvent> {

    /** The same line as a logback pattern: used for events with an exception, and documents the format. */
    static final String PATTERN = "%d{HH:mm:ss.SSS} %-5level %logger{20} [%X{request_id:-}] %escapedMsg%n";
    private static final String NEWLINE = System.lineSeparator();

    private final ZoneId zone;
    private final TargetLengthBasedClassNameAbbreviator abbreviator = new TargetLengthBasedClassNameAbbreviator(20);
    private final ConcurrentHashMap<String, String> shortNames = new ConcurrentHashMap<>();
    private final LayoutWrappingEncoder<ILoggingEvent> withException = new LayoutWrappingEncoder<>();
    /** The current second's {@code HH:mm:ss.}; replaced whole, so readers on other threads see one or the other. */
    private volatile Second second = new Second(Long.MIN_VALUE, "");

    private record Second(long epochSecond, String text) {}

    public PlainLineEncoder() {
        this(ZoneId.systemDefault());
    }

    PlainLineEncoder(ZoneId zone) {
        this.zone = zone;
    }

    @Override
    public void start() {
        PatternLayout layout = new PatternLayout();
        layout.setContext(getContext());
        layout.getInstanceConverterMap().put("escapedMsg", EscapedMessageConverter::new);
        layout.setPattern(PATTERN);
        layout.start();
        withException.setContext(getContext());
        withException.setCharset(StandardCharsets.UTF_8);
        withException.setLayout(layout);
        withException.start();
        super.start();
    }

    @Override
    public void stop() {
        withException.stop();
        super.stop();
    }

    @Override
    public byte[] encode(ILoggingEvent event) {
        if (event.getThrowableProxy() != null) return withException.encode(event);
        String message = event.getFormattedMessage();
        StringBuilder line = new StringBuilder(64 + (message == null ? 0 : message.length()));
        appendTime(line, event.getTimeStamp());
        line.append(' ');
        String level = event.getLevel().toString();
        line.append(level);
        for (int i = level.length(); i < 5; i++) line.append(' ');
        line.append(' ').append(shortNames.computeIfAbsent(event.getLoggerName(), abbreviator::abbreviate)).append(" [");
        String requestId = event.getMDCPropertyMap().get("request_id");
        if (requestId != null) EscapedMessageConverter.escapeTo(line, requestId);
        line.append("] ");
        EscapedMessageConverter.escapeTo(line, message);
        line.append(NEWLINE);
        return line.toString().getBytes(StandardCharsets.UTF_8);
    }

    private void appendTime(StringBuilder line, long epochMillis) {
        long epochSecond = Math.floorDiv(epochMillis, 1000);
        Second s = second;
        if (s.epochSecond != epochSecond) {
            LocalTime t = LocalTime.ofInstant(Instant.ofEpochSecond(epochSecond), zone);
            StringBuilder text = new StringBuilder(9);
            two(text, t.getHour()).append(':');
            two(text, t.getMinute()).append(':');
            two(text, t.getSecond()).append('.');
            second = s = new Second(epochSecond, text.toString());
        }
        int millis = (int) Math.floorMod(epochMillis, 1000);
        line.append(s.text);
        if (millis < 100) line.append('0');
        if (millis < 10) line.append('0');
        line.append(millis);
    }

    private static StringBuilder two(StringBuilder b, int n) {
        if (n < 10) b.append('0');
        return b.append(n);
    }

    @Override
    public byte[] headerBytes() { return null; }

    @Override
    public byte[] footerBytes() { return null; }
}
