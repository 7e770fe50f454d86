package dev.carapace.model;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/**
 * Reads Server-Sent Events from a byte stream: {@code event:} and {@code data:} lines, frames separated by a blank
 * line, multi-line data joined with '\n', comments ignored. Lines may end in LF, CR or CRLF.
 *
 * <p>A reader lives as long as its stream, so its read buffer is sized to the traffic: it starts at {@link #MIN_BUFFER}
 * and doubles, up to {@link #MAX_BUFFER}, each time a read fills it. A stream of small events (most of them, and one
 * reader per open stream) keeps the small one.
 */
public final class SseReader {

    /** Called once per complete frame that carried data. */
    @FunctionalInterface
    public interface FrameHandler {
        void frame(String event, String data);
    }

    private final InputStream in;
    static final int MIN_BUFFER = 512, MAX_BUFFER = 8192;

    private byte[] buf = new byte[MIN_BUFFER];
    private int pos, len;
    private final ByteLine line = new ByteLine();

    public SseReader(InputStream in) { this.in = in; }

    /** Reads frames until end of stream or until {@code stop} returns true after a frame. */
    public void read(FrameHandler handler, java.util.function.BooleanSupplier stop) throws IOException {
        String event = null;
        // Usually one data line per frame, kept as the line's own substring; a frame of several lines (rare) joins them.
        String data = null;
        while (true) {
            String l = readLine();
            if (l == null) {
                if (data != null) handler.frame(event, data);
                return;
            }
            if (l.isEmpty()) {
                if (data != null) {
                    handler.frame(event, data);
                    if (stop.getAsBoolean()) return;
                }
                event = null;
                data = null;
                continue;
            }
            if (l.charAt(0) == ':') continue;
            int colon = l.indexOf(':');
            int from = colon < 0 ? l.length() : colon + 1;
            if (from < l.length() && l.charAt(from) == ' ') from++;
            if (colon == 4 && l.startsWith("data")) {
                String value = l.substring(from);
                data = data == null ? value : data + "\n" + value;
            } else if (colon < 0 && l.equals("data")) {
                data = data == null ? "" : data + "\n";
            } else if (colon == 5 && l.startsWith("event")) {
                event = l.substring(from);
            } else if (colon < 0 && l.equals("event")) {
                event = "";
            }
        }
    }

    /**
     * The next line, or null at the end of the stream. A line found whole in the buffer becomes a string straight from
     * it; only a line split across reads is gathered in {@link #line} first.
     */
    private String readLine() throws IOException {
        line.reset();
        while (true) {
            if (pos == len) {
                fill();
                if (len <= 0) {
                    len = 0;
                    return line.size() == 0 ? null : line.string();
                }
            }
            int end = pos;
            while (end < len && buf[end] != '\n' && buf[end] != '\r') end++;
            if (end == len) {           // no line end yet: keep what there is and read on
                line.add(buf, pos, end - pos);
                pos = end;
                continue;
            }
            String s;
            if (line.size() == 0) {
                s = new String(buf, pos, end - pos, StandardCharsets.UTF_8);
            } else {
                line.add(buf, pos, end - pos);
                s = line.string();
            }
            pos = end + 1;
            if (buf[end] == '\r') {     // CRLF counts as one line end
                if (pos == len) {
                    fill();
                    if (len <= 0) {
                        len = 0;
                        return s;
                    }
                }
                if (buf[pos] == '\n') pos++;
            }
            return s;
        }
    }

    /** Reads into the (empty) buffer; a read that fills it makes the buffer bigger for the next one. */
    private void fill() throws IOException {
        len = in.read(buf, 0, buf.length);
        pos = 0;
        if (len == buf.length && buf.length < MAX_BUFFER) {
            buf = java.util.Arrays.copyOf(buf, Math.min(MAX_BUFFER, buf.length * 2));
        }
    }

    /** The part of a line read so far, for a line split across reads; its array is made at the first such line. */
    private static final class ByteLine {
        private byte[] bytes;
        private int size;

        void reset() { size = 0; }

        int size() { return size; }

        void add(byte[] from, int off, int n) {
            if (bytes == null) bytes = new byte[Math.max(256, n)];
            if (size + n > bytes.length) bytes = java.util.Arrays.copyOf(bytes, Math.max(size + n, bytes.length * 2));
            System.arraycopy(from, off, bytes, size, n);
            size += n;
        }

        String string() { return new String(bytes, 0, size, StandardCharsets.UTF_8); }
    }
}
