package dev.carapace.model.anthropic;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import dev.carapace.model.ApiException;
import dev.carapace.model.FinishReason;
import dev.carapace.model.JsonOutput;
import dev.carapace.model.ChatRequest;
import dev.carapace.model.StreamEvent;
import dev.carapace.model.TokenCounter;
import dev.carapace.model.Usage;
import dev.carapace.model.WireFormat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

import static dev.carapace.model.anthropic.AnthropicFormat.MAPPER;

/**
 * Renders neutral stream events as an Anthropic Messages SSE stream: {@code message_start}, then content blocks
 * ({@code content_block_start}, deltas, {@code content_block_stop}) with indexes 0, 1, 2..., then
 * {@code message_delta} and {@code message_stop}.
 *
 * <h2>Why blocks are queued</h2>
 * Anthropic content blocks are strictly sequential: once block n is stopped it never receives another delta,
 * and only one block is open at a time. OpenAI-style upstreams are looser: parallel tool calls may arrive
 * interleaved by index (some servers send call 1's start before call 0's arguments are complete), and text may
 * in principle follow a tool call.
 *
 * <p>So blocks wait in a queue in order of appearance. Only the head of the queue is on the wire and gets its
 * deltas sent as they come; the others buffer their content. The head is stopped, and the next block started
 * with everything it buffered, as soon as the head provably cannot grow any more:
 * <ul>
 *   <li>a text block, as soon as any other block follows it (later text starts a new block);</li>
 *   <li>a tool call, once its arguments form a complete JSON value: appending anything but whitespace to a
 *       complete JSON text would make it invalid, so a well-behaved upstream has nothing left to send for it.</li>
 * </ul>
 * With a sequential upstream (OpenAI itself, Anthropic via a neutral hop) every tool call therefore streams live;
 * with an interleaving one the later calls arrive as one delta each when their turn comes. Nothing is ever lost
 * or reordered within a block. {@code Finished} flushes the whole queue.
 */
final class AnthropicStreamEncoder implements WireFormat.StreamEncoder {

    private static final byte[] EMPTY = new byte[0];

    private final String model;
    /** The request, for an estimate of its input tokens in message_start; null when none is wanted. */
    private final ChatRequest request;
    private final ArrayDeque<Block> queue = new ArrayDeque<>();
    private final Map<Integer, Block> tools = new HashMap<>();
    private int nextIndex;
    private boolean started;
    private boolean finished;
    private boolean stopped;
    private boolean sawToolCall;
    private FinishReason reason;
    private Usage usage;

    AnthropicStreamEncoder(String model, ChatRequest request) {
        this.model = model;
        this.request = request;
    }

    @Override
    public byte[] encode(StreamEvent event) {
        if (stopped || event instanceof StreamEvent.Frame) return EMPTY;   // frames are for a relay's encoder
        Frames out = new Frames();
        if (!started) {
            String id = event instanceof StreamEvent.Started s ? s.id() : null;
            messageStart(out, id);
        }
        if (finished && !(event instanceof StreamEvent.UsageReport)) return out.bytes(); // nothing after the end
        switch (event) {
            case StreamEvent.Started s -> { } // handled above; a repeated Started is ignored
            case StreamEvent.Frame f -> throw new AssertionError(f);
            case StreamEvent.ReasoningDelta r -> { } // not shown to clients (see StreamEvent.ReasoningDelta)
            case StreamEvent.TextDelta t -> {
                if (t.text() == null || t.text().isEmpty()) break;
                Block tail = queue.peekLast();
                if (tail == null || tail.isTool()) {
                    tail = new Block(-1, null, null);
                    enqueue(out, tail);
                }
                append(out, tail, t.text());
                drain(out);
            }
            case StreamEvent.ToolCallStarted c -> {
                if (tools.containsKey(c.index())) break;
                sawToolCall = true;
                Block b = new Block(c.index(), c.id(), c.name());
                tools.put(c.index(), b);
                enqueue(out, b);
                drain(out);
            }
            case StreamEvent.ToolCallDelta d -> {
                Block b = tools.get(d.index());
                // A delta for a call never started breaks the neutral contract; one for a call already stopped can
                // only be whitespace after a complete JSON value (see class comment). Either way: nothing to add.
                if (b == null || b.stopped || d.argumentsDelta() == null || d.argumentsDelta().isEmpty()) break;
                append(out, b, d.argumentsDelta());
                drain(out);
            }
            case StreamEvent.Finished f -> {
                flush(out);
                finished = true;
                reason = f.reason();
                if (usage != null) messageEnd(out);
            }
            case StreamEvent.UsageReport u -> {
                usage = u.usage();
                if (finished) messageEnd(out);
            }
        }
        return out.bytes();
    }

