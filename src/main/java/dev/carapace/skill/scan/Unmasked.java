package dev.carapace.skill.scan;

import java.text.Normalizer;

/**
 * A line as a shell or a model would read it once the disguises are off: compatibility forms folded (NFKC: fullwidth
 * {@code ｃｕｒｌ} is {@code curl}), invisible format characters dropped (a zero-width space inside {@code cu&#8203;rl}), and
 * quotes or backslashes inside a word removed ({@code c'u'rl}, {@code c""url} and {@code c&#92;url} all run
 * {@code curl}).
 * The rules run on this form too, so splitting a keyword does not hide it.
 */
final class Unmasked {

    private Unmasked() {}

    /** The unmasked form, or {@code line} itself when there is nothing to take off. */
    static String of(String line) {
        String s = line;
        boolean ascii = true;
        for (int i = 0; i < s.length() && ascii; i++) ascii = s.charAt(i) < 0x80;
        if (!ascii) {
            s = Normalizer.normalize(s, Normalizer.Form.NFKC);
            StringBuilder b = new StringBuilder(s.length());
            s.codePoints().filter(cp -> Character.getType(cp) != Character.FORMAT).forEach(b::appendCodePoint);
            s = b.toString();
        }
        if (s.indexOf('\'') < 0 && s.indexOf('"') < 0 && s.indexOf('\\') < 0) return s;
        StringBuilder out = new StringBuilder(s.length());
        int n = s.length();
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if ((c == '\'' || c == '"' || c == '\\') && i > 0 && Character.isLetterOrDigit(s.charAt(i - 1))) {
                int j = i;
                while (j < n && (s.charAt(j) == '\'' || s.charAt(j) == '"' || s.charAt(j) == '\\')) j++;
                if (j < n && Character.isLetterOrDigit(s.charAt(j))) {
                    i = j - 1;   // quotes or backslashes between two word characters: the shell joins the word
                    continue;
                }
            }
            out.append(c);
        }
        return out.toString();
    }
}
