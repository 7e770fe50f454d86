package dev.carapace.model;

import java.nio.charset.StandardCharsets;

/** Writes Server-Sent Events frames, the other way round from {@link SseReader}. */
public final class SseFrames {

    private static final byte[] DATA = JsonBytes.ascii("data: ");
    private static final byte[] EVENT = JsonBytes.ascii("event: ");
    private static final byte[] NEWLINE = JsonBytes.ascii("\n");

    private SseFrames() {}

    /**
     * Appends one frame to {@code out}: an {@code event:} line when {@code event} is not null, then {@code data} as
     * one {@code data:} line per line of it (as {@link SseReader} joined them), then the blank line. The string at
     * {@code path} in the data, if there is one there, is written as {@code value} ({@link JsonSplice}).
     */
    public static JsonBytes write(JsonBytes out, String event, byte[] data, String value, byte[][] path) {
        if (event != null) out.raw(EVENT).raw(event.getBytes(StandardCharsets.UTF_8)).raw(NEWLINE);
        long span = path == null ? -1 : JsonSplice.find(data, path);
        if (span >= 0 && data[JsonSplice.start(span)] != '"') span = -1;
        int cut = span < 0 ? data.length : JsonSplice.start(span);
        out.raw(DATA);
        lines(out, data, 0, cut);
        if (span >= 0) {
            out.string(value);
            lines(out, data, JsonSplice.end(span), data.length);
        }
        return out.raw(NEWLINE).raw(NEWLINE);
    }

    /** Writes {@code data[from, to)}, starting a new {@code data:} line after each line feed. */
    private static void lines(JsonBytes out, byte[] data, int from, int to) {
        for (int i = from; i < to; i++) {
            if (data[i] == '\n') {
                out.raw(data, from, i).raw(NEWLINE).raw(DATA);
                from = i + 1;
            }
        }
        out.raw(data, from, to);
    }
}
