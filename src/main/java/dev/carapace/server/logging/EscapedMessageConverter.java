package dev.carapace.server.logging;

import ch.qos.logback.classic.pattern.ClassicConverter;
import ch.qos.logback.classic.spi.ILoggingEvent;

/**
 * The log message with every control character escaped ({@code \n}, {@code \r}, {@code \t}, {@code \u0000}...), so
 * a value from a request (a path, a header, a model name) can never start a forged log line or hide one. Applied to
 * every message, not to each place a request value is logged: one missed place would be enough for a forgery.
 */
public final class EscapedMessageConverter extends ClassicConverter {

    @Override
    public String convert(ILoggingEvent event) {
        return escape(event.getFormattedMessage());
    }

    static String escape(String s) {
        if (s == null) return "";
        int i = cleanPrefix(s);
        if (i == s.length()) return s;   // the usual case: nothing to do, no copy
        StringBuilder b = new StringBuilder(s.length() + 16);
        escapeTo(b, s);
        return b.toString();
    }

    /** Appends {@code s} (nothing for null) with its control characters escaped. */
    static void escapeTo(StringBuilder b, String s) {
        if (s == null) return;
        int i = cleanPrefix(s);
        b.append(s, 0, i);
        for (; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (needsEscape(c)) b.append(String.format("\\u%04x", (int) c));
                    else b.append(c);
                }
            }
        }
    }

    private static int cleanPrefix(String s) {
        int i = 0;
        while (i < s.length() && !needsEscape(s.charAt(i))) i++;
        return i;
    }

    /**
     * C0 and C1 controls, DEL, the Unicode line and paragraph separators, and format characters (bidi overrides such as
     * U+202E, which reorder how the rest of a line is shown, zero-width characters). ASCII, nearly every character,
     * is decided by the first comparison.
     */
    private static boolean needsEscape(char c) {
        if (c < 0x7f) return c < 0x20;
        return c <= 0x9f || c == '\u2028' || c == '\u2029' || Character.getType(c) == Character.FORMAT;
    }
}
