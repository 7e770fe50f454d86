package dev.carapace.model;

import java.util.List;

/** A complete (non-streamed) answer in provider-neutral form. */
public record ChatResponse(String id, String model, String text, List<ToolCall> toolCalls,
                           FinishReason finishReason, Usage usage) {
    public ChatResponse {
        toolCalls = List.copyOf(toolCalls);
    }

    public ChatResponse withUsage(Usage u) { return new ChatResponse(id, model, text, toolCalls, finishReason, u); }

    public ChatResponse withModel(String m) { return new ChatResponse(id, m, text, toolCalls, finishReason, usage); }
}
