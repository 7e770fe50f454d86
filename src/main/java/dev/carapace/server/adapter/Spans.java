package dev.carapace.server.adapter;

import dev.carapace.privacy.Finding;

import java.util.List;
import java.util.Locale;

/** What the privacy screens of memory and channels do to a text's findings: replace them for good, and say where. */
final class Spans {

    private Spans() {}

    /** Replaces each span, from the last back; a span overlapping one already replaced (a pair) is skipped. */
    static String redact(String text, List<Finding> spans) {
        if (spans.isEmpty()) return text;
        StringBuilder sb = new StringBuilder(text);
        int floor = Integer.MAX_VALUE;
        for (int i = spans.size() - 1; i >= 0; i--) {
            Finding f = spans.get(i);
            if (f.end() > floor) continue;
            sb.replace(f.start(), f.end(), "[REDACTED:" + f.type().toUpperCase(Locale.ROOT) + "]");
            floor = f.start();
        }
        return sb.toString();
    }

    /** The 1-based line of {@code offset}. */
    static int line(String text, int offset) {
        int line = 1;
        for (int i = 0; i < offset && i < text.length(); i++) if (text.charAt(i) == '\n') line++;
        return line;
    }
}
