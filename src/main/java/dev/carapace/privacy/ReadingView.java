package dev.carapace.privacy;

import dev.carapace.text.Invisible;

import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A text as a model reads it, with the way back to the text as written. A model reads a card number or a key through
 * zero-width characters, soft hyphens, bidi marks and fullwidth or other compatibility forms ({@code ４１１１}); the
 * detectors read ASCII. So the scanner reads this view, in which invisible characters (but line breaks and tabs) are
 * gone and each character is in its compatibility form (NFKC, one code point at a time), and every finding is mapped
 * back onto the characters of the text as written that make it up, invisible ones inside it included: a redaction
 * then replaces all of them, and a placeholder restores exactly what the client sent.
 *
 * <p>Most text reads as written: {@link #of} says so with null after one table lookup per char, and then costs
 * nothing more.
 */
final class ReadingView {

    /** The text as read. */
    final String text;
    /** For each char of {@link #text}: where the code point it comes from starts, and ends, in the text as written. */
    private final int[] from, to;

    private ReadingView(String text, int[] from, int[] to) {
        this.text = text;
        this.from = from;
        this.to = to;
    }

    /**
     * For each char of the Basic Multilingual Plane, how it reads when that differs from how it is written: "" for an
     * invisible one (line breaks and tabs are not), its NFKC form for one NFKC changes; null for the rest. Surrogates
     * map to themselves: a pair is looked at as one code point. Made once, in about 0.1 s, when a {@link Scanner} is
     * made (about 13,000 entries, most of them unassigned code points, read as nothing).
     */
    private static final String[] READS_AS = new String[0x10000];

    static {
        for (int c = 0; c < READS_AS.length; c++) {
            READS_AS[c] = Character.isSurrogate((char) c) ? String.valueOf((char) c) : readsAs(c);
        }
    }

    /** Makes the table now (class initialisation) rather than in the first call that scans. */
    static void load() {}

    /** The view of {@code written}, or null when it reads as written. */
    static ReadingView of(String written) {
        for (int i = 0, n = written.length(); i < n; ) {
            char c = written.charAt(i);
            if (READS_AS[c] == null) {
                i++;
                continue;
            }
            int cp = written.codePointAt(i);
            if (readsAs(cp) != null) return build(written, i);
            i += Character.charCount(cp);
        }
        return null;
    }

    private static ReadingView build(String written, int first) {
        int n = written.length();
        StringBuilder read = new StringBuilder(n);
        int[] from = new int[n + 16], to = new int[from.length];
        for (int i = 0; i < n; ) {
            char c = written.charAt(i);
            int at = read.length();
            if (i < first || READS_AS[c] == null) {       // a run read as written: copied whole
                int j = i + 1;
                while (j < n && (j < first || READS_AS[written.charAt(j)] == null)) j++;
                read.append(written, i, j);
                from = fit(from, read.length());
                to = fit(to, read.length());
                for (int k = 0; k < j - i; k++) {
                    from[at + k] = i + k;
                    to[at + k] = i + k + 1;
                }
                i = j;
                continue;
            }
            int next = i + 1;
            String as = READS_AS[c];
            if (Character.isSurrogate(c)) {
                int cp = written.codePointAt(i);
                next = i + Character.charCount(cp);
                as = readsAs(cp);
                if (as == null) as = written.substring(i, next);
            }
            read.append(as);                              // NFKC may make one code point several chars
            from = fit(from, read.length());
            to = fit(to, read.length());
            Arrays.fill(from, at, read.length(), i);
            Arrays.fill(to, at, read.length(), next);
            i = next;
        }
        return new ReadingView(read.toString(), from, to);
    }

    private static int[] fit(int[] a, int length) {
        return length <= a.length ? a : Arrays.copyOf(a, length * 2);
    }

    /** The findings in the view, over the chars of the text as written that make each up. */
    List<Finding> written(List<Finding> read) {
        List<Finding> out = new ArrayList<>(read.size());
        for (Finding f : read) {
            if (f.length() == 0) continue;     // the detectors report values, never empty spans
            out.add(new Finding(f.type(), f.dataClass(), from[f.start()], to[f.end() - 1], f.confidence()));
        }
        return out;
    }

    /** How {@code cp} reads, when that differs from how it is written (see {@link #READS_AS}); else null. */
    private static String readsAs(int cp) {
        if (cp == '\n' || cp == '\r' || cp == '\t') return null;
        if (Invisible.is(cp)) return "";
        if (cp < 0x80) return null;
        String one = new String(Character.toChars(cp));
        String nfkc = Normalizer.normalize(one, Normalizer.Form.NFKC);
        return nfkc.equals(one) ? null : nfkc;
    }
}
