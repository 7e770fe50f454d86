package dev.carapace.memory;

import java.text.Normalizer;

import static dev.carapace.text.Excerpt.clip;

/**
 * A note's path: the name it is written and found under, inside its scope. Only a name, never a file: it is checked
 * anyway as if it were one, so a path that would climb out of a folder ({@code ..}), start at a root, or hide
 * characters is refused rather than stored under a name that another reader could misread.
 */
public final class NotePaths {

    public static final int MAX_LENGTH = 200;
    private static final int MAX_SEGMENTS = 8;

    private NotePaths() {}

    /**
     * The path, stripped of surrounding white space, or a {@link MemoryException} saying what is wrong with it.
     * Segments are separated by {@code /}; each holds letters, digits, {@code . _ -} and spaces, and is not
     * {@code .} or {@code ..}.
     */
    public static String check(String path) {
        if (path == null || path.isBlank()) throw invalid(path, "a path is required, e.g. projects/deploy.md");
        String p = path.strip();
        if (p.length() > MAX_LENGTH) throw invalid(p, "at most " + MAX_LENGTH + " characters");
        if (p.startsWith("/") || p.startsWith("~")) throw invalid(p, "a path is relative to your memory: no leading / or ~");
        if (p.indexOf('\\') >= 0) throw invalid(p, "use / between folders, not \\");
        String[] segments = p.split("/", -1);
        if (segments.length > MAX_SEGMENTS) throw invalid(p, "at most " + MAX_SEGMENTS + " levels");
        for (String s : segments) {
            if (s.isEmpty()) throw invalid(p, "an empty folder name (// or a trailing /)");
            if (s.equals(".") || s.equals("..")) throw invalid(p, "'.' and '..' are not allowed in a path");
            if (!s.strip().equals(s)) throw invalid(p, "a folder or name may not start or end with a space");
            for (int i = 0; i < s.length(); ) {
                int cp = s.codePointAt(i);
                if (!(Character.isLetterOrDigit(cp) || cp == '.' || cp == '_' || cp == '-' || cp == ' ')) {
                    throw invalid(p, "character U+" + String.format("%04X", cp) + " is not allowed (letters, digits, "
                            + "'.', '_', '-', spaces and '/')");
                }
                i += Character.charCount(cp);
            }
            // Lookalikes of another name: full-width or compatibility forms (ｑ１ for q1), and one name mixing scripts
            // (plаns with a Cyrillic а beside plans).
            if (!Normalizer.normalize(s, Normalizer.Form.NFKC).equals(s)) {
                throw invalid(p, "'" + clip(s, 40) + "' has full-width or compatibility characters; write '"
                        + clip(Normalizer.normalize(s, Normalizer.Form.NFKC), 40) + "'");
            }
            for (String word : s.split("[^\\p{L}\\p{M}]+")) {
                if (word.codePoints().mapToObj(NotePaths::scriptGroup).filter(g -> g != null).distinct().count() > 1) {
                    throw invalid(p, "'" + clip(word, 40) + "' mixes letters of several scripts, which reads as another name");
                }
            }
        }
        return p;
    }

    /** A letter's script, the scripts Chinese, Japanese and Korean mix within a word counted as one; null for none. */
    private static String scriptGroup(int cp) {
        Character.UnicodeScript sc = Character.UnicodeScript.of(cp);
        return switch (sc) {
            case COMMON, INHERITED -> null;
            case HAN, HIRAGANA, KATAKANA, HANGUL, BOPOMOFO -> "CJK";
            default -> sc.name();
        };
    }

    private static MemoryException invalid(String path, String why) {
        return new MemoryException(MemoryException.Reason.INVALID, "path '" + clip(path == null ? "" : path, 60)
                + "': " + why);
    }
}
