package dev.carapace.model.openai;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.model.ChatRequest;
import dev.carapace.model.JsonBytes;
import dev.carapace.model.JsonSplice;
import dev.carapace.model.Message;
import dev.carapace.model.Part;
import dev.carapace.model.Tool;
import dev.carapace.model.ToolChoice;
import dev.carapace.model.Translation;
import dev.carapace.model.WireApi;
import dev.carapace.model.responses.ResponsesFormat;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static dev.carapace.model.openai.OpenAiFormat.MAPPER;
import static dev.carapace.model.openai.OpenAiFormat.json;
import static dev.carapace.model.openai.OpenAiFormat.writeFunctionFields;
import static dev.carapace.model.openai.OpenAiFormat.writeToolCalls;

/**
 * The body Carapace sends an OpenAI-compatible upstream: the client's own request with a few top-level fields
 * spliced when it relays, else a Chat Completions request rebuilt from the neutral {@link ChatRequest}. The upstream
 * request side of {@link OpenAiFormat}.
 */
final class OpenAiUpstreamRequest {

    private OpenAiUpstreamRequest() {}

    static byte[] build(ChatRequest r, String upstreamModel) {
        if (r.relaysTo(WireApi.OPENAI)) return relayedRequest(r, upstreamModel);
        Translation.check(r, WireApi.OPENAI);
        // Another API's own parameters (Anthropic's thinking, context_management, ...) are left out, and named to the
        // client (see #dropped); a Responses request's own ones are mapped to their Chat Completions spelling.
        ChatRequest.Passthrough pt = switch (r.passthrough().api()) {
            case OPENAI -> r.passthrough();
            case RESPONSES -> ResponsesFormat.chatPassthrough(r.passthrough());
            case null, default -> ChatRequest.Passthrough.NONE;
        };
        return json(g -> {
            g.writeStartObject();
            g.writeStringField("model", upstreamModel);
            g.writeArrayFieldStart("messages");
            for (Message m : r.messages()) writeUpstreamMessage(g, m);
            g.writeEndArray();
            // OpenAI refuses tool_choice and parallel_tool_calls without tools; requests translated from
            // Anthropic can carry them anyway, so they follow the tools.
            if (!r.tools().isEmpty()) {
                g.writeArrayFieldStart("tools");
                for (Tool t : r.tools()) writeTool(g, t);
                g.writeEndArray();
                if (r.toolChoice() != null) writeToolChoice(g, r.toolChoice());
                if (r.parallelToolCalls() != null) g.writeBooleanField("parallel_tool_calls", r.parallelToolCalls());
            }
            // max_tokens rather than max_completion_tokens: every compatible server (vLLM, Ollama, llama.cpp) knows it.
            if (r.maxTokens() != null) g.writeNumberField("max_tokens", r.maxTokens());
            if (r.temperature() != null) g.writeNumberField("temperature", r.temperature());
            if (r.topP() != null) g.writeNumberField("top_p", r.topP());
            if (!r.stop().isEmpty()) {
                g.writeArrayFieldStart("stop");
                for (String s : r.stop()) g.writeString(s);
                g.writeEndArray();
            }
            if (r.user() != null) g.writeStringField("user", r.user());
            if (r.stream()) {
                g.writeBooleanField("stream", true);
                // Always: usage is billed whether or not the client asked to see it.
                g.writeObjectFieldStart("stream_options");
                g.writeBooleanField("include_usage", true);
                g.writeEndObject();
            }
            if (!pt.isEmpty()) {
                for (Map.Entry<String, JsonNode> f : pt.fields().properties()) {
                    g.writeFieldName(f.getKey());
                    g.writeTree(f.getValue());
                }
            }
            g.writeEndObject();
        });
    }

