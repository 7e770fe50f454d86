package dev.carapace.model;

import java.nio.charset.StandardCharsets;

/**
 * Decodes a stream relayed to a client of the upstream's own API (see {@link WireFormat#relayDecoder}): it passes
 * each frame on as a {@link StreamEvent.Frame}, after the events decoded from it, and decodes only the frames that
 * the call's accounts need. Until the first output (a text delta or a tool call) every frame is read, so that the
 * time to first token is known; after it, the format says which frames may matter ({@link Selector}).
 */
public final class RelayDecoder implements WireFormat.StreamDecoder {

    /** Which frames a format's relay must read after the first output. */
    @FunctionalInterface
    public interface Selector {
        /** @param data the frame's data, UTF-8 */
        boolean mustRead(String event, byte[] data);
    }

    private final WireFormat.StreamDecoder decoder;
    private final boolean everyFrame;
    private final Selector selector;
    private final byte[][] outputKeys;
    private final boolean relayLast;
    private boolean sawOutput;
    /** What a frame carries besides its text (ids, model, keys), from the first text frame read; -1 until then. */
    private int frameOverhead = -1;
    private int frameLength;
    private StreamSink sink;
    private final StreamSink watch = event -> {
        if (event instanceof StreamEvent.TextDelta t) {
            sawOutput = true;
            if (frameOverhead < 0) frameOverhead = Math.max(0, frameLength - t.text().length());
        } else if (event instanceof StreamEvent.ToolCallStarted) {
            sawOutput = true;
        }
        sink.accept(event);
    };

    /**
     * @param decoder    the format's own decoder, which reads the frames that are read
     * @param everyFrame read every frame (a filter reads the output as it comes)
     * @param outputKeys the keys whose string values are output in the format's delta frames, quoted
     *                   ({@code "\"content\""}): a frame passed on unread is measured by them
     * @param relayLast  whether the frame that ends the stream goes to the client too (Anthropic's
     *                   {@code message_stop}), or is the client encoder's to write at the end (OpenAI's
     *                   {@code [DONE]})
     */
    public RelayDecoder(WireFormat.StreamDecoder decoder, boolean everyFrame, Selector selector, String[] outputKeys,
                        boolean relayLast) {
        this.decoder = decoder;
        this.everyFrame = everyFrame;
        this.selector = selector;
        this.outputKeys = new byte[outputKeys.length][];
        for (int i = 0; i < outputKeys.length; i++) this.outputKeys[i] = outputKeys[i].getBytes(StandardCharsets.UTF_8);
        this.relayLast = relayLast;
    }

    @Override
    public void decode(String event, String data, StreamSink sink) {
        decode(event, data.getBytes(StandardCharsets.UTF_8), sink);
    }

    @Override
    public void decode(String event, byte[] data, StreamSink sink) {
        boolean read = everyFrame || !sawOutput || selector.mustRead(event, data);
        if (read) {
            this.sink = sink;
            String text = new String(data, StandardCharsets.UTF_8);
            frameLength = text.length();
            decoder.decode(event, text, watch);
        }
        if (relayLast || !decoder.done()) sink.accept(new StreamEvent.Frame(event, data, read, read ? 0 : unreadChars(data)));
    }

    /**
     * About how many characters of output a frame passed on unread carries: its length less what the first text
     * frame carried besides its text (the frames of one stream differ mostly in their text), or, before any text
     * frame was read, the length of its output values.
     */
    private int unreadChars(byte[] data) {
        return frameOverhead >= 0 ? Math.max(0, chars(data, 0, data.length) - frameOverhead) : outputLength(data);
    }

    /**
     * The characters (an escape counting as one) of the string values of the first output key found in {@code data}:
     * a delta frame carries one kind of output.
     */
    private int outputLength(byte[] data) {
        int n = 0;
        for (byte[] key : outputKeys) {
            for (int at = indexOf(data, key, 0); at >= 0; at = indexOf(data, key, at + key.length)) {
                int i = skipSpace(data, at + key.length);
                if (i >= data.length || data[i] != ':') continue;
                i = skipSpace(data, i + 1);
                if (i >= data.length || data[i] != '"') continue;
                for (i++; i < data.length && data[i] != '"'; i++) {
                    if (data[i] == '\\') i++;                            // an escape counts as one
                    else if ((data[i] & 0xC0) == 0x80) continue;          // a UTF-8 continuation byte
                    n++;
                }
            }
            if (n > 0) return n;
        }
        return n;
    }

    /** The characters UTF-8 {@code b[from, to)} decodes to, about: a character outside the BMP counts as one. */
    private static int chars(byte[] b, int from, int to) {
        int n = 0;
        for (int i = from; i < to; i++) if ((b[i] & 0xC0) != 0x80) n++;
        return n;
    }

    /**
     * Whether {@code key} (quoted) appears in {@code data} with a value other than null: a key cannot appear unescaped
     * inside a JSON string, so this finds keys alone (at any depth).
     */
    public static boolean hasValue(byte[] data, byte[] key) {
        for (int at = indexOf(data, key, 0); at >= 0; at = indexOf(data, key, at + 1)) {
            int i = skipSpace(data, at + key.length);
            if (i >= data.length || data[i] != ':') continue;
            i = skipSpace(data, i + 1);
            if (i < data.length && data[i] != 'n') return true;
        }
        return false;
    }

    /** Where {@code key} first appears in {@code data} at or after {@code from}, or -1. */
    public static int indexOf(byte[] data, byte[] key, int from) {
        byte first = key[0];
        for (int i = Math.max(0, from), last = data.length - key.length; i <= last; i++) {
            if (data[i] != first) continue;
            int k = 1;
            while (k < key.length && data[i + k] == key[k]) k++;
            if (k == key.length) return i;
        }
        return -1;
    }

    private static int skipSpace(byte[] s, int i) {
        while (i < s.length && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) i++;
        return i;
    }

    @Override
    public boolean done() { return decoder.done(); }
}
