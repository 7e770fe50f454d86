package dev.carapace.model;

import com.fasterxml.jackson.core.util.BufferRecycler;
import com.fasterxml.jackson.core.util.RecyclerPool;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A reusable buffer for writing small JSON texts by hand: the stream encoders render one frame per token, and a
 * Jackson generator per frame (with its context and buffers) cost more than the frame itself.
 *
 * <p>{@link #string} escapes exactly as Jackson's generator does with its default settings, so a frame comes out
 * byte for byte as it did when a generator wrote it: quotes, backslashes and control characters escaped (the usual
 * short forms, else a unicode escape: backslash, u, four upper-case hex digits), each surrogate char as a unicode
 * escape of its own, everything else as UTF-8.
 */
public final class JsonBytes {

    /**
     * The buffers of the wire formats' Jackson parsers and generators, shared by every thread. Jackson's default keeps
     * them per thread, which with a virtual thread per request means a fresh set allocated by every request and held by
     * every open stream for its whole life: about 16 KB per stream in {@code bench/streams} (8.4 KB of char arrays,
     * the rest byte arrays). See {@link BufferPool} for why not one of Jackson's shared pools.
     */
    public static final RecyclerPool<BufferRecycler> RECYCLER_POOL = new BufferPool();

    private static final byte[] NULL = ascii("null");
    private static final byte[] HEX = ascii("0123456789ABCDEF");
    /** Per ASCII character: 0 written as is, the letter of its short escape, or -1 for a unicode escape. */
    private static final byte[] ESCAPES = new byte[128];

    static {
        for (int c = 0; c < 0x20; c++) ESCAPES[c] = -1;
        ESCAPES['\b'] = 'b';
        ESCAPES['\t'] = 't';
        ESCAPES['\n'] = 'n';
        ESCAPES['\f'] = 'f';
        ESCAPES['\r'] = 'r';
        ESCAPES['"'] = '"';
        ESCAPES['\\'] = '\\';
    }

    private byte[] buf;
    private int len;

    public JsonBytes(int capacity) { buf = new byte[capacity]; }

    /** US-ASCII bytes of a constant piece of JSON or SSE. */
    public static byte[] ascii(String s) { return s.getBytes(StandardCharsets.US_ASCII); }

    /** Empties the buffer, keeping its capacity. */
    public JsonBytes reset() {
        len = 0;
        return this;
    }

    public JsonBytes raw(byte[] bytes) {
        return raw(bytes, 0, bytes.length);
    }

    public JsonBytes raw(byte[] bytes, int from, int to) {
        int n = to - from;
        ensure(n);
        System.arraycopy(bytes, from, buf, len, n);
        len += n;
        return this;
    }

    public JsonBytes number(long value) {
        // Long.toString is the same text as Jackson's NumberOutput; a number is short, so the String is cheap.
        String s = Long.toString(value);
        ensure(s.length());
        for (int i = 0; i < s.length(); i++) buf[len++] = (byte) s.charAt(i);
        return this;
    }

    /** {@code s} as a quoted JSON string, or {@code null}. */
    public JsonBytes string(String s) {
        if (s == null) return raw(NULL);
        ensure(s.length() * 6 + 2);   // the worst case: every character as a six-byte unicode escape
        byte[] b = buf;
        int n = len;
        b[n++] = '"';
        for (int i = 0, end = s.length(); i < end; i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                byte e = ESCAPES[c];
                if (e == 0) {
                    b[n++] = (byte) c;
                } else if (e > 0) {
                    b[n++] = '\\';
                    b[n++] = e;
                } else {
                    n = unicodeEscape(b, n, c);
                }
            } else if (c < 0x800) {
                b[n++] = (byte) (0xC0 | (c >> 6));
                b[n++] = (byte) (0x80 | (c & 0x3F));
            } else if (Character.isSurrogate(c)) {
                n = unicodeEscape(b, n, c);
            } else {
                b[n++] = (byte) (0xE0 | (c >> 12));
                b[n++] = (byte) (0x80 | ((c >> 6) & 0x3F));
                b[n++] = (byte) (0x80 | (c & 0x3F));
            }
        }
        b[n++] = '"';
        len = n;
        return this;
    }

    public int size() { return len; }

    /** A copy of what was written, sized to fit. */
    public byte[] toByteArray() { return Arrays.copyOf(buf, len); }

    /** Writes what was written here to {@code out}, without a copy. */
    public void writeTo(java.io.OutputStream out) throws java.io.IOException { out.write(buf, 0, len); }

    private static int unicodeEscape(byte[] b, int n, char c) {
        b[n++] = '\\';
        b[n++] = 'u';
        b[n++] = HEX[(c >> 12) & 0xF];
        b[n++] = HEX[(c >> 8) & 0xF];
        b[n++] = HEX[(c >> 4) & 0xF];
        b[n++] = HEX[c & 0xF];
        return n;
    }

    private void ensure(int more) {
        if (len + more > buf.length) buf = Arrays.copyOf(buf, Math.max(buf.length * 2, len + more));
    }
}
