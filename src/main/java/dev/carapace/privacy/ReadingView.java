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
 * combining marks are gone, digits of every script are ASCII digits and each other character is in its
 * compatibility form (NFKC, one code point at a time); every finding is mapped back onto the characters of the text
 * as written that make it up, invisible ones inside it included: a redaction then replaces all of them, and a
 * placeholder restores exactly what the client sent.
 *
 * <p>Most text reads as written: {@link #of} says so with null after one table lookup per char, and then costs
 * nothing more.
 */
final class ReadingView {

    /** The text as read. */
    final String text;
    private final String written;
    /**
     * The view in segments, by the char of {@link #text} each starts at ({@code viewStart}) and the char as written it
     * comes from ({@code writtenStart}). A run maps char to char: what reads as written, and what reads as one other
     * char ({@code ４} as {@code 4}). A code point that reads as several chars, or is a surrogate pair, is a segment
     * of its own, marked by a negative {@code writtenStart} ({@code -1 - start}): each of its chars maps to the whole
     * code point. Invisible chars make no segment: they lie between two, and a finding across them covers them. So a
     * text gets only as many segments as it has such places, and mapping a finding back is a binary search.
     */
    private final int[] viewStart, writtenStart;
    private final int segments;

    private ReadingView(String text, String written, Segments seg) {
        this.text = text;
        this.written = written;
        this.viewStart = seg.viewStart;
        this.writtenStart = seg.writtenStart;
        this.segments = seg.size;
    }

    /**
     * For each char of the Basic Multilingual Plane, how it reads when that differs from how it is written (see
     * {@link #readsAs}): "" for an invisible one or a combining mark, an ASCII digit for another script's, the NFKC
     * form of one NFKC changes; null for the rest. Surrogates
     * map to themselves: a pair is looked at as one code point. Made once, in about 0.1 s, when a {@link Scanner} is
     * made (about 13,000 entries, most of them unassigned code points, read as nothing).
     */
    private static final String[] READS_AS = new String[0x10000];

    static {
        for (int c = 0; c < READS_AS.length; c++) {
            READS_AS[c] = Character.isSurrogate((char) c) ? String.valueOf((char) c) : readsAs(c);
        }
    }

    /**
     * The same for the Supplementary Multilingual Plane (emoji, mathematical letters and digits...), learnt as its code
     * points are met: 0 not yet looked at, 1 reads as written, 2 does not. Without it every emoji of a chat message
     * cost a normalisation (about 100 ns) to find that it reads as written. Racing writers write the same value.
     */
    private static final byte[] PLANE_1 = new byte[0x10000];

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
            if (changes(cp)) return build(written, i);
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
                seg.run(read.length(), i);
                read.append(written, i, j);
                seg.ranTo(read.length(), j);
                i = j;
                continue;
            }
            String as = READS_AS[c];
            int next = i + 1;
            if (Character.isSurrogate(c)) {
                int cp = written.codePointAt(i);
                next = i + Character.charCount(cp);
                as = changes(cp) ? readsAs(cp) : written.substring(i, next);
            }
            if (as.length() == 1 && next == i + 1) {
                seg.run(read.length(), i);
                read.append(as.charAt(0));
                seg.ranTo(read.length(), next);
            } else if (!as.isEmpty()) {
                seg.codePoint(read.length(), i);
                read.append(as);
            }
            i = next;
        }
        return new ReadingView(read.toString(), written, seg);
    }

    /**
     * The findings in the view, over the chars of the text as written that make each up. Two findings next to each
     * other inside one code point that reads as several chars ({@code ¼} reads as {@code 1⁄4}) would both cover it:
     * the second starts where the first ends.
     */
    List<Finding> written(List<Finding> read) {
        List<Finding> out = new ArrayList<>(read.size());
        Finding last = null;
        for (Finding f : read) {
            if (f.length() == 0) continue;     // the detectors report values, never empty spans
            int start = writtenStart(f.start()), end = writtenEnd(f.end() - 1);
            Finding w = new Finding(f.type(), f.dataClass(), start, end, f.confidence());
            if (last != null && start < last.end() && !w.sameSpan(last)) {
                if (end <= last.end()) continue;
                w = new Finding(f.type(), f.dataClass(), last.end(), end, f.confidence());
            }
            out.add(w);
            last = w;
        }
        return out;
    }

    /** Where the char as written that view char {@code v} comes from starts. */
    private int writtenStart(int v) {
        int k = segmentOf(v);
        int w = writtenStart[k];
        return w >= 0 ? w + (v - viewStart[k]) : -1 - w;
    }

    /** Where the char as written that view char {@code v} comes from ends (exclusive). */
    private int writtenEnd(int v) {
        int k = segmentOf(v);
        int w = writtenStart[k];
        if (w >= 0) return w + (v - viewStart[k]) + 1;
        int cp = written.codePointAt(-1 - w);
        return -1 - w + Character.charCount(cp);
    }

    private int segmentOf(int v) {
        int k = Arrays.binarySearch(viewStart, 0, segments, v);
        return k >= 0 ? k : -k - 2;
    }

    /** The segments as they are made: a run goes on as long as view and text as written go on together. */
    private static final class Segments {
        int[] viewStart = new int[16], writtenStart = new int[16];
        int size;
        /** Where the last run ends, in the view and as written; -1 when the last segment is not a run. */
        int runView = -1, runWritten = -1;

        void run(int view, int from) {
            if (view != runView || from != runWritten) add(view, from);
        }

        void ranTo(int view, int to) {
            runView = view;
            runWritten = to;
        }

        void codePoint(int view, int from) {
            add(view, -1 - from);
            runView = runWritten = -1;
        }

        private void add(int view, int from) {
            if (size == viewStart.length) {
                viewStart = Arrays.copyOf(viewStart, size * 2);
                writtenStart = Arrays.copyOf(writtenStart, size * 2);
            }
            viewStart[size] = view;
            writtenStart[size] = from;
            size++;
        }
    }

    /** Whether a code point met at a surrogate (a pair, or a lone one) reads differently from how it is written. */
    private static boolean changes(int cp) {
        if (cp < 0x10000 || cp >= 0x20000) return readsAs(cp) != null;
        byte known = PLANE_1[cp - 0x10000];
        if (known == 0) {
            known = readsAs(cp) == null ? (byte) 1 : (byte) 2;
            PLANE_1[cp - 0x10000] = known;
        }
        return known == 2;
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
