package dev.carapace.privacy;

import dev.carapace.text.Invisible;

import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A text as a model reads it, with the way back to the text as written. A model reads a card number or a key through
 * zero-width characters, soft hyphens, bidi marks and fullwidth or other compatibility forms ({@code ４１１１}); the
 * detectors read ASCII. So the scanner reads this view, in which invisible characters (but line breaks and tabs) and
 * combining marks are gone, digits of every script are ASCII digits, and each other character is in its compatibility
 * form (NFKC, one code point at a time), and every finding is mapped
 * back onto the characters of the text as written that make it up, invisible ones inside it included: a redaction
 * then replaces all of them, and a placeholder restores exactly what the client sent.
 *
 * <p>Most text reads as written: {@link #of} says so with null after one table lookup per char, and then costs
 * nothing more.
 */
final class ReadingView {

    /** The text as read. */
    final String text;
    /**
     * The view in segments, by where each starts in {@link #text}: a run copied as written (each char maps to one char
     * as written), or the chars one code point as written reads as (each maps to that whole code point). Invisible
     * chars make no segment: they lie between two, and a finding across them covers them. Few segments for most
     * texts, so mapping a finding back is a binary search, not an array as long as the text.
     */
    private final int[] viewStart, writtenStart, writtenEnd;
    private final int segments;

    private ReadingView(String text, int[] viewStart, int[] writtenStart, int[] writtenEnd, int segments) {
        this.text = text;
        this.viewStart = viewStart;
        this.writtenStart = writtenStart;
        this.writtenEnd = writtenEnd;
        this.segments = segments;
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
        Segments seg = new Segments();
        for (int i = 0; i < n; ) {
            char c = written.charAt(i);
            if (i < first || READS_AS[c] == null) {       // a run read as written: copied whole
                int j = i + 1;
                while (j < n && (j < first || READS_AS[written.charAt(j)] == null)) j++;
                seg.add(read.length(), i, RUN);
                read.append(written, i, j);
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
            if (!as.isEmpty()) {
                seg.add(read.length(), i, next);
                read.append(as);
            }
            i = next;
        }
        return new ReadingView(read.toString(), seg.viewStart, seg.writtenStart, seg.writtenEnd, seg.size);
    }

    /** {@code writtenEnd} of a run: its chars map one to one. */
    private static final int RUN = -1;

    /** The findings in the view, over the chars of the text as written that make each up. */
    List<Finding> written(List<Finding> read) {
        List<Finding> out = new ArrayList<>(read.size());
        for (Finding f : read) {
            if (f.length() == 0) continue;     // the detectors report values, never empty spans
            int first = segmentOf(f.start()), last = segmentOf(f.end() - 1);
            int start = writtenStart[first] + (writtenEnd[first] == RUN ? f.start() - viewStart[first] : 0);
            int end = writtenEnd[last] == RUN ? writtenStart[last] + (f.end() - viewStart[last]) : writtenEnd[last];
            out.add(new Finding(f.type(), f.dataClass(), start, end, f.confidence()));
        }
        return out;
    }

    /** The segment holding char {@code v} of the view. */
    private int segmentOf(int v) {
        int k = Arrays.binarySearch(viewStart, 0, segments, v);
        return k >= 0 ? k : -k - 2;
    }

    /** A growable table of segments. */
    private static final class Segments {
        int[] viewStart = new int[16], writtenStart = new int[16], writtenEnd = new int[16];
        int size;

        void add(int view, int from, int to) {
            if (size == viewStart.length) {
                viewStart = Arrays.copyOf(viewStart, size * 2);
                writtenStart = Arrays.copyOf(writtenStart, size * 2);
                writtenEnd = Arrays.copyOf(writtenEnd, size * 2);
            }
            viewStart[size] = view;
            writtenStart[size] = from;
            writtenEnd[size] = to;
            size++;
        }
    }

    /** How {@code cp} reads, when that differs from how it is written (see {@link #READS_AS}); else null. */
    private static String readsAs(int cp) {
        if (cp == '\n' || cp == '\r' || cp == '\t') return null;
        if (Invisible.is(cp)) return "";
        if (cp < 0x80) return null;
        // Digits of every script read as digits (٤٥٣٩ is 4539 to a model), and marks drawn on a char (a combining
        // accent, the keycap of 4️⃣) do not hide it: the detectors see the digit and not the mark.
        if (Character.getType(cp) == Character.DECIMAL_DIGIT_NUMBER) return String.valueOf((char) ('0' + Character.digit(cp, 10)));
        if (Character.getType(cp) == Character.NON_SPACING_MARK || Character.getType(cp) == Character.ENCLOSING_MARK) return "";
        String one = new String(Character.toChars(cp));
        String nfkc = Normalizer.normalize(one, Normalizer.Form.NFKC);
        return nfkc.equals(one) ? null : nfkc;
    }
}
