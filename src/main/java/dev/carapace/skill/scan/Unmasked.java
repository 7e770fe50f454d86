package dev.carapace.skill.scan;

import java.text.Normalizer;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A line as a shell or a model would read it once the disguises are off: compatibility forms folded (NFKC: fullwidth
 * {@code ｃｕｒｌ} is {@code curl}), invisible format characters dropped (a zero-width space inside {@code cu&#8203;rl}), and
 * quotes or backslashes inside a word removed ({@code c'u'rl}, {@code c""url} and {@code c&#92;url} all run
 * {@code curl}).
 * The rules run on this form too, so splitting a keyword does not hide it.
 */
final class Unmasked {

    private Unmasked() {}

    /** HTML character references and \\u / \\x escapes: a model reads {@code &#105;gnore} and {@code \\u0069gnore} as "ignore". */
    private static final Pattern ESCAPE = Pattern.compile("&#(\\d{1,7});|&#[xX]([0-9a-fA-F]{1,6});|&(shy|nbsp|amp|lt|gt|quot|apos|zwj|zwnj|ZeroWidthSpace);"
            + "|\\\\u([0-9a-fA-F]{4})|\\\\x([0-9a-fA-F]{2})");
    /** Inline HTML tags inside a word ({@code ig<b></b>nore}): markdown renders, and a model reads, one word. */
    private static final Pattern TAG_IN_WORD = Pattern.compile("(?<=\\w)(?:</?[a-zA-Z][a-zA-Z0-9]{0,10}(?:\\s[^<>\\n]{0,80})?/?>){1,8}(?=\\w)");
    private static final Map<String, String> NAMED = Map.of("shy", "\u00AD", "nbsp", " ", "amp", "&", "lt", "<", "gt", ">",
            "quot", "\"", "apos", "'", "zwj", "\u200D", "zwnj", "\u200C", "ZeroWidthSpace", "\u200B");

    /** The unmasked form, or {@code line} itself when there is nothing to take off. */
    static String of(String line) {
        String s = unescaped(line);
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

    /** {@code line} with its character references and escapes decoded and the tags inside its words taken out. */
    private static String unescaped(String line) {
        String s = line;
        if (s.indexOf('&') >= 0 || s.indexOf('\\') >= 0) {
            Matcher m = ESCAPE.matcher(s);
            StringBuilder b = new StringBuilder(s.length());
            while (m.find()) {
                String replacement;
                if (m.group(3) != null) {
                    replacement = NAMED.get(m.group(3));
                } else {
                    String digits = m.group(1) != null ? m.group(1) : m.group(2) != null ? m.group(2) : m.group(4) != null ? m.group(4) : m.group(5);
                    int cp = Integer.parseInt(digits, m.group(1) != null ? 10 : 16);
                    replacement = Character.isValidCodePoint(cp) && cp != 0 ? new String(Character.toChars(cp)) : m.group();
                }
                m.appendReplacement(b, Matcher.quoteReplacement(replacement));
            }
            m.appendTail(b);
            s = b.toString();
        }
        return s.indexOf('<') < 0 ? s : TAG_IN_WORD.matcher(s).replaceAll("");
    }
}
