package dev.carapace.privacy;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The placeholders of one request: each value redacted gets {@code <TYPE_N>}, the same value the same placeholder
 * wherever it occurs in the request, numbered in order of first appearance (so a conversation re-sent with one more
 * turn keeps its numbers). Restores the values into the answer. Values are kept in memory only, for the request's
 * life.
 *
 * <p>A value may sit in plain text or in JSON text (tool-call arguments); it is kept in both forms so it is put back
 * correctly escaped wherever the model writes its placeholder.
 */
public final class Redaction {

    private record Placeholder(String token, String text, String json) {}

    private final Map<String, Placeholder> byValue = new HashMap<>();
    private final Map<String, Placeholder> byToken = new HashMap<>();
    private final Map<String, Integer> counters = new HashMap<>();
    /** Placeholder-shaped words the client itself wrote: never handed out, so they are never "restored". */
    private final Set<String> taken = new HashSet<>();
    private int longest;

    /** Notes the placeholder-shaped words of a text that is about to be redacted, so they are not reused. */
    public void reserve(String text) {
        int i = text.indexOf('<');
        while (i >= 0) {
            int end = tokenEnd(text, i);
            if (end > 0) taken.add(text.substring(i, end));
            i = text.indexOf('<', i + 1);
        }
    }

    /**
     * {@code text} with the findings that {@code redact} selects replaced by placeholders.
     *
     * @param json whether the text is JSON (tool-call arguments), where values are written escaped
     */
    public String redact(String text, List<Finding> findings, java.util.function.Predicate<Finding> redact, boolean json) {
        StringBuilder out = null;
        int copied = 0;
        for (int i = 0; i < findings.size(); i++) {
            Finding f = findings.get(i);
            // Findings over the same span (a value that is a card and a credential) are one value: replaced once,
            // named by the first, if any of them is to be redacted.
            int group = i;
            boolean selected = false;
            while (group < findings.size() && findings.get(group).sameSpan(f)) selected |= redact.test(findings.get(group++));
            i = group - 1;
            if (!selected) continue;
            if (out == null) out = new StringBuilder(text.length());
            out.append(text, copied, f.start());
            String raw = text.substring(f.start(), f.end());
            out.append(placeholder(f.type(), json ? Json.unescape(raw) : raw, json ? raw : null));
            copied = f.end();
        }
        if (out == null) return text;
        return out.append(text, copied, text.length()).toString();
    }

    /** A placeholder for a value that is not text (an image): it is removed, never restored. */
    public String placeholderOnly(String type) {
        return next(type);
    }

    private String placeholder(String type, String value, String jsonForm) {
        Placeholder p = byValue.get(value);
        if (p == null) {
            p = new Placeholder(next(type), value, jsonForm != null ? jsonForm : Json.escape(value));
            byValue.put(value, p);
            byToken.put(p.token, p);
            longest = Math.max(longest, p.token.length());
        }
        return p.token;
    }

    private String next(String type) {
        String name = type.toUpperCase(Locale.ROOT).replaceAll("[^A-Z0-9]", "_");
        String token;
        do {
            int n = counters.merge(name, 1, Integer::sum);
            token = "<" + name + "_" + n + ">";
        } while (taken.contains(token));
        return token;
    }

    /** Whether any value was replaced (and so answers need restoring). */
    public boolean isEmpty() { return byToken.isEmpty(); }

    /** The length of the longest placeholder handed out. */
    int longest() { return longest; }

    /** {@code text} with every placeholder of this request replaced by its value, JSON-escaped if {@code json}. */
    public String restore(String text, boolean json) {
        if (byToken.isEmpty() || text == null) return text;
        int i = text.indexOf('<');
        if (i < 0) return text;
        StringBuilder out = new StringBuilder(text.length() + 32);
        int copied = 0;
        while (i >= 0) {
            int end = tokenEnd(text, i);
            Placeholder p = end > 0 ? byToken.get(text.substring(i, end)) : null;
            if (p != null) {
                out.append(text, copied, i).append(json ? p.json : p.text);
                copied = end;
                i = text.indexOf('<', end);
            } else {
                i = text.indexOf('<', i + 1);
            }
        }
        return copied == 0 ? text : out.append(text, copied, text.length()).toString();
    }

    /**
     * Where a text may be cut so that no placeholder is split: before a trailing {@code <...} that could still
     * become one of this request's placeholders, else its end.
     */
    int safeEnd(CharSequence text) {
        int n = text.length();
        for (int i = n - 1; i >= 0 && n - i < longest; i--) {
            char c = text.charAt(i);
            if (c == '<') return i;
            if (!(Text.upper(c) || Text.digit(c) || c == '_')) return n;
        }
        return n;
    }

    /** The end of a {@code <NAME_N>} word starting at {@code i}, or -1. */
    private static int tokenEnd(String s, int i) {
        int p = i + 1, n = s.length();
        int lastUnderscore = -1;
        while (p < n && p - i < 64) {
            char c = s.charAt(p);
            if (c == '>') break;
            if (c == '_') lastUnderscore = p;
            else if (!(Text.upper(c) || Text.digit(c))) return -1;
            p++;
        }
        if (p >= n || s.charAt(p) != '>' || lastUnderscore < 0 || lastUnderscore == p - 1 || lastUnderscore == i + 1) return -1;
        for (int d = lastUnderscore + 1; d < p; d++) if (!Text.digit(s.charAt(d))) return -1;
        return p + 1;
    }
}
