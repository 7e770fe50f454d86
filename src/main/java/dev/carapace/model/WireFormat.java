package dev.carapace.model;

/**
 * One wire protocol (OpenAI Chat Completions, Anthropic Messages or the OpenAI Responses API), both as Carapace
 * serves it to clients and as Carapace speaks it to an upstream. All translation between them goes through the
 * neutral types of this package, so any client format reaches any upstream format. When the client and the upstream speak the same API,
 * nothing is translated: the client's request goes up and the upstream's answer comes back as they were, but for
 * what Carapace must change ({@link ChatRequest#relaysTo}).
 */
public interface WireFormat {

    WireApi api();

    // ---- client side ----

    /**
     * Parses and validates a client's request body. Throws {@link ApiException} of kind INVALID_REQUEST naming the
     * offending field (as a JSON path) for malformed JSON, wrong types, missing or unknown fields, invalid tool
     * schemas, and parameters Carapace does not support.
     */
    ChatRequest parseRequest(byte[] body);

    /** Renders a complete answer as this API's response body. {@code response.model()} is what the client sees. */
    byte[] renderResponse(ChatResponse response);

    /** A fresh encoder for one streamed answer to {@code request}; the model name shown is {@code model}. */
    StreamEncoder streamEncoder(ChatRequest request, String model);

    /**
     * A fresh encoder for a stream relayed from an upstream of this same API (see {@link ChatRequest#relaysTo}): it
     * writes each {@link StreamEvent.Frame} as it came, with the model name shown as {@code model}, and nothing for
     * the events decoded from the frames.
     */
    StreamEncoder relayEncoder(ChatRequest request, String model);

    /**
     * The vendor headers of a client's request that go up with it when it is relayed to an upstream of this API
     * (Anthropic's {@code anthropic-beta}: the betas a client such as Claude Code turns on); a translated request
     * carries none. Lower case.
     */
    default java.util.List<String> relayedHeaders() { return java.util.List.of(); }

    /** This API's error body for {@code error}. */
    byte[] renderError(ApiException error);

    /** This API's status code for {@code error} ({@link WireApi#status}). */
    default int status(ApiException error) { return api().status(error); }

    // ---- upstream side ----

    /**
     * The body to send upstream for {@code request}, addressed to {@code upstreamModel}. When streaming, asks the
     * upstream to report usage whether or not the client did. {@code defaultMaxTokens} is used when the request
     * sets no limit and the API requires one.
     */
    byte[] upstreamRequest(ChatRequest request, String upstreamModel, int defaultMaxTokens);

    /**
     * The names of what a translation of {@code request} to this API leaves out (see {@link Translation#dropped}),
     * for the client to be told; a relayed request loses nothing and is not asked about.
     */
    default java.util.Set<String> dropped(ChatRequest request) { return Translation.dropped(request, api()); }

    /** Parses an upstream's complete (non-streamed) response. */
    ChatResponse parseUpstreamResponse(byte[] body);

    /**
     * An upstream's complete answer to relay to a client of this same API ({@link ChatResponse#relayed} holds the
     * body), read only as far as Carapace's accounts need: its usage. An answer without usage, or that is not plainly
     * an answer (an error body, a malformed one), is parsed whole, as {@link #parseUpstreamResponse} does.
     */
    ChatResponse relayedResponse(byte[] body);

    /** A fresh decoder for one upstream SSE stream. */
    StreamDecoder streamDecoder();

    /**
     * A fresh decoder for an upstream stream relayed to a client of this same API: after the events decoded from
     * each frame, it passes the frame itself on ({@link StreamEvent.Frame}). It decodes the frames the call's
     * accounts need (the start, tool calls, the finish, usage, errors, and content until the first output), or every
     * frame when {@code everyFrame}; the others are passed on unread.
     */
    StreamDecoder relayDecoder(boolean everyFrame);

    /** Turns a failed upstream response into the error to report (message kept short, no upstream secrets). */
    ApiException upstreamError(int status, byte[] body);

    /** Renders neutral stream events as this API's SSE frames. Stateful: one per streamed answer. */
    interface StreamEncoder {
        /** The SSE bytes for {@code event}; may be empty (e.g. a usage report the client did not ask for). */
        byte[] encode(StreamEvent event);

        /**
         * Writes what {@link #encode} returns to {@code out}; an encoder that builds its frame in a buffer of its own
         * writes from it, without the copy that {@code encode} returns. Returns whether it wrote anything.
         */
        default boolean encodeTo(StreamEvent event, java.io.OutputStream out) throws java.io.IOException {
            byte[] bytes = encode(event);
            if (bytes.length == 0) return false;
            out.write(bytes);
            return true;
        }

        /** The SSE bytes reporting {@code error} mid-stream, after which the stream ends. */
        byte[] error(ApiException error);

        /** The SSE bytes that close a successful stream (OpenAI's {@code data: [DONE]}); may be empty. */
        byte[] end();
    }

    /** Parses one upstream SSE stream into neutral events. Stateful: one per stream. */
    interface StreamDecoder {
        /**
         * Handles one SSE event ({@code event} is null when the frame had no {@code event:} line).
         * Throws {@link ApiException} for an error event sent by the upstream mid-stream.
         */
        void decode(String event, String data, StreamSink sink);

        /** As {@link #decode(String, String, StreamSink)}, for a frame as {@link SseReader} reads it (UTF-8 data). */
        default void decode(String event, byte[] data, StreamSink sink) {
            decode(event, new String(data, java.nio.charset.StandardCharsets.UTF_8), sink);
        }

        /** True once the upstream signalled the end of the stream. */
        boolean done();
    }
}
