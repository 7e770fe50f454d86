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
     * one {@code data:} line per line of it (as {@link SseReader} joined them), then the blank line.
     */
    public static JsonBytes write(JsonBytes out, String event, JsonBytes data) {
        if (event != null) out.raw(EVENT).raw(event.getBytes(StandardCharsets.UTF_8)).raw(NEWLINE);
        byte[] bytes = data.buffer();
        int from = 0;
        for (int i = 0; i < data.size(); i++) {
            if (bytes[i] == '\n') {
                out.raw(DATA).raw(bytes, from, i).raw(NEWLINE);
                from = i + 1;
            }
        }
        return out.raw(DATA).raw(bytes, from, data.size()).raw(NEWLINE).raw(NEWLINE);
    }
}