    @Override
    public byte[] error(ApiException error) {
        if (stopped) return EMPTY;
        stopped = true;
        Frames out = new Frames();
        out.frame("error", g -> AnthropicFormat.writeError(g, error));
        return out.bytes();
    }

    /** Ends the message if the upstream never sent usage (or never said it finished). */
    @Override
    public byte[] end() {
        if (stopped) return EMPTY;
        Frames out = new Frames();
        if (!started) messageStart(out, null);
        if (!finished) {
            flush(out);
            finished = true;
        }
        messageEnd(out);
        return out.bytes();
    }

    // ---- blocks ----

    /** A text block ({@code toolIndex < 0}) or a tool call, with what it has not yet sent. */
    private static final class Block {
        final int toolIndex;
        final String id;
        final String name;
        final StringBuilder pending = new StringBuilder();
        final JsonCompleteness json;
        int wireIndex = -1;
        boolean stopped;

        Block(int toolIndex, String id, String name) {
            this.toolIndex = toolIndex;
            this.id = id;
            this.name = name;
            this.json = toolIndex < 0 ? null : new JsonCompleteness();
        }

        boolean isTool() { return toolIndex >= 0; }

        boolean onWire() { return wireIndex >= 0; }
    }

    private void enqueue(Frames out, Block b) {
        queue.addLast(b);
        if (queue.size() == 1) startBlock(out, b);
    }

    private void append(Frames out, Block b, String s) {
        if (b.json != null) b.json.feed(s);
        if (b.onWire()) delta(out, b, s);
        else b.pending.append(s);
    }

    /** Stops the head and starts the next block for as long as the head cannot grow any more. */
    private void drain(Frames out) {
        while (queue.size() > 1) {
            Block head = queue.peekFirst();
            if (head.isTool() && !head.json.complete()) return;
            stopBlock(out, queue.pollFirst());
            startBlock(out, queue.peekFirst());
        }
    }

    /** Sends every block still queued, in order. */
    private void flush(Frames out) {
        while (!queue.isEmpty()) {
            Block b = queue.pollFirst();
            if (!b.onWire()) startBlock(out, b);
            stopBlock(out, b);
        }
    }

    private void startBlock(Frames out, Block b) {
        b.wireIndex = nextIndex++;
        out.frame("content_block_start", g -> {
            g.writeStartObject();
            g.writeStringField("type", "content_block_start");
            g.writeNumberField("index", b.wireIndex);
            g.writeObjectFieldStart("content_block");
            if (b.isTool()) {
                g.writeStringField("type", "tool_use");
                g.writeStringField("id", b.id);
                g.writeStringField("name", b.name);
                g.writeObjectFieldStart("input");
                g.writeEndObject();
            } else {
                g.writeStringField("type", "text");
                g.writeStringField("text", "");
            }
            g.writeEndObject();
            g.writeEndObject();
        });
        if (!b.pending.isEmpty()) {
            delta(out, b, b.pending.toString());
            b.pending.setLength(0);
        }
    }

    /**
     * One delta frame. This runs once per streamed token, so the frame is assembled from constant bytes and the
     * escaped text rather than through a JsonGenerator; the bytes are the same the generator would write.
     */
    private void delta(Frames out, Block b, String s) {
        out.raw(DELTA_HEAD);
        out.raw(Integer.toString(b.wireIndex).getBytes(StandardCharsets.US_ASCII));
        out.raw(b.isTool() ? JSON_DELTA_MID : TEXT_DELTA_MID);
        out.raw(JsonStringEncoder.getInstance().quoteAsUTF8(s));
        out.raw(DELTA_TAIL);
    }

