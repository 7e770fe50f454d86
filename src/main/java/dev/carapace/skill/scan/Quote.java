package dev.carapace.skill.scan;

import dev.carapace.text.Invisible;

import static dev.carapace.text.Excerpt.clip;

/**
 * What a finding may quote of a skill's line: a window around the match, clipped, with anything that looks like a
 * secret or an opaque blob masked (a token of 24 or more key-like characters, letters, digits, {@code _-+}, mixing letters
 * and digits, keeps its first four), and invisible or control characters written out as {@code <U+XXXX>} so a reviewer sees them.
 */
final class Quote {

    static final int WIDTH = 160;
    private static final int MASK_MIN = 24;

    private Quote() {}

    /** The part of {@code line} around {@code [start, end)}, at most {@link #WIDTH} characters before escaping. */
    static String around(String line, int start, int end) {
        int from = Math.max(0, Math.min(start, line.length()) - 40);
        int to = Math.min(line.length(), Math.max(end, from + WIDTH));
        if (to - from > WIDTH) to = from + WIDTH;
        if (from > 0 && Character.isLowSurrogate(line.charAt(from))) from++;
        if (to < line.length() && to > from && Character.isHighSurrogate(line.charAt(to - 1))) to--;
        String cut = line.substring(from, to).strip();
        return (from > 0 ? "..." : "") + printable(mask(cut)) + (to < line.length() ? "..." : "");
    }

    /** {@code text} clipped to {@code max} characters, masked and made printable. */
    static String of(String text, int max) {
        return printable(mask(clip(text, max)));
    }

    /** Long key-like tokens masked to their first four characters. */
    static String mask(String s) {
        StringBuilder out = new StringBuilder(s.length());
        int i = 0, n = s.length();
        while (i < n) {
            int j = i;
            boolean letter = false, digit = false;
            while (j < n && keyChar(s.charAt(j))) {
                char c = s.charAt(j);
                letter |= Character.isLetter(c);
                digit |= c >= '0' && c <= '9';
                j++;
            }
            if (j == i) {
                out.append(s.charAt(i++));
                continue;
            }
            if (j - i >= MASK_MIN && letter && digit) out.append(s, i, i + 4).append("***");
            else out.append(s, i, j);
            i = j;
        }
        return out.toString();
    }

    private static boolean keyChar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'
                || c == '+';
    }

    /** Invisible characters ({@link Invisible#is}) as {@code <U+XXXX>}; everything else as it is. */
    static String printable(String s) {
        StringBuilder out = new StringBuilder(s.length());
        s.codePoints().forEach(cp -> {
            if (Invisible.is(cp)) out.append(String.format("<U+%04X>", cp));
            else out.appendCodePoint(cp);
        });
        return out.toString();
    }
}
