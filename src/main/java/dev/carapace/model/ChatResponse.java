package dev.carapace.model;

import java.util.List;

/**
 * A complete (non-streamed) answer in provider-neutral form.
 *
 * @param relayed the upstream's body as it came, when the upstream speaks the client's API and was sent the client's
 *                own request ({@link ChatRequest#relaysTo}): the client gets these bytes with only the model name
 *                changed, so fields Carapace does not model reach it. Null otherwise, and in any answer a filter
 *                rewrote (a rewrite is not in these bytes).
 */
public record ChatResponse(String id, String model, String text, List<ToolCall> toolCalls,
                           FinishReason finishReason, Usage usage, byte[] relayed) {
    public ChatResponse {
        toolCalls = List.copyOf(toolCalls);
    }

    public ChatResponse(String id, String model, String text, List<ToolCall> toolCalls, FinishReason finishReason,
                        Usage usage) {
        this(id, model, text, toolCalls, finishReason, usage, null);
    }

    public ChatResponse withUsage(Usage u) { return new ChatResponse(id, model, text, toolCalls, finishReason, u, relayed); }

    public ChatResponse withModel(String m) { return new ChatResponse(id, m, text, toolCalls, finishReason, usage, relayed); }

    public ChatResponse withRelayed(byte[] body) {
        return new ChatResponse(id, model, text, toolCalls, finishReason, usage, body);
    }
}
