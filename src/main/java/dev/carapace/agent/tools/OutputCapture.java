package dev.carapace.agent.tools;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * A command's output kept within a byte cap: the first half and the last half, with a marker between them saying
 * how many bytes were cut. The end is kept because that is where a build or a test run says what went wrong.
 * Memory stays at the cap however much the command writes. Written by one draining thread, read by another.
 */
final class OutputCapture {

    /** Room kept for the marker, so that the text with it stays within the cap. */
    private static final int MARKER_ROOM = 64;

    private final byte[] head;
    private final byte[] tail;
    private int headLength;
    /** Bytes ever written to the tail ring; {@code tail[tailWritten % tail.length]} is the next slot. */
    private long tailWritten;
    private long total;
    private boolean sealed;

    /** @param maxBytes the most bytes {@link #text()} returns (UTF-8), marker included */
    OutputCapture(int maxBytes) {
        int room = Math.max(2, maxBytes - MARKER_ROOM);
        head = new byte[room / 2];
        tail = new byte[room - room / 2];
    }

    synchronized void write(byte[] bytes, int offset, int length) {
        if (sealed) return;
        total += length;
        int toHead = Math.min(length, head.length - headLength);
        System.arraycopy(bytes, offset, head, headLength, toHead);
        headLength += toHead;
        offset += toHead;
        length -= toHead;
        if (length <= 0) return;
        if (length >= tail.length) {
            // Only the last tail.length bytes of this chunk can survive.
            offset += length - tail.length;
            tailWritten += length - tail.length;
            length = tail.length;
        }
        while (length > 0) {
            int slot = (int) (tailWritten % tail.length);
            int n = Math.min(length, tail.length - slot);
            System.arraycopy(bytes, offset, tail, slot, n);
            tailWritten += n;
            offset += n;
            length -= n;
        }
    }

    /** Ignores later writes: the result has been taken while something may still be writing. */
    synchronized void seal() {
        sealed = true;
    }

    synchronized long total() {
        return total;
    }

    /** The kept output as text (invalid UTF-8 as '?', control characters other than tab and newlines as '?'). */
    synchronized String text() {
        int kept = (int) Math.min(tailWritten, tail.length);
        byte[] tailBytes = new byte[kept];
        int start = (int) ((tailWritten - kept) % tail.length);
        for (int i = 0; i < kept; i++) tailBytes[i] = tail[(start + i) % tail.length];
        if (tailWritten <= tail.length) {
            // Nothing was dropped: head and tail are contiguous.
            byte[] all = new byte[headLength + kept];
            System.arraycopy(head, 0, all, 0, headLength);
            System.arraycopy(tailBytes, 0, all, headLength, kept);
            return clean(decode(all, 0, all.length));
        }
        int headEnd = cutHead(head, headLength);
        int tailStart = cutTail(tailBytes);
        long cut = total - headEnd - (kept - tailStart);
        String first = decode(head, 0, headEnd);
        String last = decode(tailBytes, tailStart, kept - tailStart);
        return clean(first) + (first.endsWith("\n") || first.isEmpty() ? "" : "\n")
                + "[... " + cut + " bytes of output cut ...]\n" + clean(last);
    }

    /** Ends the head at a line end in its last quarter, or at least not inside a UTF-8 sequence. */
    private static int cutHead(byte[] b, int length) {
        for (int i = length - 1; i >= length - length / 4 && i >= 0; i--) if (b[i] == '\n') return i + 1;
        int lead = length - 1;
        while (lead >= 0 && lead > length - 4 && (b[lead] & 0xC0) == 0x80) lead--;
        if (lead >= 0 && (b[lead] & 0x80) != 0 && lead + sequenceLength(b[lead]) > length) return lead;
        return length;
    }

    /** Starts the tail after a line end in its first quarter, or at least at the start of a UTF-8 sequence. */
    private static int cutTail(byte[] b) {
        for (int i = 0; i < b.length / 4; i++) if (b[i] == '\n') return i + 1;
        int k = 0;
        while (k < b.length && k < 4 && (b[k] & 0xC0) == 0x80) k++;
        return k;
    }

    private static int sequenceLength(byte lead) {
        if ((lead & 0xE0) == 0xC0) return 2;
        if ((lead & 0xF0) == 0xE0) return 3;
        if ((lead & 0xF8) == 0xF0) return 4;
        return 1;
    }

    /**
     * Invalid UTF-8 (binary output) becomes '?', one byte for at least one: the replacement character would take
     * three and could push the text over the cap.
     */
    static String decode(byte[] bytes, int offset, int length) {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPLACE)
                    .onUnmappableCharacter(CodingErrorAction.REPLACE)
                    .replaceWith("?")
                    .decode(ByteBuffer.wrap(bytes, offset, length))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new IllegalStateException(e); // cannot happen with REPLACE
        }
    }

    /** Control characters (a NUL, a terminal escape) would only confuse the model or the transcript. */
    static String clean(String s) {
        StringBuilder b = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean bad = (c < 0x20 && c != '\n' && c != '\t' && c != '\r') || c == 0x7f;
            if (bad && b == null) b = new StringBuilder(s.length()).append(s, 0, i);
            if (b != null) b.append(bad ? '?' : c);
        }
        return b == null ? s : b.toString();
    }
}
