package dev.carapace.model;

/**
 * One event of a streamed answer in provider-neutral form. An upstream stream parses into these, and each
 * client-facing format renders them back into its own SSE events.
 *
 * <p>Order: {@link Started} first; then any mix of {@link TextDelta} and tool-call events, where
 * {@link ToolCallStarted} for an index precedes its {@link ToolCallDelta}s; then {@link Finished}; {@link UsageReport}
 * comes last when the upstream reports usage.
 *
 * <p>A stream relayed from an upstream of the client's own API also carries each upstream {@link Frame}, after the
 * events decoded from it.
 */
public sealed interface StreamEvent {

    record Started(String id, String model) implements StreamEvent {}

    record TextDelta(String text) implements StreamEvent {}

    /**
     * Reasoning the model did before answering (Anthropic thinking, vLLM/DeepSeek {@code reasoning_content}). It is
     * billed as output but not shown to clients: Carapace cannot carry it across formats faithfully (Anthropic
     * thinking must round-trip with its signature). It still counts when Carapace estimates an interrupted stream.
     */
    record ReasoningDelta(String text) implements StreamEvent {}

    /** A new tool call at position {@code index} (0-based, in order of appearance among this answer's tool calls). */
    record ToolCallStarted(int index, String id, String name) implements StreamEvent {}

    record ToolCallDelta(int index, String argumentsDelta) implements StreamEvent {}

    record Finished(FinishReason reason) implements StreamEvent {}

    record UsageReport(Usage usage) implements StreamEvent {}

    /**
     * One upstream SSE frame as it came, relayed to a client of the same API (see {@link ChatRequest#relaysTo}): the
     * client's encoder writes the frame, while the events decoded from it serve Carapace's own accounts. A relay
     * decodes only the frames its accounts need (the start, tool calls, the finish, usage; every frame when a filter
     * asked for the output as it comes): {@code decoded} is false for a frame passed on unread, a content delta, and
     * {@code unreadChars} is then about how many characters of output it carries, for an estimate when the upstream
     * reports no usage. {@code data} is the frame's data as it came (UTF-8): most frames are written to the client
     * unread, so they are never made strings.
     */
    record Frame(String event, byte[] data, boolean decoded, int unreadChars) implements StreamEvent {}
}
