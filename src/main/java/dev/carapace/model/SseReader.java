package dev.carapace.model;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Reads Server-Sent Events from a byte stream: {@code event:} and {@code data:} lines, frames separated by a blank
 * line, multi-line data joined with '\n', comments ignored. Lines may end in LF, CR or CRLF.
 *
 * <p>A frame's data stays bytes: a relay writes most frames to its client unread, so the reader makes no string of
 * them (a stream is tens of frames a second per open stream, and each string was two copies and a decode). The event
 * name is a string, and the same name as the frame before is the same string.
 *
 * <p>A reader lives as long as its stream, so its read buffer is sized to the traffic: it starts at {@link #MIN_BUFFER}
 * and doubles, up to {@link #MAX_BUFFER}, each time a read fills it. A stream of small events (most of them, and one
 * reader per open stream) keeps the small one.
 */
public final class SseReader {

    /** Called once per complete frame that carried data. */
    @FunctionalInterface
    public interface FrameHandler {
        /** @param data the frame's data lines, UTF-8, joined with '\n'; the handler's to keep */
        void frame(String event, byte[] data);
    }

    private final InputStream in;
    static final int MIN_BUFFER = 512, MAX_BUFFER = 8192;

    private byte[] buf = new byte[MIN_BUFFER];
    private int pos, len;
    /** The current line when it is split across reads; otherwise the line is read where it lies in {@link #buf}. */
    private final Bytes split = new Bytes();
    /** The current frame's data so far. */
    private final Bytes data = new Bytes();
    private boolean hasData;
    private String event;
    private String lastEvent = "";
    // Where the line just read lies: in buf, or in split.
    private byte[] lineBytes;
    private int lineFrom, lineTo;

    public SseReader(InputStream in) { this.in = in; }

    /** Reads frames until end of stream or until {@code stop} returns true after a frame. */
    public void read(FrameHandler handler, java.util.function.BooleanSupplier stop) throws IOException {
        while (true) {
            if (!readLine()) {
                if (hasData) dispatch(handler);
                return;
            }
            byte[] b = lineBytes;
            int from = lineFrom, to = lineTo;
            if (from == to) {
                if (hasData) {
                    dispatch(handler);
                    if (stop.getAsBoolean()) return;
                }
                event = null;
                continue;
            }
            if (b[from] == ':') continue;
            int colon = from;
            while (colon < to && b[colon] != ':') colon++;
            int value = colon == to ? to : colon + 1;
            if (value < to && b[value] == ' ') value++;
            int nameLength = colon - from;
            if (nameLength == 4 && is(b, from, "data")) {
                if (hasData) data.add((byte) '\n');
                data.add(b, value, to - value);
                hasData = true;
            } else if (nameLength == 5 && is(b, from, "event")) {
                event = eventName(b, value, to);
            }
        }
    }

    private void dispatch(FrameHandler handler) {
        byte[] frame = data.copy();
        data.reset();
        hasData = false;
        handler.frame(event, frame);
    }

    private static boolean is(byte[] b, int from, String name) {
        for (int i = 0; i < name.length(); i++) if (b[from + i] != name.charAt(i)) return false;
        return true;
    }

    /** The event name in {@code b[from, to)}: the last one's string when it is the same name (most streams repeat a few). */
    private String eventName(byte[] b, int from, int to) {
        String last = lastEvent;
        if (last.length() == to - from) {
            int i = 0;
            while (i < last.length() && b[from + i] == last.charAt(i)) i++;
            if (i == last.length()) return last;
        }
        return lastEvent = new String(b, from, to - from, StandardCharsets.UTF_8);
    }

    /**
     * Finds the next line and sets {@link #lineBytes}, {@link #lineFrom} and {@link #lineTo} to it; false at the end of
     * the stream. A line found whole in the buffer is read where it lies; only a line split across reads is gathered
     * in {@link #split} first.
     */
    private boolean readLine() throws IOException {
        split.reset();
        boolean gathered = false;
        while (true) {
            if (pos == len) {
                fill();
                if (len <= 0) {
                    len = 0;
                    if (!gathered) return false;
                    return splitLine();
                }
            }
            int end = pos;
            while (end < len && buf[end] != '\n' && buf[end] != '\r') end++;
            if (end == len) {           // no line end yet: keep what there is and read on
                split.add(buf, pos, end - pos);
                gathered = true;
                pos = end;
                continue;
            }
            if (gathered) {
                split.add(buf, pos, end - pos);
                splitLine();
            } else {
                lineBytes = buf;
                lineFrom = pos;
                lineTo = end;
            }
            pos = end + 1;
            if (buf[end] == '\r') {     // CRLF counts as one line end
                if (pos == len) {
                    if (!gathered) {    // the line lies in buf, which the read below refills: keep it first
                        split.add(buf, lineFrom, lineTo - lineFrom);
                        splitLine();
                    }
                    fill();
                    if (len <= 0) {
                        len = 0;
                        return true;
                    }
                }
                if (buf[pos] == '\n') pos++;
            }
            return true;
        }
    }

    private boolean splitLine() {
        lineBytes = split.bytes;
        lineFrom = 0;
        lineTo = split.size;
        if (lineBytes == null) lineBytes = buf;   // an empty line: any array will do
        return true;
    }

    /** Reads into the (empty) buffer; a read that fills it makes the buffer bigger for the next one. */
    private void fill() throws IOException {
        len = in.read(buf, 0, buf.length);
        pos = 0;
        if (len == buf.length && buf.length < MAX_BUFFER) {
            buf = Arrays.copyOf(buf, Math.min(MAX_BUFFER, buf.length * 2));
        }
    }

    /** A growable byte array, made at its first use. */
    private static final class Bytes {
        private byte[] bytes;
        private int size;

        void reset() { size = 0; }

        void add(byte b) {
            ensure(1);
            bytes[size++] = b;
        }

        void add(byte[] from, int off, int n) {
            ensure(n);
            System.arraycopy(from, off, bytes, size, n);
            size += n;
        }

        byte[] copy() { return bytes == null ? new byte[0] : Arrays.copyOf(bytes, size); }

        private void ensure(int n) {
            if (bytes == null) bytes = new byte[Math.max(256, n)];
            if (size + n > bytes.length) bytes = Arrays.copyOf(bytes, Math.max(size + n, bytes.length * 2));
        }
    }
}
