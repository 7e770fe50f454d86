package dev.carapace.skill.scan;

import java.lang.Character.UnicodeScript;
import java.util.ArrayList;
import java.util.List;

/**
 * Characters that make text read differently from what it is: bidirectional overrides and isolates (the "Trojan
 * Source" trick), zero-width characters, Unicode tag characters (invisible ASCII, readable by a model and not by a
 * person), runs of variation selectors (bytes smuggled after an emoji), terminal escapes, and words that mix Latin
 * with Cyrillic or Greek look-alike letters. The harmless uses are let through: a zero-width joiner inside an emoji
 * sequence, one variation selector after a symbol, the tags of a subdivision flag, a byte-order mark at the start.
 */
final class HiddenText {

    /** One thing found on a line, at {@code [start, end)}. */
    record Hit(int start, int end, Severity severity, String what) {}

    private HiddenText() {}

    static List<Hit> find(String line, boolean firstLine) {
        List<Hit> out = new ArrayList<>();
        int n = line.length();
        int i = 0;
        int prev = -1;
        while (i < n && out.size() < 10) {
            int cp = line.codePointAt(i);
            int len = Character.charCount(cp);
            if (bidi(cp)) {
                out.add(new Hit(i, i + len, Severity.HIGH, String.format("a bidirectional control (U+%04X) that makes the "
                        + "text display in a different order than it is read", cp)));
            } else if (cp >= 0xE0000 && cp <= 0xE007F) {
                int j = i;
                while (j < n && line.codePointAt(j) >= 0xE0000 && line.codePointAt(j) <= 0xE007F) j += 2;
                if (!(prev == 0x1F3F4 && j - i <= 16)) {
                    out.add(new Hit(i, j, Severity.HIGH, "Unicode tag characters: invisible text a model reads and a person does not"
                            + (j - i >= 4 ? " (hides \"" + Quote.of(untag(line.substring(i, j)), 80) + "\")" : "")));
                }
                i = j;
                prev = -1;
                continue;
            } else if (variationSelector(cp)) {
                int j = i, count = 0;
                while (j < n && variationSelector(line.codePointAt(j))) {
                    j += Character.charCount(line.codePointAt(j));
                    count++;
                }
                if (count > 1 || cp >= 0xE0100) {
                    out.add(new Hit(i, j, Severity.HIGH, count + " variation selectors in a row: a way to smuggle hidden bytes after a character"));
                }
                i = j;
                continue;
            } else if (zeroWidth(cp) && !(cp == 0xFEFF && i == 0 && firstLine) && !(cp == 0x200D && emojiJoin(line, prev, i + len))) {
                int j = i, count = 0;
                while (j < n && zeroWidth(line.codePointAt(j))) {
                    j += Character.charCount(line.codePointAt(j));
                    count++;
                }
                out.add(new Hit(i, j, count >= 3 ? Severity.HIGH : Severity.MEDIUM, count + " zero-width character"
                        + (count == 1 ? "" : "s") + String.format(" (U+%04X)", cp) + ": invisible, can hide text or split a word a filter looks for"));
                i = j;
                continue;
            } else if (cp == 0x1B || (cp < 0x20 && cp != '\t' && cp != '\r') || (cp >= 0x80 && cp < 0xA0)) {
                out.add(new Hit(i, i + len, Severity.MEDIUM, String.format("a control character (U+%04X): a terminal escape can hide or rewrite what is shown", cp)));
            }
            prev = cp;
            i += len;
        }
        mixedScripts(line, out);
        return out;
    }

    static boolean bidi(int cp) {
        return (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
    }

    private static boolean zeroWidth(int cp) {
        return cp == 0x200B || cp == 0x200C || cp == 0x200D || cp == 0x2060 || cp == 0xFEFF || cp == 0x180E
                || cp == 0x2061 || cp == 0x2062 || cp == 0x2063 || cp == 0x2064;
    }

    private static boolean variationSelector(int cp) {
        return (cp >= 0xFE00 && cp <= 0xFE0F) || (cp >= 0xE0100 && cp <= 0xE01EF);
    }

    /** A zero-width joiner between two pictographs (man, ZWJ, laptop: a technologist): part of an emoji. */
    private static boolean emojiJoin(String line, int prev, int next) {
        if (prev < 0 || next >= line.length()) return false;
        return pictograph(prev) && pictograph(line.codePointAt(next));
    }

    private static boolean pictograph(int cp) {
        return cp >= 0x1F000 || (cp >= 0x2600 && cp <= 0x27BF) || cp == 0xFE0F || (cp >= 0x1F3FB && cp <= 0x1F3FF);
    }

    private static String untag(String tags) {
        StringBuilder b = new StringBuilder();
        tags.codePoints().forEach(cp -> {
            int c = cp - 0xE0000;
            if (c >= 0x20 && c < 0x7f) b.append((char) c);
        });
        return b.toString();
    }

    /** Words mixing Latin letters with Cyrillic or Greek ones ("pаypal" with a Cyrillic а): a look-alike. */
    private static void mixedScripts(String line, List<Hit> out) {
        int n = line.length();
        int i = 0;
        while (i < n && out.size() < 10) {
            if (!Character.isLetter(line.codePointAt(i))) {
                i += Character.charCount(line.codePointAt(i));
                continue;
            }
            int j = i;
            boolean latin = false, other = false;
            while (j < n && Character.isLetter(line.codePointAt(j))) {
                int cp = line.codePointAt(j);
                UnicodeScript s = UnicodeScript.of(cp);
                latin |= s == UnicodeScript.LATIN;
                other |= s == UnicodeScript.CYRILLIC || s == UnicodeScript.GREEK || s == UnicodeScript.ARMENIAN;
                j += Character.charCount(cp);
            }
            if (latin && other) {
                boolean inHost = i > 0 && (line.charAt(i - 1) == '.' || line.charAt(i - 1) == '/')
                        || j < n && line.charAt(j) == '.';
                out.add(new Hit(i, j, inHost ? Severity.HIGH : Severity.MEDIUM, "a word mixing Latin with Cyrillic or Greek "
                        + "look-alike letters" + (inHost ? " in what looks like a host name: a homograph of a trusted name" : "")));
            }
            i = j;
        }
    }
}
