package dev.carapace.memory;

import java.util.ArrayList;
import java.util.List;

/**
 * Cuts a markdown note into passages small enough to embed well (the sentence model reads about 250 words): along
 * its headings first (a heading always starts a new chunk, so a chunk stays within one section), then its paragraphs
 * (a fenced code block counts as one, blank lines and all), packed greedily up to {@code maxChars}; only a paragraph
 * longer than that is cut inside, at white space. Consecutive chunks of one section overlap by about
 * {@code overlapChars}, so a sentence cut at a boundary is whole in one of them.
 *
 * <p>Each chunk is a slice of the body ({@link Chunk#start}, {@link Chunk#end}), trimmed of white space.
 */
public final class Chunker {

    /** One passage: {@code text} is {@code body.substring(start, end)}. */
    public record Chunk(String text, int start, int end) {}

    /** About 200 tokens per chunk, and a sentence or two of overlap. */
    public static final int DEFAULT_MAX_CHARS = 800;
    public static final int DEFAULT_OVERLAP_CHARS = 120;

    private record Block(int start, int end, boolean heading) {}

    private final int maxChars;
    private final int overlapChars;

    public Chunker(int maxChars, int overlapChars) {
        if (maxChars < 50 || overlapChars < 0 || overlapChars >= maxChars / 2) {
            throw new IllegalArgumentException("chunks of at least 50 chars, overlapping by less than half");
        }
        this.maxChars = maxChars;
        this.overlapChars = overlapChars;
    }

    public Chunker() {
        this(DEFAULT_MAX_CHARS, DEFAULT_OVERLAP_CHARS);
    }

    public List<Chunk> chunks(String body) {
        List<int[]> spans = new ArrayList<>();
        int cs = -1, ce = -1;
        for (Block b : blocks(body)) {
            if (b.heading && cs >= 0) {                 // a new section: no overlap across it
                spans.add(new int[]{cs, ce});
                cs = -1;
            }
            if (b.end - b.start > maxChars) {
                if (cs >= 0) spans.add(new int[]{cs, ce});
                cs = -1;
                split(body, b.start, b.end, spans);
                continue;
            }
            if (cs < 0) {
                cs = b.start;
            } else if (b.end - cs > maxChars) {
                spans.add(new int[]{cs, ce});
                int from = overlapStart(body, cs, ce);
                cs = b.end - from <= maxChars ? from : b.start;
            }
            ce = b.end;
        }
        if (cs >= 0) spans.add(new int[]{cs, ce});
        List<Chunk> out = new ArrayList<>(spans.size());
        for (int[] s : spans) {
            int a = s[0], z = s[1];
            while (a < z && Character.isWhitespace(body.charAt(a))) a++;
            while (z > a && Character.isWhitespace(body.charAt(z - 1))) z--;
            if (a < z) out.add(new Chunk(body.substring(a, z), a, z));
        }
        return out;
    }

    /** A paragraph too long for one chunk, in windows of at most {@code maxChars} that overlap. */
    private void split(String body, int start, int end, List<int[]> spans) {
        int s = start;
        while (s < end) {
            int e = Math.min(end, s + maxChars);
            if (e < end) {
                int cut = lastSpace(body, s + maxChars / 2, e);
                if (cut > s) e = cut;
            }
            spans.add(new int[]{s, e});
            if (e >= end) return;
            int next = overlapStart(body, s, e);
            s = next > s ? next : e;
        }
    }

    /** Where the chunk after {@code [start, end)} begins: about {@code overlapChars} before its end, at a word. */
    private int overlapStart(String body, int start, int end) {
        if (overlapChars == 0) return end;
        int from = Math.max(start + 1, end - overlapChars);
        while (from < end && !Character.isWhitespace(body.charAt(from - 1))) from++;
        return from >= end ? end : from;
    }

    private static int lastSpace(String body, int from, int to) {
        for (int i = to; i > from; i--) if (Character.isWhitespace(body.charAt(i - 1))) return i;
        return -1;
    }

    /** Headings, paragraphs (runs of non-blank lines) and fenced code blocks, with their spans in the body. */
    private static List<Block> blocks(String body) {
        List<Block> out = new ArrayList<>();
        int n = body.length();
        int blockStart = -1;
        boolean fence = false;
        int i = 0;
        while (i < n) {
            int eol = body.indexOf('\n', i);
            int lineEnd = eol < 0 ? n : eol;
            int next = eol < 0 ? n : eol + 1;
            String line = body.substring(i, lineEnd).strip();
            if (line.startsWith("```") || line.startsWith("~~~")) {
                if (!fence && blockStart < 0) blockStart = i;
                fence = !fence;
            } else if (!fence && line.isEmpty()) {
                if (blockStart >= 0) out.add(new Block(blockStart, i, false));
                blockStart = -1;
            } else if (!fence && isHeading(line)) {
                if (blockStart >= 0) out.add(new Block(blockStart, i, false));
                out.add(new Block(i, lineEnd, true));
                blockStart = -1;
            } else if (blockStart < 0) {
                blockStart = i;
            }
            i = next;
        }
        if (blockStart >= 0) out.add(new Block(blockStart, n, false));
        return out;
    }

    private static boolean isHeading(String line) {
        int h = 0;
        while (h < line.length() && line.charAt(h) == '#') h++;
        return h >= 1 && h <= 6 && (h == line.length() || line.charAt(h) == ' ');
    }
}
