package dev.carapace.model.responses;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.model.StreamEvent;
import dev.carapace.model.StreamSink;
import dev.carapace.model.ToolCall;
import dev.carapace.model.Usage;
import dev.carapace.model.WireFormat;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Turns an upstream's Responses API event stream into neutral events: {@code response.created} starts it, text and
 * function-call argument deltas stream, reasoning (summary or raw) is counted, and {@code response.completed} or
 * {@code response.incomplete} finishes it with usage. {@code response.failed} and {@code error} events end the call
 * with the upstream's message. A call whose arguments came only whole, in {@code output_item.done}, still gets them.
 */
final class ResponsesStreamDecoder implements WireFormat.StreamDecoder {

    private boolean started, done;
    /** Output item id to the neutral index of its tool call. */
    private final Map<String, Integer> calls = new HashMap<>();
    private final Set<String> streamedArguments = new HashSet<>();

    @Override
    public boolean done() { return done; }

    @Override
    public void decode(String event, String data, StreamSink sink) {
        if (done || data == null) return;
        String payload = data.strip();
        if (payload.isEmpty() || payload.equals("[DONE]")) return;
        JsonNode e = ResponsesJson.readUpstream(payload);
        String type = event != null ? event : e.path("type").asText();
        if (!started && !"error".equals(type)) {
            started = true;
            JsonNode r = e.path("response");
            String id = r.path("id").asText(null);
            sink.accept(new StreamEvent.Started(id == null ? ResponsesJson.newId("resp") : id, r.path("model").asText(null)));
        }
        switch (type) {
            case "response.output_text.delta", "response.refusal.delta" -> {
                String delta = e.path("delta").asText("");
                if (!delta.isEmpty()) sink.accept(new StreamEvent.TextDelta(delta));
            }
            case "response.reasoning_summary_text.delta", "response.reasoning_text.delta" -> {
                String delta = e.path("delta").asText("");
                if (!delta.isEmpty()) sink.accept(new StreamEvent.ReasoningDelta(delta));
            }
            case "response.output_item.added" -> {
                ToolCall call = ResponsesUpstream.toolCall(e.path("item"));
                if (call != null) announce(e.path("item").path("id").asText(call.id()), call, sink);
            }
            case "response.function_call_arguments.delta", "response.custom_tool_call_input.delta" -> {
                Integer index = calls.get(e.path("item_id").asText());
                String delta = e.path("delta").asText("");
                if (index != null && !delta.isEmpty() && type.startsWith("response.function_call")) {
                    streamedArguments.add(e.path("item_id").asText());
                    sink.accept(new StreamEvent.ToolCallDelta(index, delta));
                }
            }
            case "response.output_item.done" -> {
                JsonNode item = e.path("item");
                ToolCall call = ResponsesUpstream.toolCall(item);
                if (call == null) return;
                String itemId = item.path("id").asText(call.id());
                Integer index = calls.get(itemId);
                if (index == null) index = announce(itemId, call, sink);
                if (!streamedArguments.contains(itemId) && call.arguments() != null && !call.arguments().isEmpty()) {
                    streamedArguments.add(itemId);
                    sink.accept(new StreamEvent.ToolCallDelta(index, call.arguments()));
                }
            }
            case "response.completed", "response.incomplete" -> {
                JsonNode r = e.path("response");
                done = true;
                sink.accept(new StreamEvent.Finished(ResponsesUpstream.finish(r.path("status").asText(),
                        r.path("incomplete_details").path("reason").asText(), !calls.isEmpty())));
                Usage usage = ResponsesUpstream.usage(r);
                if (usage != null) sink.accept(new StreamEvent.UsageReport(usage));
            }
            case "response.failed" -> throw ResponsesUpstream.failure(e.path("response").path("error"));
            case "error" -> throw ResponsesUpstream.failure(e.has("message") ? e : e.path("error"));
            default -> { }
        }
    }

    private int announce(String itemId, ToolCall call, StreamSink sink) {
        Integer known = calls.get(itemId);
        if (known != null) return known;
        int index = calls.size();
        calls.put(itemId, index);
        sink.accept(new StreamEvent.ToolCallStarted(index, call.id(), call.name()));
        return index;
    }
}