    private static final byte[] DELTA_HEAD = ascii("event: content_block_delta\ndata: "
            + "{\"type\":\"content_block_delta\",\"index\":");
    private static final byte[] TEXT_DELTA_MID = ascii(",\"delta\":{\"type\":\"text_delta\",\"text\":\"");
    private static final byte[] JSON_DELTA_MID = ascii(",\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"");
    private static final byte[] DELTA_TAIL = ascii("\"}}\n\n");

    private static byte[] ascii(String s) { return s.getBytes(StandardCharsets.US_ASCII); }

    private void stopBlock(Frames out, Block b) {
        b.stopped = true;
        out.frame("content_block_stop", g -> {
            g.writeStartObject();
            g.writeStringField("type", "content_block_stop");
            g.writeNumberField("index", b.wireIndex);
            g.writeEndObject();
        });
    }

    // ---- message ----

    private void messageStart(Frames out, String id) {
        started = true;
        String messageId = id != null ? id : AnthropicFormat.newMessageId();
        long input = request == null ? 0 : TokenCounter.prompt(request);
        out.frame("message_start", g -> {
            g.writeStartObject();
            g.writeStringField("type", "message_start");
            g.writeObjectFieldStart("message");
            g.writeStringField("id", messageId);
            g.writeStringField("type", "message");
            g.writeStringField("role", "assistant");
            g.writeStringField("model", model);
            g.writeArrayFieldStart("content");
            g.writeEndArray();
            g.writeNullField("stop_reason");
            g.writeNullField("stop_sequence");
            // OpenAI-style upstreams report usage only at the end, where message_delta carries the real numbers; until
            // then the input is Carapace's own count, so that a client reading message_start (SDKs, LangChain) does not
            // see 0.
            g.writeObjectFieldStart("usage");
            g.writeNumberField("input_tokens", input);
            g.writeNumberField("output_tokens", 0);
            g.writeEndObject();
            g.writeEndObject();
            g.writeEndObject();
        });
    }

    /** message_delta with the stop reason and usage, then message_stop. */
    private void messageEnd(Frames out) {
        stopped = true;
        String stopReason = AnthropicFormat.stopReason(reason, sawToolCall);
        Usage u = usage;
        out.frame("message_delta", g -> {
            g.writeStartObject();
            g.writeStringField("type", "message_delta");
            g.writeObjectFieldStart("delta");
            g.writeStringField("stop_reason", stopReason);
            g.writeNullField("stop_sequence");
            g.writeEndObject();
            g.writeObjectFieldStart("usage");
            // message_delta usage is cumulative; Anthropic SDKs take input and cache counts from here when given.
            g.writeNumberField("output_tokens", u == null ? 0 : u.outputTokens());
            if (u != null) {
                g.writeNumberField("input_tokens", AnthropicFormat.uncachedInput(u));
                g.writeNumberField("cache_read_input_tokens", u.cachedInputTokens());
                g.writeNumberField("cache_creation_input_tokens", u.cacheWriteTokens());
            }
            g.writeEndObject();
            g.writeEndObject();
        });
        out.frame("message_stop", g -> {
            g.writeStartObject();
            g.writeStringField("type", "message_stop");
            g.writeEndObject();
        });
    }

    // ---- SSE ----

    /** The SSE frames produced by one call, as {@code event: NAME\ndata: JSON\n\n}. */
    private static final class Frames {
        private ByteArrayOutputStream out;

        void frame(String event, JsonOutput.Body json) {
            if (out == null) out = new ByteArrayOutputStream(256);
            JsonOutput.frame(MAPPER, out, event, json);
        }

        void raw(byte[] bytes) {
            if (out == null) out = new ByteArrayOutputStream(256);
            out.writeBytes(bytes);
        }

        byte[] bytes() { return out == null ? EMPTY : out.toByteArray(); }
    }

    /**
     * Tracks whether streamed text has become one complete JSON value (of the object or array kind, as tool
     * arguments are), without parsing it: depth, string and escape state, in O(1) per character. Anything odd
     * (a top-level scalar, a second value, too many closers) marks it broken, which keeps the block open until
     * the end of the answer: the safe choice when in doubt.
     */
    static final class JsonCompleteness {
        private int depth;
        private boolean inString;
        private boolean escape;
        private boolean opened;
        private boolean broken;

        void feed(CharSequence s) {
            for (int i = 0, n = s.length(); i < n && !broken; i++) {
                char c = s.charAt(i);
                if (inString) {
                    if (escape) escape = false;
                    else if (c == '\\') escape = true;
                    else if (c == '"') inString = false;
                } else if (c == '{' || c == '[') {
                    if (opened && depth == 0) broken = true;
                    depth++;
                    opened = true;
                } else if (c == '}' || c == ']') {
                    if (--depth < 0) broken = true;
                } else if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
                    // insignificant whitespace
                } else if (depth == 0) {
                    broken = true; // a scalar outside any object or array
                } else if (c == '"') {
                    inString = true;
                }
            }
        }

        boolean complete() { return opened && depth == 0 && !inString && !broken; }
    }
}
