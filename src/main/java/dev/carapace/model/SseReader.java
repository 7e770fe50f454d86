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
        StringBuilder data = null;
        while (true) {
            String l = readLine();
            if (l == null) {
                if (data != null) handler.frame(event, data.toString());
                return;
            }
            if (l.isEmpty()) {
                if (data != null) {
                    handler.frame(event, data.toString());
                    if (stop.getAsBoolean()) return;
                }
                event = null;
                data = null;
                continue;
            }
            if (l.charAt(0) == ':') continue;
            int colon = l.indexOf(':');
            String field = colon < 0 ? l : l.substring(0, colon);
            String value = colon < 0 ? "" : l.substring(colon + 1);
            if (value.startsWith(" ")) value = value.substring(1);
            if (field.equals("data")) {
                if (data == null) data = new StringBuilder(value.length());
                else data.append('\n');
                data.append(value);
            } else if (field.equals("event")) {
                event = value;
            }
        }
    }

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
            byte b = buf[pos++];
            if (b == '\n') return line.string();
            if (b == '\r') {
                if (pos == len) {
                    fill();
                    if (len <= 0) { len = 0; return line.string(); }
                }
                if (buf[pos] == '\n') pos++;
                return line.string();
            }
            line.add(b);
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

    private static final class ByteLine {
        private byte[] bytes = new byte[256];
        private int size;

        void reset() { size = 0; }

        int size() { return size; }

        void add(byte b) {
            if (size == bytes.length) bytes = java.util.Arrays.copyOf(bytes, size * 2);
            bytes[size++] = b;
        }

        String string() { return new String(bytes, 0, size, StandardCharsets.UTF_8); }
    }
}
