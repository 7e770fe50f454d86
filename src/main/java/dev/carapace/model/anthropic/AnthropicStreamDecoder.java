package dev.carapace.model.anthropic;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.model.StreamEvent;
import dev.carapace.model.StreamSink;
import dev.carapace.model.Usage;
import dev.carapace.model.WireFormat;

import java.util.HashMap;
import java.util.Map;

/**
 * Reads an upstream Anthropic Messages SSE stream into neutral events.
 *
 * <p>Anthropic numbers content blocks (text, tool_use, thinking, ...) together; neutral tool calls are numbered
 * among tool calls only, so each tool_use block's index is mapped to the next tool index. Thinking and signature
 * deltas, citations and server-tool blocks have no neutral form and are skipped, as are event types this code
 * does not know (Anthropic adds some from time to time; ignoring them is its documented expectation).
 */
final class AnthropicStreamDecoder implements WireFormat.StreamDecoder {

    private final Map<Integer, Integer> toolIndexByBlock = new HashMap<>();
    private int nextToolIndex;
    private boolean done;
    private String stopReason;
    private boolean sawUsage;
    private long input;
    private long output;
    private long cacheRead;
    private long cacheWrite;

    @Override
    public void decode(String event, String data, StreamSink sink) {
        if (done || "ping".equals(event)) return;
        JsonNode n = parse(data);
        String type = n.path("type").asText(event == null ? "" : event);
        switch (type) {
            case "message_start" -> {
                JsonNode m = n.path("message");
                sink.accept(new StreamEvent.Started(m.path("id").asText(null), m.path("model").asText(null)));
                readUsage(m.path("usage"));
            }
            case "content_block_start" -> {
                JsonNode b = n.path("content_block");
                switch (b.path("type").asText()) {
                    case "text" -> {
                        String text = b.path("text").asText("");
                        if (!text.isEmpty()) sink.accept(new StreamEvent.TextDelta(text));
                    }
                    case "tool_use" -> {
                        int tool = nextToolIndex++;
                        toolIndexByBlock.put(n.path("index").asInt(), tool);
                        sink.accept(new StreamEvent.ToolCallStarted(tool, b.path("id").asText(null),
                                b.path("name").asText(null)));
                        // Anthropic starts with input {} and streams the JSON text; an input given in full here
                        // (some compatible servers do) is passed on as the call's only delta.
                        JsonNode in = b.path("input");
                        if (in.isObject() && !in.isEmpty()) {
                            sink.accept(new StreamEvent.ToolCallDelta(tool, in.toString()));
                        }
                    }
                    default -> { } // thinking, redacted_thinking, server_tool_use, ...
                }
            }
            case "content_block_delta" -> {
                JsonNode d = n.path("delta");
                switch (d.path("type").asText()) {
                    case "text_delta" -> {
                        String text = d.path("text").asText("");
                        if (!text.isEmpty()) sink.accept(new StreamEvent.TextDelta(text));
                    }
                    case "input_json_delta" -> {
                        Integer tool = toolIndexByBlock.get(n.path("index").asInt());
                        String json = d.path("partial_json").asText("");
                        if (tool != null && !json.isEmpty()) sink.accept(new StreamEvent.ToolCallDelta(tool, json));
                    }
                    case "thinking_delta" -> {
                        String thinking = d.path("thinking").asText("");
                        if (!thinking.isEmpty()) sink.accept(new StreamEvent.ReasoningDelta(thinking));
                    }
                    default -> { } // signature_delta, citations_delta, ...
                }
            }
            case "message_delta" -> {
                String r = n.path("delta").path("stop_reason").asText(null);
                if (r != null) stopReason = r;
                readUsage(n.path("usage"));
            }
            case "message_stop" -> {
                done = true;
                sink.accept(new StreamEvent.Finished(AnthropicFormat.finishReason(stopReason)));
                if (sawUsage) {
                    Usage u = AnthropicFormat.usage(input, output, cacheRead, cacheWrite);
                    sink.accept(new StreamEvent.UsageReport(u));
                }
            }
            case "error" -> throw AnthropicFormat.upstreamErrorEvent(n.path("error"));
            default -> { } // ping without an event line, content_block_stop, and anything new
        }
    }

    @Override
    public boolean done() { return done; }

    /**
     * Usage counts are cumulative, never increments: message_start gives the input side (and a first output
     * count), message_delta the final output and, on newer API versions, final input and cache counts too. So a
     * value present later simply replaces the earlier one.
     */
    private void readUsage(JsonNode u) {
        if (!u.isObject()) return;
        sawUsage = true;
        JsonNode v;
        if ((v = u.get("input_tokens")) != null && v.isNumber()) input = v.asLong();
        if ((v = u.get("output_tokens")) != null && v.isNumber()) output = v.asLong();
        if ((v = u.get("cache_read_input_tokens")) != null && v.isNumber()) cacheRead = v.asLong();
        if ((v = u.get("cache_creation_input_tokens")) != null && v.isNumber()) cacheWrite = v.asLong();
    }

    private static JsonNode parse(String data) {
        if (data == null || data.isEmpty()) throw AnthropicFormat.invalidUpstream("an SSE event carried no data");
        JsonNode n;
        try {
            n = AnthropicFormat.MAPPER.readTree(data);
        } catch (java.io.IOException e) {
            throw AnthropicFormat.invalidUpstream("an SSE event's data is not valid JSON");
        }
        if (n == null || !n.isObject()) throw AnthropicFormat.invalidUpstream("an SSE event's data is not an object");
        return n;
    }
}
