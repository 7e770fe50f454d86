package dev.carapace.channel.telegram;

import java.util.ArrayList;
import java.util.List;

/**
 * A long answer cut into messages Telegram takes (at most 4096 characters each, counted as UTF-16 units as Telegram
 * counts them): at a line break where there is one in the second half of a part, else at a space, else anywhere but
 * inside a surrogate pair. The break a cut is made at is dropped; nothing else is.
 */
final class TextParts {

    static final int MAX = 4096;

    private TextParts() {}

    static List<String> split(String text, int max) {
        List<String> parts = new ArrayList<>();
        int start = 0;
        while (text.length() - start > max) {
            int end = start + max;
            int cut = lastIn(text, '\n', start + max / 2, end);
            if (cut < 0) cut = lastSpace(text, start + max / 2, end);
            int next;
            if (cut >= 0) {
                next = cut + 1;
            } else {
                cut = Character.isHighSurrogate(text.charAt(end - 1)) ? end - 1 : end;
                next = cut;
            }
            add(parts, text.substring(start, cut));
            start = next;
        }
        add(parts, text.substring(start));
        return parts;
    }

    /** Telegram refuses a message of white space only. */
    private static void add(List<String> parts, String part) {
        if (!part.isBlank()) parts.add(part);
    }

    /** The last {@code c} at an index in [from, to], or -1; index {@code to} is the character just past the part. */
    private static int lastIn(String text, char c, int from, int to) {
        int i = text.lastIndexOf(c, to);
        return i >= from ? i : -1;
    }

    private static int lastSpace(String text, int from, int to) {
        for (int i = to; i >= from; i--) {
            if (Character.isWhitespace(text.charAt(i))) return i;
        }
        return -1;
    }
}
