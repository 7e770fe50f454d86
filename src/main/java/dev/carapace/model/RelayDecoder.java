package dev.carapace.model;

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
        boolean mustRead(String event, String data);
    }

    private final WireFormat.StreamDecoder decoder;
    private final boolean everyFrame;
    private final Selector selector;
    private final String[] outputKeys;
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
        this.outputKeys = outputKeys;
        this.relayLast = relayLast;
    }

    @Override
    public void decode(String event, String data, StreamSink sink) {
        boolean read = everyFrame || !sawOutput || selector.mustRead(event, data);
        if (read) {
            this.sink = sink;
            frameLength = data.length();
            decoder.decode(event, data, watch);
        }
        if (relayLast || !decoder.done()) sink.accept(new StreamEvent.Frame(event, data, read, read ? 0 : unreadChars(data)));
    }

    /**
     * About how many characters of output a frame passed on unread carries: its length less what the first text
     * frame carried besides its text (the frames of one stream differ mostly in their text), or, before any text
     * frame was read, the length of its output values.
     */
    private int unreadChars(String data) {
        return frameOverhead >= 0 ? Math.max(0, data.length() - frameOverhead) : outputLength(data);
    }

    /**
     * The characters (an escape counting as one) of the string values of the first output key found in {@code data}:
     * a delta frame carries one kind of output.
     */
    private int outputLength(String data) {
        int n = 0;
        for (String key : outputKeys) {
            for (int at = data.indexOf(key); at >= 0; at = data.indexOf(key, at + key.length())) {
                int i = skipSpace(data, at + key.length());
                if (i >= data.length() || data.charAt(i) != ':') continue;
                i = skipSpace(data, i + 1);
                if (i >= data.length() || data.charAt(i) != '"') continue;
                for (i++; i < data.length() && data.charAt(i) != '"'; i++, n++) {
                    if (data.charAt(i) == '\\') i++;
                }
            }
            if (n > 0) return n;
        }
        return n;
    }

    /**
     * Whether {@code key} (quoted) appears in {@code data} with a value other than null: a key cannot appear unescaped
     * inside a JSON string, so this finds keys alone (at any depth).
     */
    public static boolean hasValue(String data, String key) {
        for (int at = data.indexOf(key); at >= 0; at = data.indexOf(key, at + 1)) {
            int i = skipSpace(data, at + key.length());
            if (i >= data.length() || data.charAt(i) != ':') continue;
            i = skipSpace(data, i + 1);
            if (i < data.length() && data.charAt(i) != 'n') return true;
        }
        return false;
    }

    private static int skipSpace(String s, int i) {
        while (i < s.length() && (s.charAt(i) == ' ' || s.charAt(i) == '\n' || s.charAt(i) == '\r' || s.charAt(i) == '\t')) i++;
        return i;
    }

    @Override
    public boolean done() { return decoder.done(); }
}