    /**
     * The client's own request, every field as it came but the model, the output limit (set by Carapace when the
     * client set none, under the client's own key when it set one) and, when streaming, the usage report, which
     * Carapace always asks for.
     */
    private static byte[] relayedRequest(ChatRequest r, String upstreamModel) {
        ObjectNode body = r.original().body();
        byte[][] values = new byte[RELAY_KEYS.length][];
        values[0] = new JsonBytes(upstreamModel.length() + 2).string(upstreamModel).toByteArray();
        if (r.maxTokens() != null) {
            JsonNode completion = body.get("max_completion_tokens");
            values[completion != null && !completion.isNull() ? 2 : 1] = JsonBytes.ascii(r.maxTokens().toString());
        }
        if (r.stream() && !body.path("stream_options").path("include_usage").asBoolean(false)) {
            ObjectNode options = body.get("stream_options") instanceof ObjectNode o ? o.deepCopy() : MAPPER.createObjectNode();
            values[3] = json(g -> g.writeTree(options.put("include_usage", true)));
        }
        return r.original().withTopLevel(RELAY_KEYS, values);
    }

    private static final byte[][] RELAY_KEYS = JsonSplice.path("model", "max_tokens", "max_completion_tokens", "stream_options");

    private static void writeUpstreamMessage(JsonGenerator g, Message m) throws IOException {
        if (hasReasoning(m)) {
            List<Part> shown = new ArrayList<>(m.content().size());
            for (Part p : m.content()) if (!(p instanceof Part.Reasoning)) shown.add(p);
            m = new Message(m.role(), shown, m.toolCalls(), m.toolCallId(), m.toolError());
        }
        g.writeStartObject();
        switch (m.role()) {
            case SYSTEM -> {
                g.writeStringField("role", "system");
                writeContent(g, m.content());
            }
            case USER -> {
                g.writeStringField("role", "user");
                writeContent(g, m.content());
            }
            case ASSISTANT -> {
                g.writeStringField("role", "assistant");
                if (m.content().isEmpty() && !m.toolCalls().isEmpty()) g.writeNullField("content");
                else writeContent(g, m.content());
                writeToolCalls(g, m.toolCalls());
            }
            case TOOL -> {
                // OpenAI has no error flag on tool results; the text itself says what went wrong.
                g.writeStringField("role", "tool");
                g.writeStringField("tool_call_id", m.toolCallId());
                writeContent(g, m.content());
            }
        }
        g.writeEndObject();
    }

    private static boolean hasReasoning(Message m) {
        for (Part p : m.content()) if (p instanceof Part.Reasoning) return true;
        return false;
    }

    /** A lone text part as a plain string (which every compatible server accepts), anything else as parts. */
    private static void writeContent(JsonGenerator g, List<Part> content) throws IOException {
        if (content.isEmpty()) {
            g.writeStringField("content", "");
            return;
        }
        if (content.size() == 1 && content.get(0) instanceof Part.Text t) {
            g.writeStringField("content", t.text());
            return;
        }
        g.writeArrayFieldStart("content");
        for (Part p : content) {
            g.writeStartObject();
            switch (p) {
                case Part.Text t -> {
                    g.writeStringField("type", "text");
                    g.writeStringField("text", t.text());
                }
                case Part.Image img -> {
                    g.writeStringField("type", "image_url");
                    g.writeObjectFieldStart("image_url");
                    g.writeStringField("url", img.asUrl());
                    g.writeEndObject();
                }
                case Part.Reasoning th -> throw new IllegalStateException("reasoning is left out before this");
            }
            g.writeEndObject();
        }
        g.writeEndArray();
    }

    private static void writeTool(JsonGenerator g, Tool t) throws IOException {
        g.writeStartObject();
        g.writeStringField("type", "function");
        g.writeObjectFieldStart("function");
        writeFunctionFields(g, t);
        g.writeEndObject();
        g.writeEndObject();
    }

    private static void writeToolChoice(JsonGenerator g, ToolChoice c) throws IOException {
        switch (c.mode()) {
            case AUTO -> g.writeStringField("tool_choice", "auto");
            case NONE -> g.writeStringField("tool_choice", "none");
            case REQUIRED -> g.writeStringField("tool_choice", "required");
            case TOOL -> {
                g.writeObjectFieldStart("tool_choice");
                g.writeStringField("type", "function");
                g.writeObjectFieldStart("function");
                g.writeStringField("name", c.name());
                g.writeEndObject();
                g.writeEndObject();
            }
        }
    }
}
